package export_test

import (
	"fmt"
	"mime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/export"
)

func TestContentDisposition(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, header, file string
	}{
		{"Power users-members", `attachment; filename="Power users-members.csv"`, "Power users-members.csv"},
		{"Dormant (30 d)-run-7-changes", `attachment; filename="Dormant (30 d)-run-7-changes.csv"`, "Dormant (30 d)-run-7-changes.csv"},
		{`../../etc/passwd "x"; y=z-members`, `attachment; filename="_.._etc_passwd _x_; y=z-members.csv"`, `_.._etc_passwd _x_; y=z-members.csv`},
		{"a\r\nContent-Type: text/html\x00-members", `attachment; filename="a__Content-Type_ text_html_-members.csv"`, "a__Content-Type_ text_html_-members.csv"},
		{"Käufer 100%-members", `attachment; filename="K_ufer 100_-members.csv"; filename*=UTF-8''K%C3%A4ufer%20100%25-members.csv`, "Käufer 100%-members.csv"},
		{"Évite\u202egpj.exe-members", `attachment; filename="_vite_gpj.exe-members.csv"; filename*=UTF-8''%C3%89vite_gpj.exe-members.csv`, "Évite_gpj.exe-members.csv"},
		{"  ...  ", `attachment; filename="export.csv"`, "export.csv"},
		{"\xff\xfe", `attachment; filename="_.csv"`, "_.csv"},
	} {
		header := export.ContentDisposition(tc.name, "csv")
		require.Equal(t, tc.header, header, tc.name)
		require.NotContains(t, header, "\n")
		// Go's own parser (RFC 2231 / 6266) reads the name back.
		kind, params, err := mime.ParseMediaType(header)
		require.NoError(t, err, header)
		require.Equal(t, "attachment", kind)
		require.Equal(t, tc.file, params["filename"], header)
	}
	long := export.ContentDisposition(strings.Repeat("é", 500), "csv")
	_, params, err := mime.ParseMediaType(long)
	require.NoError(t, err)
	require.Equal(t, strings.Repeat("é", 120)+".csv", params["filename"], "a long name is cut, the extension kept")
}

// The header of a download: ASCII for every client, the UTF-8 name for
// those that read RFC 6266's filename*.
func ExampleContentDisposition() {
	fmt.Println(export.ContentDisposition("Highly engaged-members", "csv"))
	fmt.Println(export.ContentDisposition("Nutzer in München-members", "ndjson"))
	// Output:
	// attachment; filename="Highly engaged-members.csv"
	// attachment; filename="Nutzer in M_nchen-members.ndjson"; filename*=UTF-8''Nutzer%20in%20M%C3%BCnchen-members.ndjson
}
