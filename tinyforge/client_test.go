package tinyforge

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const canary = "tfk_CANARY_5ecr3t_do_not_print"

// setup starts a test server and returns a Client pointed at it with the canary token, and the
// mux the test registers its handlers on.
func setup(t *testing.T) (*Client, *http.ServeMux) {
	t.Helper()
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	c, err := NewClient(srv.URL, canary, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c, mux
}

// recorded is what a handler saw.
type recorded struct {
	Method, Path, Query, Auth, ContentType, Body string
}

func record(t *testing.T, mux *http.ServeMux, pattern string, status int, answer string) *recorded {
	t.Helper()
	rec := &recorded{}
	mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		*rec = recorded{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Get("Authorization"), r.Header.Get("Content-Type"), string(b)}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, answer)
	})
	return rec
}

func TestClientCalls(t *testing.T) {
	version := int64(3)
	tests := []struct {
		name    string
		pattern string
		answer  string
		call    func(c *Client) (any, error)
		want    recorded
		wantOut any
	}{
		{
			name:    "list by name",
			pattern: "/api/workloads",
			answer:  `[{"id":2,"name":"web app","source_type":"static","gitops":{"enabled":true,"path":".tinyforge.yml","last_sync_at":"","commit_sha":"","file_sha":""}}]`,
			call:    func(c *Client) (any, error) { return c.ListWorkloads(t.Context(), "web app") },
			want:    recorded{Method: "GET", Path: "/api/workloads", Query: "name=web+app"},
			wantOut: []WorkloadSummary{{ID: 2, Name: "web app", SourceType: "static", GitOps: GitOpsSettings{Enabled: true, Path: ".tinyforge.yml"}}},
		},
		{
			name:    "get workload",
			pattern: "/api/workloads/7",
			answer:  `{"id":7,"name":"api","source_type":"dockerfile","source_config":{"port":8080},"version":4,"gitops":{"enabled":false,"path":".tinyforge.yml","last_sync_at":"","commit_sha":"","file_sha":""},"ui_url":"http://x/apps/7"}`,
			call:    func(c *Client) (any, error) { return c.GetWorkload(t.Context(), 7) },
			want:    recorded{Method: "GET", Path: "/api/workloads/7"},
			wantOut: &Workload{ID: 7, Name: "api", SourceType: "dockerfile", SourceConfig: json.RawMessage(`{"port":8080}`), Version: 4, GitOps: GitOpsSettings{Path: ".tinyforge.yml"}, UIURL: "http://x/apps/7"},
		},
		{
			name:    "create workload",
			pattern: "/api/workloads",
			answer:  `{"id":1,"name":"api","source_type":"dockerfile","version":1,"gitops":{"enabled":false,"path":".tinyforge.yml","last_sync_at":"","commit_sha":"","file_sha":""}}`,
			call: func(c *Client) (any, error) {
				return c.CreateWorkload(t.Context(), CreateWorkloadRequest{Name: "api", SourceType: "dockerfile", SourceConfig: json.RawMessage(`{}`),
					Repo: &RepoSettings{Provider: "gitea", BaseURL: "https://g", Owner: "o", Repo: "r", Branch: "main", AccessToken: "forge"}})
			},
			want: recorded{Method: "POST", Path: "/api/workloads", ContentType: "application/json",
				Body: `{"name":"api","source_type":"dockerfile","source_config":{},"repo":{"provider":"gitea","base_url":"https://g","owner":"o","repo":"r","branch":"main","access_token":"forge"}}`},
			wantOut: &Workload{ID: 1, Name: "api", SourceType: "dockerfile", Version: 1, GitOps: GitOpsSettings{Path: ".tinyforge.yml"}},
		},
		{
			name:    "update workload",
			pattern: "/api/workloads/7",
			answer:  `{"id":7,"name":"api","source_type":"dockerfile","source_config":{"port":81},"version":4,"gitops":{"enabled":false,"path":"","last_sync_at":"","commit_sha":"","file_sha":""}}`,
			call: func(c *Client) (any, error) {
				return c.UpdateWorkload(t.Context(), 7, UpdateWorkloadRequest{SourceConfig: json.RawMessage(`{"port":81}`), Version: &version})
			},
			want:    recorded{Method: "PATCH", Path: "/api/workloads/7", ContentType: "application/json", Body: `{"source_config":{"port":81},"version":3}`},
			wantOut: &Workload{ID: 7, Name: "api", SourceType: "dockerfile", SourceConfig: json.RawMessage(`{"port":81}`), Version: 4},
		},
		{
			name:    "get gitops",
			pattern: "/api/workloads/7/gitops",
			answer:  `{"enabled":true,"path":".tinyforge.yml","status":"ok","message":"","raw":"version: 1\n","commit_sha":"c1","file_sha":"f1","drift":[{"field":"deploy.port","repo_value":"80","live_value":"(unset)"}],"managed_fields":["deploy.port"],"last_sync_at":"","last_sync_commit_sha":""}`,
			call:    func(c *Client) (any, error) { return c.GetGitOps(t.Context(), 7) },
			want:    recorded{Method: "GET", Path: "/api/workloads/7/gitops"},
			wantOut: &GitOpsView{Enabled: true, Path: ".tinyforge.yml", Status: "ok", Raw: "version: 1\n", CommitSHA: "c1", FileSHA: "f1", Drift: []DriftEntry{{Field: "deploy.port", RepoValue: "80", LiveValue: "(unset)"}}, ManagedFields: []string{"deploy.port"}},
		},
		{
			name:    "set gitops",
			pattern: "/api/workloads/7/gitops",
			answer:  `{"enabled":false,"path":"deploy/tf.yaml","status":"disabled","message":"off","raw":"","commit_sha":"","file_sha":"","drift":[],"managed_fields":[],"last_sync_at":"","last_sync_commit_sha":""}`,
			call: func(c *Client) (any, error) {
				return c.SetGitOps(t.Context(), 7, SetGitOpsRequest{Enabled: false, Path: "deploy/tf.yaml"})
			},
			want:    recorded{Method: "PUT", Path: "/api/workloads/7/gitops", ContentType: "application/json", Body: `{"enabled":false,"path":"deploy/tf.yaml"}`},
			wantOut: &GitOpsView{Path: "deploy/tf.yaml", Status: "disabled", Message: "off", Drift: []DriftEntry{}, ManagedFields: []string{}},
		},
		{
			name:    "sync pinned",
			pattern: "/api/workloads/7/gitops/sync",
			answer:  `{"applied":[{"field":"deploy.port","from":"(unset)","to":"80"}],"commit_sha":"c1","file_sha":"f1","last_sync_at":"2026-01-02T03:04:05Z"}`,
			call: func(c *Client) (any, error) {
				return c.Sync(t.Context(), 7, SyncRequest{CommitSHA: "c1", FileSHA: "f1"})
			},
			want:    recorded{Method: "POST", Path: "/api/workloads/7/gitops/sync", ContentType: "application/json", Body: `{"commit_sha":"c1","file_sha":"f1"}`},
			wantOut: &SyncResult{Applied: []Change{{Field: "deploy.port", From: "(unset)", To: "80"}}, CommitSHA: "c1", FileSHA: "f1", LastSyncAt: "2026-01-02T03:04:05Z"},
		},
		{
			name:    "events",
			pattern: "/api/workloads/7/events",
			answer:  `[{"id":2,"at":"t","actor":"token:ci","workload_id":7,"action":"sync","commit_sha":"c","file_sha":"f","changes":[],"outcome":"applied"}]`,
			call:    func(c *Client) (any, error) { return c.Events(t.Context(), 7) },
			want:    recorded{Method: "GET", Path: "/api/workloads/7/events"},
			wantOut: []Event{{ID: 2, At: "t", Actor: "token:ci", WorkloadID: 7, Action: "sync", CommitSHA: "c", FileSHA: "f", Changes: []Change{}, Outcome: "applied"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, mux := setup(t)
			rec := record(t, mux, tt.pattern, 200, tt.answer)
			got, err := tt.call(c)
			if err != nil {
				t.Fatalf("call: %v", err)
			}
			tt.want.Auth = "Bearer " + canary
			if diff := cmp.Diff(tt.want, *rec); diff != "" {
				t.Errorf("request (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantOut, got); diff != "" {
				t.Errorf("answer (-want +got):\n%s", diff)
			}
		})
	}
}

func TestClientErrors(t *testing.T) {
	tests := []struct {
		status   int
		body     string
		sentinel error
		wantMsg  string
	}{
		{401, `{"error":"missing or unknown token"}`, ErrUnauthorized, "missing or unknown token"},
		{403, `{"error":"admin role required"}`, ErrForbidden, "admin role required"},
		{404, `{"error":"workload 9 not found"}`, ErrNotFound, "workload 9 not found"},
		{409, `{"error":"stale version"}`, ErrConflict, "stale version"},
		{422, `{"error":"merged config invalid: port"}`, ErrInvalid, "merged config invalid: port"},
		{400, `{"error":"bad path"}`, ErrInvalid, "bad path"},
		{413, `not json`, nil, "Request Entity Too Large"},
		// A server that echoes the token must not make the client print it.
		{403, `{"error":"token ` + canary + ` is a viewer"}`, ErrForbidden, "token *** is a viewer"},
	}
	for _, tt := range tests {
		t.Run(http.StatusText(tt.status), func(t *testing.T) {
			c, mux := setup(t)
			record(t, mux, "/api/workloads/9/gitops/sync", tt.status, tt.body)
			_, err := c.Sync(t.Context(), 9, SyncRequest{})
			var apiErr *APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("error %v is not an *APIError", err)
			}
			want := APIError{Method: "POST", Path: "/api/workloads/9/gitops/sync", StatusCode: tt.status, Message: tt.wantMsg}
			if diff := cmp.Diff(want, *apiErr); diff != "" {
				t.Errorf("APIError (-want +got):\n%s", diff)
			}
			for _, s := range []error{ErrUnauthorized, ErrForbidden, ErrNotFound, ErrConflict, ErrInvalid} {
				if got := errors.Is(err, s); got != (s == tt.sentinel) {
					t.Errorf("errors.Is(err, %v) = %v", s, got)
				}
			}
			if strings.Contains(err.Error(), canary) {
				t.Errorf("error leaks the token: %v", err)
			}
		})
	}
}

// TestClientSendsOnce: retries are the injected HTTP client's job (the shared client of
// providers.NewHTTPClient), so the Client itself sends every call exactly once.
func TestClientSendsOnce(t *testing.T) {
	c, mux := setup(t)
	var calls atomic.Int32
	mux.HandleFunc("GET /api/workloads/1", func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, `{"error":"busy"}`)
	})
	_, err := c.GetWorkload(t.Context(), 1)
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusServiceUnavailable || apiErr.Message != "busy" {
		t.Fatalf("err = %v, want the 503 APIError", err)
	}
	if got := calls.Load(); got != 1 {
		t.Errorf("calls = %d, want 1", got)
	}
}

