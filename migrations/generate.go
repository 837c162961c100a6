package migrations

// Generating needs a PostgreSQL server for a scratch database:
// PULSE_DEV_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/postgres.
// PULSE_MIGRATION_NAME names a new migration (default "change").

//go:generate go run ../internal/migrate/gen
