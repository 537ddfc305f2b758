package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/tinyforge/tinyforge-check/tinyforge"
)

// fakeTinyforge is a Tinyforge API server honouring DESIGN §5 for the calls the action makes:
// GET /api/workloads?name= and GET /api/workloads/{id}, bearer tokens, JSON errors.
type fakeTinyforge struct {
	srv       *httptest.Server
	mu        sync.Mutex
	token     string
	workloads []tinyforge.Workload
	requests  []string
}

func newFakeTinyforge(t testing.TB, token string, workloads ...tinyforge.Workload) *fakeTinyforge {
	t.Helper()
	f := &fakeTinyforge{token: token}
	mux := http.NewServeMux()
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	for i := range workloads {
		if workloads[i].UIURL == "" {
			workloads[i].UIURL = fmt.Sprintf("%s/apps/%d", f.srv.URL, workloads[i].ID)
		}
	}
	f.workloads = workloads
	auth := func(h http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			f.mu.Lock()
			f.requests = append(f.requests, r.Method+" "+r.URL.RequestURI())
			f.mu.Unlock()
			if r.Header.Get("Authorization") != "Bearer "+f.token {
				fakeJSON(w, http.StatusUnauthorized, map[string]string{"error": "missing or unknown token"})
				return
			}
			h(w, r)
		}
	}
	mux.HandleFunc("GET /api/workloads", auth(func(w http.ResponseWriter, r *http.Request) {
		out := []tinyforge.WorkloadSummary{}
		for _, wl := range f.workloads {
			if n := r.URL.Query().Get("name"); n == "" || n == wl.Name {
				out = append(out, tinyforge.WorkloadSummary{ID: wl.ID, Name: wl.Name, SourceType: wl.SourceType, GitOps: wl.GitOps})
			}
		}
		fakeJSON(w, http.StatusOK, out)
	}))
	mux.HandleFunc("GET /api/workloads/{id}", auth(func(w http.ResponseWriter, r *http.Request) {
		id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
		for _, wl := range f.workloads {
			if wl.ID == id {
				fakeJSON(w, http.StatusOK, wl)
				return
			}
		}
		fakeJSON(w, http.StatusNotFound, map[string]string{"error": "no such workload"})
	}))
	return f
}

func (f *fakeTinyforge) resetLog() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = nil
}

func (f *fakeTinyforge) requestLog() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.requests...)
}

func fakeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// fakeStatus is one commit status a fake forge stored.
type fakeStatus struct {
	SHA, State, Context, Description, TargetURL string
}

// fakeComment is one PR comment a fake forge stored.
type fakeComment struct {
	ID     int64
	Author string
	Body   string
}

// fakeForge is a stateful GitHub, Gitea or GitLab API for one repo and its PRs, answering as
// the real services do for the calls the providers make (paths, auth headers, pagination,
// 403 for read-only tokens, 404 for missing files).
type fakeForge struct {
	kind     string // github, gitea, gitlab
	srv      *httptest.Server
	mu       sync.Mutex
	tokens   map[string]string // token -> login; "" marks GitHub's job token (no /user)
	readOnly map[string]bool
	files    map[string]string // "ref:path" -> content
	statuses []fakeStatus
	comments map[int][]fakeComment // PR number -> comments
	nextID   int64
	requests []string
	writes   int
}

func newFakeForge(t testing.TB, kind string) *fakeForge {
	t.Helper()
	f := &fakeForge{kind: kind, tokens: map[string]string{}, readOnly: map[string]bool{}, files: map[string]string{},
		comments: map[int][]fakeComment{}, nextID: 1000}
	mux := http.NewServeMux()
	f.srv = httptest.NewServer(f.logged(mux))
	t.Cleanup(f.srv.Close)
	switch kind {
	case "github":
		f.routesGitHub(mux)
	case "gitea":
		f.routesGitea(mux)
	case "gitlab":
		f.routesGitLab(mux)
	default:
		t.Fatalf("unknown forge %q", kind)
	}
	return f
}

