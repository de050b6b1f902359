package breakeradmin

import (
	_ "embed"
	"net/http"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/breakwater/breakwater/interceptors/breaker"
)

//go:embed page.html
var page string

// JSONHandler serves every breaker of set as a protobuf-JSON
// ListBreakersResponse (the gRPC answer, for scripts and the page).
func JSONHandler(set *breaker.Set) http.Handler {
	marshal := protojson.MarshalOptions{EmitUnpopulated: true}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := marshal.Marshal(List(set))
		if err != nil {
			http.Error(w, "cannot encode breakers", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write(b)
	})
}

// PageHandler serves the live breakers page titled with the service's name.
// It reads its data from "breakers.json" beside it.
func PageHandler(service string) http.Handler {
	body := strings.ReplaceAll(page, "{{SERVICE}}", htmlEscape(service))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Content-Security-Policy", "default-src 'self'; style-src 'unsafe-inline'; script-src 'unsafe-inline'")
		_, _ = w.Write([]byte(body))
	})
}

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&#39;").Replace(s)
}
