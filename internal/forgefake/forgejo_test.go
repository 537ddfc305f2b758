package forgefake

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestForgejoVersionRoute: the Gitea fake answers GET /api/forgejo/v1/version as Gitea does
// (404 "Not found." in text/plain, as measured on Gitea 1.26: the route is outside /api/v1) and, with Options.Forgejo, as
// Forgejo does (200, {"version": ...}), with or without a token; spec validation, which knows
// only Gitea's API, lets that one route through and still checks every other.
func TestForgejoVersionRoute(t *testing.T) {
	for _, tc := range []struct {
		name, forgejo string
		status        int
		contentType   string
		version       string
	}{
		{"gitea", "", http.StatusNotFound, "text/plain;charset=utf-8", ""},
		{"forgejo", "11.0.3+gitea-1.22.0", http.StatusOK, "application/json", "11.0.3+gitea-1.22.0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recTB{TB: t}
			g := NewGitea(rec, Options{Spec: specs.Gitea(t), Forgejo: tc.forgejo})
			for _, token := range []string{"", "any-token"} {
				req, _ := http.NewRequest(http.MethodGet, g.URL()+ForgejoVersionPath, nil)
				if token != "" {
					req.Header.Set("Authorization", "token "+token)
				}
				resp, err := g.Client().Do(req)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != tc.status || !strings.HasPrefix(resp.Header.Get("Content-Type"), tc.contentType) {
					t.Errorf("token %q: %d %s, want %d %s", token, resp.StatusCode, resp.Header.Get("Content-Type"), tc.status, tc.contentType)
				}
				if tc.version != "" {
					var v struct{ Version string }
					if err := json.Unmarshal(body, &v); err != nil || v.Version != tc.version {
						t.Errorf("body %s, want version %s", body, tc.version)
					}
				}
			}
			resp, err := g.Client().Get(g.URL() + "/api/forgejo/v1/other")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if errs := rec.errors(); len(errs) != 1 || !strings.Contains(errs[0], "/api/forgejo/v1/other") {
				t.Errorf("validation errors %q, want one for the route outside both APIs", errs)
			}
		})
	}
}