func (f *fakeForge) logged(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.requests = append(f.requests, r.Method+" "+r.URL.Path)
		if r.Method != http.MethodGet {
			f.writes++
		}
		f.mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

// login returns the caller's identity, or writes 401.
func (f *fakeForge) login(w http.ResponseWriter, r *http.Request) (string, bool) {
	var tok string
	switch f.kind {
	case "gitlab":
		tok = r.Header.Get("PRIVATE-TOKEN")
		if tok == "" {
			tok = r.Header.Get("JOB-TOKEN")
		}
	default:
		h := r.Header.Get("Authorization")
		for _, p := range []string{"Bearer ", "token "} {
			if strings.HasPrefix(h, p) {
				tok = strings.TrimPrefix(h, p)
			}
		}
	}
	f.mu.Lock()
	login, ok := f.tokens[tok]
	f.mu.Unlock()
	if !ok {
		f.errorAnswer(w, http.StatusUnauthorized, "Bad credentials")
		return "", false
	}
	return login, true
}

// canWrite returns false (and writes 403 as the forge words it) for a read-only token.
func (f *fakeForge) canWrite(w http.ResponseWriter, r *http.Request) (string, bool) {
	login, ok := f.login(w, r)
	if !ok {
		return "", false
	}
	tok := strings.TrimPrefix(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "), "token ")
	if f.kind == "gitlab" {
		tok = r.Header.Get("PRIVATE-TOKEN")
	}
	f.mu.Lock()
	ro := f.readOnly[tok]
	f.mu.Unlock()
	if ro {
		f.errorAnswer(w, http.StatusForbidden, "Resource not accessible by integration")
		return "", false
	}
	if login == "" {
		login = "github-actions[bot]"
	}
	return login, true
}

func (f *fakeForge) errorAnswer(w http.ResponseWriter, status int, msg string) {
	if f.kind == "gitlab" {
		fakeJSON(w, status, map[string]string{"message": fmt.Sprintf("%d %s", status, msg)})
		return
	}
	fakeJSON(w, status, map[string]string{"message": msg, "documentation_url": "https://docs.github.com/rest"})
}

func (f *fakeForge) file(w http.ResponseWriter, ref, path string) {
	f.mu.Lock()
	s, ok := f.files[ref+":"+path]
	f.mu.Unlock()
	if !ok {
		f.errorAnswer(w, http.StatusNotFound, "Not Found")
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	io.WriteString(w, s)
}

// setFile stores a file at a ref.
func (f *fakeForge) setFile(ref, path, content string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.files[ref+":"+path] = content
}

// setToken registers a token with its login; readOnly tokens get 403 on writes.
func (f *fakeForge) setToken(token, login string, readOnly bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tokens[token] = login
	f.readOnly[token] = readOnly
}

// resetLog forgets the requests seen so far.
func (f *fakeForge) resetLog() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = nil
}

func (f *fakeForge) commentCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, cs := range f.comments {
		n += len(cs)
	}
	return n
}

func (f *fakeForge) addStatus(st fakeStatus) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.statuses = append(f.statuses, st)
}

func (f *fakeForge) createComment(pr int, login, body string) fakeComment {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nextID++
	c := fakeComment{ID: f.nextID, Author: login, Body: body}
	f.comments[pr] = append(f.comments[pr], c)
	return c
}

func (f *fakeForge) editComment(id int64, login, body string) (fakeComment, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for pr, cs := range f.comments {
		for i, c := range cs {
			if c.ID == id {
				if c.Author != login {
					return c, http.StatusForbidden
				}
				f.comments[pr][i].Body = body
				return f.comments[pr][i], http.StatusOK
			}
		}
	}
	return fakeComment{}, http.StatusNotFound
}

func (f *fakeForge) deleteComment(id int64) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	for pr, cs := range f.comments {
		for i, c := range cs {
			if c.ID == id {
				f.comments[pr] = append(cs[:i:i], cs[i+1:]...)
				return http.StatusNoContent
			}
		}
	}
	return http.StatusNotFound
}

func (f *fakeForge) prComments(pr int) []fakeComment {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeComment(nil), f.comments[pr]...)
}

func (f *fakeForge) allStatuses() []fakeStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeStatus(nil), f.statuses...)
}

func (f *fakeForge) requestLog() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.requests...)
}

func (f *fakeForge) writeCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.writes
}

func decodeBody(r *http.Request, v any) error {
	return json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(v)
}

