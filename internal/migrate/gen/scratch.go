package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"

	"github.com/lib/pq"
)

// scratchDatabase creates an empty database next to devURL's and returns its
// URL and a function that drops it. Each run gets its own, so generators
// running at once (or a crashed one) do not disturb each other.
func scratchDatabase(ctx context.Context, devURL string) (string, func(), error) {
	u, err := url.Parse(devURL)
	if err != nil {
		return "", nil, fmt.Errorf("parse PULSE_DEV_DATABASE_URL: %w", err)
	}
	admin, err := sql.Open("postgres", devURL)
	if err != nil {
		return "", nil, fmt.Errorf("open dev database: %w", err)
	}
	suffix := make([]byte, 6)
	_, _ = rand.Read(suffix)
	name := "pulse_atlas_dev_" + hex.EncodeToString(suffix)
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+pq.QuoteIdentifier(name)); err != nil {
		_ = admin.Close()
		return "", nil, fmt.Errorf("create scratch database (is PostgreSQL up at %s? set PULSE_DEV_DATABASE_URL): %w",
			u.Redacted(), err)
	}
	u.Path = "/" + name
	drop := func() {
		// FORCE: Atlas's connections may still be closing.
		_, _ = admin.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+pq.QuoteIdentifier(name)+" WITH (FORCE)")
		_ = admin.Close()
	}
	return u.String(), drop, nil
}
