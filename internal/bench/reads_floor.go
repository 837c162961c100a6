package bench

import (
	"database/sql"
	"encoding/json"
	"net/http"
	"strconv"
)

// floorHandler serves the floor of each query at /<index>?id=N: its one
// statement over db, the rows JSON-encoded as the GraphQL response would
// carry them, with nothing else in the way.
func floorHandler(db *sql.DB, queries []readQuery) http.Handler {
	mux := http.NewServeMux()
	for i, q := range queries {
		mux.HandleFunc("GET /"+strconv.Itoa(i), func(w http.ResponseWriter, r *http.Request) {
			id, _ := strconv.Atoi(r.URL.Query().Get("id"))
			data, err := q.floor(r.Context(), db, id)
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]any{"data": data})
		})
	}
	return mux
}