func (f *fakeForge) ghComment(c fakeComment, pr int) map[string]any {
	return map[string]any{"id": c.ID, "body": c.Body, "user": map[string]any{"login": c.Author},
		"html_url": fmt.Sprintf("https://forge.test/o/r/pull/%d#issuecomment-%d", pr, c.ID)}
}

func (f *fakeForge) routesGitHub(mux *http.ServeMux) {
	mux.HandleFunc("GET /user", func(w http.ResponseWriter, r *http.Request) {
		login, ok := f.login(w, r)
		if !ok {
			return
		}
		if login == "" {
			f.errorAnswer(w, http.StatusForbidden, "Resource not accessible by integration")
			return
		}
		fakeJSON(w, http.StatusOK, map[string]any{"login": login, "id": 1})
	})
	mux.HandleFunc("POST /repos/{o}/{r}/statuses/{sha}", func(w http.ResponseWriter, r *http.Request) {
		if _, ok := f.canWrite(w, r); !ok {
			return
		}
		var in struct{ State, Context, Description, Target_URL string }
		if err := decodeBody(r, &in); err != nil {
			f.errorAnswer(w, http.StatusBadRequest, "Problems parsing JSON")
			return
		}
		if len([]rune(in.Description)) > 140 {
			f.errorAnswer(w, http.StatusUnprocessableEntity, "description is too long (maximum is 140 characters)")
			return
		}
		f.addStatus(fakeStatus{SHA: r.PathValue("sha"), State: in.State, Context: in.Context, Description: in.Description, TargetURL: in.Target_URL})
		fakeJSON(w, http.StatusCreated, map[string]any{"id": 1, "state": in.State, "context": in.Context})
	})
	mux.HandleFunc("GET /repos/{o}/{r}/issues/{n}/comments", func(w http.ResponseWriter, r *http.Request) {
		if _, ok := f.login(w, r); !ok {
			return
		}
		pr, _ := strconv.Atoi(r.PathValue("n"))
		per, _ := strconv.Atoi(r.URL.Query().Get("per_page"))
		if per <= 0 {
			per = 30
		}
		per = min(per, 100)
		page, _ := strconv.Atoi(r.URL.Query().Get("page"))
		page = max(page, 1)
		all := f.prComments(pr)
		lo, hi := min((page-1)*per, len(all)), min(page*per, len(all))
		out := []map[string]any{}
		for _, c := range all[lo:hi] {
			out = append(out, f.ghComment(c, pr))
		}
		if hi < len(all) {
			w.Header().Set("Link", fmt.Sprintf(`<%s%s?per_page=%d&page=%d>; rel="next"`, f.srv.URL, r.URL.Path, per, page+1))
		}
		fakeJSON(w, http.StatusOK, out)
	})
	mux.HandleFunc("POST /repos/{o}/{r}/issues/{n}/comments", func(w http.ResponseWriter, r *http.Request) {
		login, ok := f.canWrite(w, r)
		if !ok {
			return
		}
		var in struct{ Body string }
		if err := decodeBody(r, &in); err != nil || len([]rune(in.Body)) > 65536 {
			f.errorAnswer(w, http.StatusUnprocessableEntity, "Validation Failed")
			return
		}
		pr, _ := strconv.Atoi(r.PathValue("n"))
		fakeJSON(w, http.StatusCreated, f.ghComment(f.createComment(pr, login, in.Body), pr))
	})
	mux.HandleFunc("PATCH /repos/{o}/{r}/issues/comments/{id}", func(w http.ResponseWriter, r *http.Request) {
		login, ok := f.canWrite(w, r)
		if !ok {
			return
		}
		var in struct{ Body string }
		if err := decodeBody(r, &in); err != nil || len([]rune(in.Body)) > 65536 {
			f.errorAnswer(w, http.StatusUnprocessableEntity, "Validation Failed")
			return
		}
		id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
		c, status := f.editComment(id, login, in.Body)
		if status != http.StatusOK {
			f.errorAnswer(w, status, http.StatusText(status))
			return
		}
		fakeJSON(w, http.StatusOK, f.ghComment(c, 0))
	})
	mux.HandleFunc("DELETE /repos/{o}/{r}/issues/comments/{id}", func(w http.ResponseWriter, r *http.Request) {
		if _, ok := f.canWrite(w, r); !ok {
			return
		}
		id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
		w.WriteHeader(f.deleteComment(id))
	})
	mux.HandleFunc("GET /repos/{o}/{r}/contents/{path...}", func(w http.ResponseWriter, r *http.Request) {
		if _, ok := f.login(w, r); !ok {
			return
		}
		if !strings.Contains(r.Header.Get("Accept"), "raw") {
			f.errorAnswer(w, http.StatusNotAcceptable, "this fake serves the raw media type only")
			return
		}
		f.file(w, r.URL.Query().Get("ref"), r.PathValue("path"))
	})
}

