package graphiql

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"net/http"
	"strings"
	"sync"
	"time"
)

//go:embed static
var static embed.FS

// AssetNames are the files Assets serves under Prefix: the vendored bundles
// (README.md), Pulse's glue and the licenses.
var AssetNames = []string{
	"react.production.min.js",
	"react-dom.production.min.js",
	"graphiql.min.js",
	"graphiql.min.css",
	"pulse-graphiql.js",
	"pulse-graphiql.css",
	"LICENSES.txt",
}

type asset struct {
	body []byte
	etag string
}

// loadAssets reads the embedded files once, with their content hashes.
var loadAssets = sync.OnceValue(func() map[string]asset {
	assets := make(map[string]asset, len(AssetNames))
	for _, name := range AssetNames {
		body, err := static.ReadFile("static/" + name)
		if err != nil {
			continue // not embedded: a 404, and a failing test of the package
		}
		sum := sha256.Sum256(body)
		assets[name] = asset{body: body, etag: `"` + hex.EncodeToString(sum[:12]) + `"`}
	}
	return assets
})

// Assets serves the page's files under Prefix (GET and HEAD).
func Assets() http.Handler {
	return withHeaders(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		name, ok := strings.CutPrefix(r.URL.Path, Prefix)
		a, found := loadAssets()[name]
		if !ok || !found {
			http.NotFound(w, r)
			return
		}
		// Embedded files have no modification time: the content hash lets
		// a browser revalidate its copy with a 304 rather than fetch a
		// megabyte again, and never keep the copy of an older binary.
		w.Header().Set("ETag", a.etag)
		w.Header().Set("Cache-Control", "no-cache")
		http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(a.body))
	}))
}