func TestFindWorkload(t *testing.T) {
	tests := []struct {
		name     string
		input    string
		wantPath []string
		wantID   int64
		wantErr  error
	}{
		{"id", "5", []string{"/api/workloads/5"}, 5, nil},
		{"name, summary-only server: then by id", "web", []string{"/api/workloads?name=web", "/api/workloads/5"}, 5, nil},
		{"name, whole workload in the lookup: one request", "api", []string{"/api/workloads?name=api"}, 6, nil},
		{"unknown name", "nope", []string{"/api/workloads?name=nope"}, 0, ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, mux := setup(t)
			var paths []string
			mux.HandleFunc("GET /api/workloads", func(w http.ResponseWriter, r *http.Request) {
				paths = append(paths, r.URL.RequestURI())
				switch r.URL.Query().Get("name") {
				case "web": // a server that answers summaries only
					io.WriteString(w, `[{"id":5,"name":"web","source_type":"static","gitops":{}}]`)
					return
				case "api": // the reference server: the whole workload
					io.WriteString(w, `[{"id":6,"name":"api","source_type":"static","source_config":{"port":1},"version":3,"gitops":{},"ui_url":"https://tf.example/apps/6"}]`)
					return
				}
				io.WriteString(w, `[]`)
			})
			mux.HandleFunc("GET /api/workloads/5", func(w http.ResponseWriter, r *http.Request) {
				paths = append(paths, r.URL.RequestURI())
				io.WriteString(w, `{"id":5,"name":"web","source_type":"static","source_config":{},"version":1,"gitops":{}}`)
			})
			w, err := c.FindWorkload(t.Context(), tt.input)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.wantPath, paths); diff != "" {
				t.Errorf("paths (-want +got):\n%s", diff)
			}
			if err == nil && (w.ID != tt.wantID || len(w.SourceConfig) == 0) {
				t.Errorf("workload %+v, want id %d with its source_config", w, tt.wantID)
			}
		})
	}
}