func (f *fakeForge) giteaComment(c fakeComment, pr int) map[string]any {
	return map[string]any{"id": c.ID, "body": c.Body, "user": map[string]any{"login": c.Author, "id": 1},
		"html_url":   fmt.Sprintf("%s/o/r/pulls/%d#issuecomment-%d", f.srv.URL, pr, c.ID),
		"created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"}
}

func (f *fakeForge) routesGitea(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/v1/user", func(w http.ResponseWriter, r *http.Request) {
		login, ok := f.login(w, r)
		if !ok {
			return
		}
		fakeJSON(w, http.StatusOK, map[string]any{"login": login, "id": 1})
	})
	mux.HandleFunc("POST /api/v1/repos/{o}/{r}/statuses/{sha}", func(w http.ResponseWriter, r *http.Request) {
		if _, ok := f.canWrite(w, r); !ok {
			return
		}
		var in struct{ State, Context, Description, Target_URL string }
		if err := decodeBody(r, &in); err != nil {
			f.errorAnswer(w, http.StatusBadRequest, "bad json")
			return
		}
		f.addStatus(fakeStatus{SHA: r.PathValue("sha"), State: in.State, Context: in.Context, Description: in.Description, TargetURL: in.Target_URL})
		// Gitea's CommitStatus names its state field "status".
		fakeJSON(w, http.StatusCreated, map[string]any{"id": 1, "status": in.State, "context": in.Context})
	})
	mux.HandleFunc("GET /api/v1/repos/{o}/{r}/issues/{n}/comments", func(w http.ResponseWriter, r *http.Request) {
		if _, ok := f.login(w, r); !ok {
			return
		}
		pr, _ := strconv.Atoi(r.PathValue("n"))
		out := []map[string]any{} // unpaginated, as Gitea answers
		for _, c := range f.prComments(pr) {
			out = append(out, f.giteaComment(c, pr))
		}
		fakeJSON(w, http.StatusOK, out)
	})
	mux.HandleFunc("POST /api/v1/repos/{o}/{r}/issues/{n}/comments", func(w http.ResponseWriter, r *http.Request) {
		login, ok := f.canWrite(w, r)
		if !ok {
			return
		}
		var in struct{ Body string }
		if err := decodeBody(r, &in); err != nil {
			f.errorAnswer(w, http.StatusUnprocessableEntity, "bad json")
			return
		}
		pr, _ := strconv.Atoi(r.PathValue("n"))
		fakeJSON(w, http.StatusCreated, f.giteaComment(f.createComment(pr, login, in.Body), pr))
	})
	mux.HandleFunc("PATCH /api/v1/repos/{o}/{r}/issues/comments/{id}", func(w http.ResponseWriter, r *http.Request) {
		login, ok := f.canWrite(w, r)
		if !ok {
			return
		}
		var in struct{ Body string }
		if err := decodeBody(r, &in); err != nil {
			f.errorAnswer(w, http.StatusUnprocessableEntity, "bad json")
			return
		}
		id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
		c, status := f.editComment(id, login, in.Body)
		if status != http.StatusOK {
			f.errorAnswer(w, status, http.StatusText(status))
			return
		}
		fakeJSON(w, http.StatusOK, f.giteaComment(c, 0))
	})
	mux.HandleFunc("DELETE /api/v1/repos/{o}/{r}/issues/comments/{id}", func(w http.ResponseWriter, r *http.Request) {
		if _, ok := f.canWrite(w, r); !ok {
			return
		}
		id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
		w.WriteHeader(f.deleteComment(id))
	})
	mux.HandleFunc("GET /api/v1/repos/{o}/{r}/raw/{path...}", func(w http.ResponseWriter, r *http.Request) {
		if _, ok := f.login(w, r); !ok {
			return
		}
		f.file(w, r.URL.Query().Get("ref"), r.PathValue("path"))
	})
}

