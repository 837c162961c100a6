package migrate

import (
	"testing"
	"testing/fstest"

	atlasmigrate "ariga.io/atlas/sql/migrate"
	"github.com/stretchr/testify/require"
)

func TestUpRefusesEditedMigration(t *testing.T) {
	t.Parallel()
	b := setup(t)
	original := map[string]string{
		"20260101000000_a.sql": "CREATE TABLE a (id int);",
		"20260102000000_b.sql": "CREATE TABLE b (id int);",
	}
	require.NoError(t, up(t, b.db, fixture(t, original)))

	// The sum is regenerated, so only the applied hash can tell.
	edited := fixture(t, map[string]string{
		"20260101000000_a.sql": "CREATE TABLE a (id bigint);",
		"20260102000000_b.sql": "CREATE TABLE b (id int);",
		"20260103000000_c.sql": "CREATE TABLE c (id int);",
	})
	err := up(t, b.db, edited)
	var editedErr *EditedError
	require.ErrorAs(t, err, &editedErr)
	require.Equal(t, "20260101000000_a.sql", editedErr.Version)
	require.NotEqual(t, editedErr.AppliedHash, editedErr.FileHash)
	require.ErrorContains(t, err, "migration 20260101000000_a.sql was edited after it was applied (applied hash ")
	require.False(t, tableExists(t, b.db, "c"), "nothing is applied after the refusal")

	original["20260103000000_c.sql"] = "CREATE TABLE c (id int);"
	require.NoError(t, up(t, b.db, fixture(t, original)), "adding a migration is fine")
	require.True(t, tableExists(t, b.db, "c"))
}

func TestUpRefusesMigrationsNotMatchingSum(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		tamper  func(files fstest.MapFS)
		wantErr string
	}{
		{
			name: "edited file",
			tamper: func(files fstest.MapFS) {
				files["20260101000000_a.sql"] = &fstest.MapFile{Data: []byte("DROP TABLE users;")}
			},
			wantErr: "migration 20260101000000_a.sql was edited without updating atlas.sum",
		},
		{
			name: "added file",
			tamper: func(files fstest.MapFS) {
				files["20260102000000_b.sql"] = &fstest.MapFile{Data: []byte("CREATE TABLE b (id int);")}
			},
			wantErr: "migration 20260102000000_b.sql was added without updating atlas.sum",
		},
		{
			name: "tampered sum",
			tamper: func(files fstest.MapFS) {
				files[atlasmigrate.HashFileName] = &fstest.MapFile{Data: []byte("h1:AAAA\n20260101000000_a.sql h1:BBBB\n")}
			},
			wantErr: "atlas.sum does not match the migrations",
		},
		{
			name:    "missing sum",
			tamper:  func(files fstest.MapFS) { delete(files, atlasmigrate.HashFileName) },
			wantErr: "migrations have no atlas.sum",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			files := fixture(t, map[string]string{"20260101000000_a.sql": "CREATE TABLE a (id int);"})
			tt.tamper(files)
			err := up(t, b.db, files)
			require.ErrorContains(t, err, tt.wantErr)
			if tt.name != "missing sum" {
				require.ErrorIs(t, err, atlasmigrate.ErrChecksumMismatch)
			}
			require.False(t, tableExists(t, b.db, revisionsTable), "nothing ran")
		})
	}
}

func TestEmbeddedMigrationsMatchSum(t *testing.T) {
	t.Parallel()
	fingerprint, err := Fingerprint()
	require.NoError(t, err)
	require.Regexp(t, `^[0-9a-f]{12}$`, fingerprint)
	again, err := Fingerprint()
	require.NoError(t, err)
	require.Equal(t, fingerprint, again)

	files, err := load(migrationsFS())
	require.NoError(t, err, "go generate ./migrations keeps atlas.sum current")
	for i := 1; i < len(files); i++ {
		require.Less(t, files[i-1].version, files[i].version, "versions are unique and ordered")
	}
}