func TestClientRefusesCrossOriginRedirect(t *testing.T) {
	var leaked atomic.Value
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		leaked.Store(r.Header.Get("Authorization"))
		io.WriteString(w, `{}`)
	}))
	defer other.Close()
	c, mux := setup(t)
	mux.HandleFunc("/api/workloads/1", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/api/workloads/1", http.StatusFound)
	})
	_, err := c.GetWorkload(t.Context(), 1)
	if err == nil || !strings.Contains(err.Error(), "refusing redirect") {
		t.Fatalf("err = %v, want a refused redirect", err)
	}
	if v := leaked.Load(); v != nil {
		t.Errorf("other origin was contacted with Authorization %q", v)
	}
	if strings.Contains(err.Error(), canary) {
		t.Errorf("error leaks the token: %v", err)
	}
}

func TestClientTransportErrorHasNoToken(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := srv.URL
	srv.Close() // nothing listens there now
	c, err := NewClient(addr+"/api/", canary, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.GetGitOps(t.Context(), 3)
	if err == nil {
		t.Fatal("want an error")
	}
	if strings.Contains(err.Error(), canary) {
		t.Errorf("error leaks the token: %v", err)
	}
	if !strings.Contains(err.Error(), "/api/workloads/3/gitops") {
		t.Errorf("error %q does not name the call (the /api suffix of the base must not double)", err)
	}
}

func TestNewClientRejects(t *testing.T) {
	for _, u := range []string{"", "tinyforge.example.com", "ftp://x", "https://user:pw@x", "http://"} {
		if _, err := NewClient(u, canary, nil); err == nil {
			t.Errorf("NewClient(%q) accepted", u)
		} else if strings.Contains(err.Error(), canary) || strings.Contains(err.Error(), "pw@") {
			t.Errorf("NewClient(%q) error leaks a secret: %v", u, err)
		}
	}
}

func TestUIURL(t *testing.T) {
	c, err := NewClient("https://tf.example.com/base/", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ file, commit, want string }{
		{"", "", "https://tf.example.com/base/apps/4#gitops"},
		{"f1", "c1", "https://tf.example.com/base/apps/4?file=f1&commit=c1#gitops"},
	}
	for _, tt := range tests {
		if got := c.UIURL(4, tt.file, tt.commit); got != tt.want {
			t.Errorf("UIURL(%q,%q) = %q, want %q", tt.file, tt.commit, got, tt.want)
		}
	}
}

func FuzzErrorMessage(f *testing.F) {
	f.Add([]byte(`{"error":"x"}`), 404)
	f.Add([]byte(`{"error":"`+canary+`"}`), 403)
	f.Add([]byte("\xff\xfe"), 500)
	f.Fuzz(func(t *testing.T, data []byte, status int) {
		msg := errorMessage(data, status, canary)
		if strings.Contains(msg, canary) {
			t.Fatalf("message leaks the token: %q", msg)
		}
		if strings.ContainsAny(msg, "\n\r") {
			t.Fatalf("message is not one line: %q", msg)
		}
		if len(msg) > 503 {
			t.Fatalf("message is %d bytes", len(msg))
		}
	})
}

// TestClientWrongAnswerNamesNoGoType: an answer of the wrong shape is described in words, never
// with Go type names such as "int64" or "Go struct field".
func TestClientWrongAnswerNamesNoGoType(t *testing.T) {
	c, mux := setup(t)
	mux.HandleFunc("GET /api/workloads/3", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"id": "3", "name": "web"}`)
	})
	_, err := c.GetWorkload(t.Context(), 3)
	if err == nil || !strings.Contains(err.Error(), `the field "id" holds a JSON string`) {
		t.Fatalf("err = %v", err)
	}
	for _, goWord := range []string{"int64", "Go struct", "Workload.id", "unmarshal"} {
		if strings.Contains(err.Error(), goWord) {
			t.Errorf("error shows %q: %v", goWord, err)
		}
	}
}

// TestFindWorkloadByNameTakesDigitsAsAName: the action tries an all-digit input as an id first;
// when that is not found, the name lookup must look the digits up as a name, not as the same id.
func TestFindWorkloadByNameTakesDigitsAsAName(t *testing.T) {
	c, mux := setup(t)
	rec := record(t, mux, "GET /api/workloads", 200, `[{"id":9,"name":"2024","source_type":"static","source_config":{},"version":1,"gitops":{}}]`)
	w, err := c.FindWorkloadByName(t.Context(), "2024")
	if err != nil || w.ID != 9 {
		t.Fatalf("FindWorkloadByName(2024) = %+v, %v", w, err)
	}
	if rec.Path != "/api/workloads" || rec.Query != "name=2024" {
		t.Errorf("request %s?%s, want /api/workloads?name=2024", rec.Path, rec.Query)
	}
}

// TestClientNamesANonAPIURL: a base URL with a path the server does not serve (/apps, a proxy
// prefix) gets HTML or a bare 404 back; the error says the URL does not answer as the API and
// asks for the base URL, instead of claiming the workload does not exist (no ErrNotFound).
func TestClientNamesANonAPIURL(t *testing.T) {
	tests := []struct {
		name   string
		status int
		ctype  string
		body   string
	}{
		{"HTML 404 (the panel under /apps)", http.StatusNotFound, "text/html; charset=utf-8", "<!doctype html><h1>Not found</h1>"},
		{"plain 404 of a proxy", http.StatusNotFound, "text/plain; charset=utf-8", "404 page not found\n"},
		{"HTML 200 (a web page at that path)", http.StatusOK, "text/html", "<!doctype html><title>Welcome</title>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", tt.ctype)
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			}))
			t.Cleanup(srv.Close)
			c, err := NewClient(srv.URL+"/apps", canary, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, call := range []func() error{
				func() error { _, err := c.FindWorkload(t.Context(), "web"); return err },
				func() error { _, err := c.GetWorkload(t.Context(), 3); return err },
			} {
				err := call()
				if err == nil || errors.Is(err, ErrNotFound) {
					t.Fatalf("err = %v; want a non-API error that is not ErrNotFound", err)
				}
				if want := srv.URL + "/apps does not answer as a Tinyforge API: give the base URL"; !strings.Contains(err.Error(), want) {
					t.Errorf("err = %q; want it to say %q", err, want)
				}
				if strings.Contains(err.Error(), canary) || strings.Contains(err.Error(), "<") {
					t.Errorf("err = %q carries the token or the page", err)
				}
			}
		})
	}
	// The API's own 404 is still a missing workload.
	c, mux := setup(t)
	record(t, mux, "GET /api/workloads/3", http.StatusNotFound, `{"error":"workload 3 not found"}`)
	if _, err := c.GetWorkload(t.Context(), 3); !errors.Is(err, ErrNotFound) {
		t.Errorf("the API's 404: err = %v; want ErrNotFound", err)
	}
}