func (f *fakeForge) routesGitLab(mux *http.ServeMux) {
	note := func(c fakeComment) map[string]any {
		return map[string]any{"id": c.ID, "body": c.Body, "system": false, "author": map[string]any{"username": c.Author}}
	}
	mux.HandleFunc("GET /api/v4/user", func(w http.ResponseWriter, r *http.Request) {
		login, ok := f.login(w, r)
		if !ok {
			return
		}
		fakeJSON(w, http.StatusOK, map[string]any{"username": login, "id": 1})
	})
	mux.HandleFunc("POST /api/v4/projects/{id}/statuses/{sha}", func(w http.ResponseWriter, r *http.Request) {
		if _, ok := f.canWrite(w, r); !ok {
			return
		}
		var in struct{ State, Name, Description, Target_URL string }
		if err := decodeBody(r, &in); err != nil {
			f.errorAnswer(w, http.StatusBadRequest, "bad json")
			return
		}
		f.addStatus(fakeStatus{SHA: r.PathValue("sha"), State: in.State, Context: in.Name, Description: in.Description, TargetURL: in.Target_URL})
		fakeJSON(w, http.StatusCreated, map[string]any{"id": 1, "status": in.State, "name": in.Name})
	})
	mux.HandleFunc("GET /api/v4/projects/{id}/merge_requests/{iid}/notes", func(w http.ResponseWriter, r *http.Request) {
		if _, ok := f.login(w, r); !ok {
			return
		}
		iid, _ := strconv.Atoi(r.PathValue("iid"))
		per, _ := strconv.Atoi(r.URL.Query().Get("per_page"))
		per = min(max(per, 1), 100)
		page, _ := strconv.Atoi(r.URL.Query().Get("page"))
		page = max(page, 1)
		all := f.prComments(iid)
		lo, hi := min((page-1)*per, len(all)), min(page*per, len(all))
		out := []map[string]any{}
		for _, c := range all[lo:hi] {
			out = append(out, note(c))
		}
		next := ""
		if hi < len(all) {
			next = strconv.Itoa(page + 1)
		}
		w.Header().Set("X-Next-Page", next)
		fakeJSON(w, http.StatusOK, out)
	})
	mux.HandleFunc("POST /api/v4/projects/{id}/merge_requests/{iid}/notes", func(w http.ResponseWriter, r *http.Request) {
		login, ok := f.canWrite(w, r)
		if !ok {
			return
		}
		var in struct{ Body string }
		if err := decodeBody(r, &in); err != nil || len(in.Body) > 1000000 {
			f.errorAnswer(w, http.StatusBadRequest, "bad body")
			return
		}
		iid, _ := strconv.Atoi(r.PathValue("iid"))
		fakeJSON(w, http.StatusCreated, note(f.createComment(iid, login, in.Body)))
	})
	mux.HandleFunc("PUT /api/v4/projects/{id}/merge_requests/{iid}/notes/{nid}", func(w http.ResponseWriter, r *http.Request) {
		login, ok := f.canWrite(w, r)
		if !ok {
			return
		}
		var in struct{ Body string }
		if err := decodeBody(r, &in); err != nil {
			f.errorAnswer(w, http.StatusBadRequest, "bad body")
			return
		}
		id, _ := strconv.ParseInt(r.PathValue("nid"), 10, 64)
		c, status := f.editComment(id, login, in.Body)
		if status != http.StatusOK {
			f.errorAnswer(w, status, http.StatusText(status))
			return
		}
		fakeJSON(w, http.StatusOK, note(c))
	})
	mux.HandleFunc("GET /api/v4/projects/{id}/repository/files/{path}/raw", func(w http.ResponseWriter, r *http.Request) {
		if _, ok := f.login(w, r); !ok {
			return
		}
		f.file(w, r.URL.Query().Get("ref"), r.PathValue("path"))
	})
}
