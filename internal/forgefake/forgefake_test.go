package forgefake

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tinyforge/tinyforge-check/internal/testenv"
)

var specs Specs

// recTB records test failures reported by a fake instead of failing.
type recTB struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (r *recTB) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func (r *recTB) errors() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.errs...)
}

// do sends a request (see send) with token as a Bearer Authorization when
// set, failing the test on a transport error.
func do(t *testing.T, method, url, token, body string, hdr ...string) (*http.Response, string) {
	t.Helper()
	if token != "" {
		hdr = append([]string{"Authorization", "Bearer " + token}, hdr...)
	}
	resp, b, err := send(method, url, body, hdr)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// noRedirects is a client that answers a redirect instead of following it.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// send sends a request with body (as JSON when not empty) and the header
// pairs hdr, from any goroutine: its answer and the answer's body.
func send(method, url, body string, hdr []string) (*http.Response, string, error) {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		return nil, "", err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := noRedirects.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b), nil
}

// TestGitHubSpecLoads also warms the pruned-spec cache for
// scripts/fetch-openapi.sh.
func TestGitHubSpecLoads(t *testing.T) {
	s := specs.GitHub(t)
	t.Logf("GitHub description loaded in %v", s.Load)
	tests := []struct{ method, path, want string }{
		{"GET", "/user", "users/get-authenticated"},
		{"POST", "/repos/o/r/statuses/abc", "repos/create-commit-status"},
		{"GET", "/repos/o/r/commits/main/statuses", "repos/list-commit-statuses-for-ref"},
		{"GET", "/repos/o/r/issues", "issues/list-for-repo"},
		{"POST", "/repos/o/r/issues", "issues/create"},
		{"GET", "/repos/o/r/issues/1000", "issues/get"},
		{"PATCH", "/repos/o/r/issues/1000", "issues/update"},
		{"GET", "/repos/o/r/issues/7/comments", "issues/list-comments"},
		{"POST", "/repos/o/r/issues/7/comments", "issues/create-comment"},
		{"PATCH", "/repos/o/r/issues/comments/9", "issues/update-comment"},
		{"DELETE", "/repos/o/r/issues/comments/9", "issues/delete-comment"},
		{"GET", "/repos/o/r/contents/dir/a.yml", "repos/get-content"},
		{"GET", "/repos/o/r/git/ref/heads/feature/x", "git/get-ref"},
	}
	for _, tt := range tests {
		got, err := s.OperationID(httptest.NewRequest(tt.method, tt.path, nil))
		if err != nil || got != tt.want {
			t.Errorf("%s %s = %q, %v; want %q", tt.method, tt.path, got, err, tt.want)
		}
	}
	if _, err := s.OperationID(httptest.NewRequest("GET", "/repos/o/r/no-such-thing", nil)); err == nil {
		t.Error("a path outside the description was accepted")
	}
}

func TestGiteaSpecLoads(t *testing.T) {
	s := specs.Gitea(t)
	t.Logf("Gitea swagger loaded in %v", s.Load)
	tests := []struct{ method, path, want string }{
		{"GET", "/api/v1/user", "userGetCurrent"},
		{"POST", "/api/v1/repos/o/r/statuses/abc", "repoCreateStatus"},
		{"GET", "/api/v1/repos/o/r/issues", "issueListIssues"},
		{"POST", "/api/v1/repos/o/r/issues", "issueCreateIssue"},
		{"GET", "/api/v1/repos/o/r/issues/1000", "issueGetIssue"},
		{"PATCH", "/api/v1/repos/o/r/issues/1000", "issueEditIssue"},
		{"GET", "/api/v1/repos/o/r/labels", "issueListLabels"},
		{"GET", "/api/v1/repos/o/r/issues/7/comments", "issueGetComments"},
		{"POST", "/api/v1/repos/o/r/issues/7/comments", "issueCreateComment"},
		{"PATCH", "/api/v1/repos/o/r/issues/comments/9", "issueEditComment"},
		{"DELETE", "/api/v1/repos/o/r/issues/comments/9", "issueDeleteComment"},
		{"GET", "/api/v1/repos/o/r/raw/dir/a.yml", "repoGetRawFile"},
		{"GET", "/api/v1/repos/o/r/branches/feature/x", "repoGetBranch"},
	}
	for _, tt := range tests {
		got, err := s.OperationID(httptest.NewRequest(tt.method, tt.path, nil))
		if err != nil || got != tt.want {
			t.Errorf("%s %s = %q, %v; want %q", tt.method, tt.path, got, err, tt.want)
		}
	}
}

// TestValidationFailsTheTest: a request outside the description fails the
// test that made it and is answered 400.
func TestValidationFailsTheTest(t *testing.T) {
	tests := []struct {
		name, method, path, body string
	}{
		{"unknown path", "GET", "/repos/o/r/pulls/1/files", ""},
		{"method not in spec", "PUT", "/repos/o/r/issues/comments/1", `{"body":"x"}`},
		{"state outside the enum", "POST", "/repos/acme/app/statuses/abc", `{"state":"warning","context":"c"}`},
		{"body of the wrong type", "POST", "/repos/acme/app/issues/7/comments", `{"body":42}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recTB{TB: t}
			g := NewGitHub(rec, Options{Spec: specs.GitHub(t)})
			g.AddToken("tok", Token{Login: "bot"})
			g.AddRepo("acme", "app")
			resp, _ := do(t, tt.method, g.URL()+tt.path, "tok", tt.body)
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("status = %d, want 400", resp.StatusCode)
			}
			if errs := rec.errors(); len(errs) != 1 || !strings.Contains(errs[0], "API description") {
				t.Errorf("test failures = %q, want one naming the API description", errs)
			}
		})
	}
}

// TestResponseValidation: an answer that drifts from the description is
// caught.
func TestResponseValidation(t *testing.T) {
	s := specs.GitHub(t)
	req := httptest.NewRequest("GET", "/repos/o/r/issues/7/comments", nil)
	h := http.Header{"Content-Type": {"application/json"}}
	if err := s.ValidateResponse(req, nil, 200, h, []byte(`[{"id":"not-a-number"}]`)); err == nil {
		t.Error("an invalid comment list was accepted")
	}
	if err := s.ValidateResponse(req, nil, 200, h, []byte(`[]`)); err != nil {
		t.Errorf("an empty list was refused: %v", err)
	}
	req = httptest.NewRequest("GET", "/repos/o/r/issues", nil)
	if err := s.ValidateResponse(req, nil, 200, h, []byte(`[{"number":1000,"title":"t"}]`)); err == nil {
		t.Error("an issue without GitHub's required fields was accepted")
	}
	gt := specs.Gitea(t)
	req = httptest.NewRequest("GET", "/api/v1/repos/o/r/issues/7/comments", nil)
	if err := gt.ValidateResponse(req, nil, 200, h, []byte(`{"id":1}`)); err == nil {
		t.Error("Gitea: an object where a list is due was accepted")
	}
	// Gitea serves an open issue's closed_at, milestone and assignees as null
	// (fixGiteaNullables); other fields stay non-nullable.
	req = httptest.NewRequest("GET", "/api/v1/repos/o/r/issues/1000", nil)
	if err := gt.ValidateResponse(req, nil, 200, h, []byte(`{"number":1000,"closed_at":null,"milestone":null,"assignees":null,"pull_request":null}`)); err != nil {
		t.Errorf("Gitea: an open issue's nulls were refused: %v", err)
	}
	if err := gt.ValidateResponse(req, nil, 200, h, []byte(`{"number":1000,"title":null}`)); err == nil {
		t.Error("Gitea: a null title was accepted")
	}
	// Gitea's SDK sends its unset options as null (CreateIssueOption, EditIssueOption).
	for _, tt := range []struct {
		method, body string
		ok           bool
	}{
		{"POST", `{"title":"t","body":"","ref":"","assignees":null,"due_date":null,"milestone":0,"labels":null,"closed":false}`, true},
		{"PATCH", `{"title":"t","body":"b","ref":null,"assignees":null,"milestone":null,"state":"closed","due_date":null,"unset_due_date":null}`, true},
		{"POST", `{"title":null}`, false},
	} {
		path := "/api/v1/repos/o/r/issues"
		if tt.method == "PATCH" {
			path += "/1000"
		}
		req := httptest.NewRequest(tt.method, path, strings.NewReader(tt.body))
		req.Header.Set("Content-Type", "application/json")
		if err := gt.ValidateRequest(req, []byte(tt.body)); (err == nil) != tt.ok {
			t.Errorf("Gitea: %s %s: err = %v, want ok = %v", tt.method, tt.body, err, tt.ok)
		}
	}
}

func TestGitHubFake(t *testing.T) {
	g := NewGitHub(t, Options{Spec: specs.GitHub(t)})
	g.AddToken("tok", Token{Login: "bot"})
	g.AddToken("ro", Token{Login: "fork", ReadOnly: true})
	g.AddToken("job", Token{Login: "github-actions[bot]", Integration: true})
	sha1 := g.PutFile("acme", "app", "main", "a.yml", []byte("one"))
	sha2 := g.PutFile("acme", "app", "main", "a.yml", []byte("two"))
	for i := 0; i < 250; i++ {
		g.AddComment("acme", "app", 7, "alice", fmt.Sprintf("c%d", i))
	}
	base := g.URL() + "/repos/acme/app"

	t.Run("files at refs", func(t *testing.T) {
		for ref, want := range map[string]string{sha1: "one", sha2: "two", "main": "two"} {
			resp, b := do(t, "GET", base+"/contents/a.yml?ref="+ref, "tok", "", "Accept", "application/vnd.github.raw+json")
			if resp.StatusCode != 200 || b != want {
				t.Errorf("ref %s: %d %q, want %q", ref, resp.StatusCode, b, want)
			}
		}
		if head := g.BranchHead("acme", "app", "main"); head != sha2 {
			t.Errorf("head = %s, want %s", head, sha2)
		}
	})
	t.Run("files at a fixed commit", func(t *testing.T) {
		const fixed = "1111111111111111111111111111111111111111"
		g.PutFileAt("acme", "app", fixed, "a.yml", []byte("pinned"))
		g.PutFileAt("acme", "app", fixed, "b.yml", []byte("other"))
		tests := []struct {
			ref, path string
			wantCode  int
			wantBody  string
		}{
			{fixed, "a.yml", 200, "pinned"},
			{fixed, "b.yml", 200, "other"},
			{"main", "a.yml", 200, "two"}, // no branch moved
			{"main", "b.yml", 404, ""},
		}
		for _, tt := range tests {
			resp, b := do(t, "GET", base+"/contents/"+tt.path+"?ref="+tt.ref, "tok", "", "Accept", "application/vnd.github.raw+json")
			if resp.StatusCode != tt.wantCode || (tt.wantCode == 200 && b != tt.wantBody) {
				t.Errorf("%s@%s: %d %q, want %d %q", tt.path, tt.ref, resp.StatusCode, b, tt.wantCode, tt.wantBody)
			}
		}
		const empty = "2222222222222222222222222222222222222222"
		g.PutFileAt("acme", "app", empty, "", nil)
		if resp, b := do(t, "POST", base+"/statuses/"+empty, "tok", `{"state":"success","context":"c"}`); resp.StatusCode != 201 {
			t.Errorf("status on an empty fixed commit: %d %s", resp.StatusCode, b)
		}
		if st := g.Statuses("acme", "app", empty); len(st) != 1 || st[0].Context != "c" {
			t.Errorf("statuses = %+v", st)
		}
	})
	t.Run("link pagination", func(t *testing.T) {
		tests := []struct {
			query    string
			wantN    int
			wantNext bool
		}{
			{"", 30, true},
			{"?per_page=100", 100, true},
			{"?per_page=500&page=3", 50, false},
			{"?per_page=100&page=4", 0, false},
		}
		for _, tt := range tests {
			resp, b := do(t, "GET", base+"/issues/7/comments"+tt.query, "tok", "")
			n := strings.Count(b, `"node_id":"IC_`)
			if n != tt.wantN {
				t.Errorf("%s: %d comments, want %d", tt.query, n, tt.wantN)
			}
			if got := strings.Contains(resp.Header.Get("Link"), `rel="next"`); got != tt.wantNext {
				t.Errorf("%s: Link %q, next = %v, want %v", tt.query, resp.Header.Get("Link"), got, tt.wantNext)
			}
		}
	})
	t.Run("limits and permissions", func(t *testing.T) {
		tests := []struct {
			name, method, path, token, body string
			want                            int
		}{
			{"description over 140", "POST", "/statuses/" + sha2, "tok", fmt.Sprintf(`{"state":"success","description":%q}`, strings.Repeat("x", 141)), 422},
			{"description of 140", "POST", "/statuses/" + sha2, "tok", fmt.Sprintf(`{"state":"success","description":%q}`, strings.Repeat("x", 140)), 201},
			{"body over 65536", "POST", "/issues/7/comments", "tok", fmt.Sprintf(`{"body":%q}`, strings.Repeat("x", 65537)), 422},
			{"read-only token", "POST", "/issues/7/comments", "ro", `{"body":"x"}`, 403},
			{"no token", "GET", "/issues/7/comments", "", "", 401},
			{"someone else's comment (any writer may edit it)", "PATCH", fmt.Sprintf("/issues/comments/%d", g.Comments("acme", "app", 7)[0].ID), "tok", `{"body":"x"}`, 200},
		}
		for _, tt := range tests {
			resp, b := do(t, tt.method, base+tt.path, tt.token, tt.body)
			if resp.StatusCode != tt.want {
				t.Errorf("%s: %d %s, want %d", tt.name, resp.StatusCode, b, tt.want)
			}
		}
		resp, b := do(t, "GET", g.URL()+"/user", "job", "")
		if resp.StatusCode != 403 || !strings.Contains(b, "Resource not accessible by integration") {
			t.Errorf("job token /user: %d %s", resp.StatusCode, b)
		}
	})
}

func TestFaults(t *testing.T) {
	g := NewGitHub(t, Options{Spec: specs.GitHub(t)})
	g.AddToken("tok", Token{Login: "bot"})
	g.AddRepo("acme", "app")
	list := g.URL() + "/repos/acme/app/issues/7/comments"

	g.SetFault(Fault{Kind: FaultStatus, Status: 503, Method: "GET", Times: 2})
	var got []int
	for i := 0; i < 3; i++ {
		resp, _ := do(t, "GET", list, "tok", "")
		got = append(got, resp.StatusCode)
	}
	if diff := cmp.Diff([]int{503, 503, 200}, got); diff != "" {
		t.Errorf("5xx burst (-want +got):\n%s", diff)
	}

	g.ClearFaults()
	g.SetFault(Fault{Kind: FaultStoreThen502, Method: "POST", Times: 1})
	resp, _ := do(t, "POST", list, "tok", `{"body":"stored"}`)
	if resp.StatusCode != 502 || len(g.Comments("acme", "app", 7)) != 1 {
		t.Errorf("store-then-502: %d, %d comments", resp.StatusCode, len(g.Comments("acme", "app", 7)))
	}

	g.ClearFaults()
	g.SetFault(Fault{Kind: FaultRateLimit, RetryAfter: 60, Times: 1})
	resp, b := do(t, "GET", list, "tok", "")
	if resp.StatusCode != 403 || resp.Header.Get("Retry-After") != "60" || !strings.Contains(b, "secondary rate limit") {
		t.Errorf("secondary rate limit: %d %v %s", resp.StatusCode, resp.Header, b)
	}

	g.ClearFaults()
	g.SetFault(Fault{Kind: FaultRedirect, RedirectTo: "http://127.0.0.1:1", PathContains: "/comments"})
	resp, _ = do(t, "GET", list+"?page=2", "tok", "")
	if resp.StatusCode != 307 || resp.Header.Get("Location") != "http://127.0.0.1:1/repos/acme/app/issues/7/comments?page=2" {
		t.Errorf("redirect: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}

	reqs := g.Requests()
	if len(reqs) != 6 || reqs[3].Method != "POST" || string(reqs[3].Body) != `{"body":"stored"}` || reqs[3].Status != 502 {
		t.Errorf("recorded requests = %+v", reqs)
	}
}

func TestGiteaFake(t *testing.T) {
	g := NewGitea(t, Options{Spec: specs.Gitea(t)})
	g.AddToken("tok", Token{Login: "bot"})
	g.AddRepo("acme", "app")
	for i := 0; i < 120; i++ {
		g.AddComment("acme", "app", 3, "alice", fmt.Sprintf("c%d", i))
	}
	resp, b := do(t, "GET", g.URL()+"/api/v1/repos/acme/app/issues/3/comments?page=2&limit=10", "", "", "Authorization", "token tok")
	if resp.StatusCode != 200 || strings.Count(b, `"body":"c`) != 120 || resp.Header.Get("Link") != "" {
		t.Errorf("Gitea list is not one unpaginated answer: %d, %d comments, Link %q", resp.StatusCode, strings.Count(b, `"body":"c`), resp.Header.Get("Link"))
	}
	sha := g.PutFile("acme", "app", "main", "x", []byte("1"))
	resp, b = do(t, "POST", g.URL()+"/api/v1/repos/acme/app/statuses/"+sha, "", `{"state":"warning","context":"c","description":"d","target_url":""}`, "Authorization", "token tok")
	if resp.StatusCode != 201 || !strings.Contains(b, `"status":"warning"`) {
		t.Errorf("warning status: %d %s", resp.StatusCode, b)
	}
}

func TestGitLabFake(t *testing.T) {
	g := NewGitLab(t, Options{})
	g.AddToken("tok", Token{Login: "bot"})
	sha := g.PutFile("group/sub", "app", "main", "dir/a.yml", []byte("content"))
	for i := 0; i < 45; i++ {
		g.AddComment("group/sub", "app", 5, "alice", fmt.Sprintf("c%d", i))
	}
	base := g.URL() + "/api/v4/projects/group%2Fsub%2Fapp"
	resp, b := do(t, "GET", base+"/repository/files/dir%2Fa.yml/raw?ref="+sha, "", "", "PRIVATE-TOKEN", "tok")
	if resp.StatusCode != 200 || b != "content" {
		t.Errorf("raw file: %d %q", resp.StatusCode, b)
	}
	resp, b = do(t, "GET", base+"/merge_requests/5/notes?sort=asc&per_page=20&page=3", "", "", "JOB-TOKEN", "tok")
	if resp.StatusCode != 200 || strings.Count(b, `"body":"c`) != 5 || resp.Header.Get("X-Next-Page") != "" || resp.Header.Get("X-Total") != "45" {
		t.Errorf("last page: %d %d notes, headers %v", resp.StatusCode, strings.Count(b, `"body":"c`), resp.Header)
	}
	resp, _ = do(t, "GET", base+"/merge_requests/5/notes?per_page=20", "", "", "PRIVATE-TOKEN", "tok")
	if resp.Header.Get("X-Next-Page") != "2" || !strings.Contains(resp.Header.Get("Link"), `rel="next"`) {
		t.Errorf("first page headers: %v", resp.Header)
	}
	resp, _ = do(t, "POST", base+"/statuses/"+sha, "", `{"state":"warning"}`, "PRIVATE-TOKEN", "tok")
	if resp.StatusCode != 400 {
		t.Errorf("GitLab accepted state warning: %d", resp.StatusCode)
	}
}

// TestMissingGitHubSpecNamesTheScript: without the description the loader
// says how to get it (tests fail with this message; they never skip).
func TestMissingGitHubSpecNamesTheScript(t *testing.T) {
	_, err := LoadGitHubSpec(t.TempDir() + "/api.github.com.json")
	if err == nil || !strings.Contains(err.Error(), "scripts/fetch-openapi.sh") || !strings.Contains(err.Error(), GitHubSpecEnv) {
		t.Errorf("err = %v, want one naming scripts/fetch-openapi.sh and %s", err, GitHubSpecEnv)
	}
	t.Setenv(GitHubSpecEnv, "/elsewhere/api.github.com.json")
	if p, err := GitHubSpecPath(); err != nil || p != "/elsewhere/api.github.com.json" {
		t.Errorf("GitHubSpecPath() = %q, %v; want the environment's path", p, err)
	}
}

var update = flag.Bool("update", false, "rewrite providers/testdata/api.github.com.pruned.json from the fetched @octokit/openapi")

// TestCommittedGitHubSpec keeps the committed pruned description equal to pruning the full
// description of the pinned @octokit/openapi (fetched by scripts/fetch-openapi.sh, which .ci/run
// runs), so the conformance tests of a plain clone check against what GitHub publishes.
func TestCommittedGitHubSpec(t *testing.T) {
	full, err := GitHubSpecPath()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(full); err != nil {
		msg := "the full GitHub description is not fetched (" + err.Error() + "): run scripts/fetch-openapi.sh to compare the committed pruned copy with it"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	want, err := PrunedGitHubSpec(full)
	if err != nil {
		t.Fatal(err)
	}
	committed := filepath.Join(testenv.ModuleRoot(t), GitHubSpecPruned)
	if *update {
		if err := os.WriteFile(committed, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(committed)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from pruning %s: run go test ./internal/forgefake -run TestCommittedGitHubSpec -update", GitHubSpecPruned, full)
	}
	if _, err := LoadPrunedGitHubSpec(committed); err != nil {
		t.Errorf("the committed description does not load: %v", err)
	}
}

// TestAnyWriterChangesAnyComment: GitHub, Gitea and GitLab let any token that may write to a
// repository's issues edit and delete anyone's comment and edit anyone's issue there, so the
// fakes do too: only the check's own author filter (tested in providers) keeps it off other
// people's comments and issues.
func TestAnyWriterChangesAnyComment(t *testing.T) {
	type fake interface {
		URL() string
		AddToken(string, Token)
		AddComment(owner, name string, number int, author, body string) int64
		Comments(owner, name string, number int) []Comment
		AddIssue(owner, name, author, title, body string) int
		Issues(owner, name string) []Issue
	}
	tests := []struct {
		name, owner              string
		new                      func(t *testing.T) fake
		api                      string // the repository's API root below URL()
		editMethod, editComment  string // %d: the comment id
		deleteComment, editIssue string // %d: the comment id; the issue number
		commentBody, issueBody   string
	}{
		{"github", "acme", func(t *testing.T) fake { return NewGitHub(t, Options{Spec: specs.GitHub(t)}) }, "/repos/acme/app",
			"PATCH", "/issues/comments/%d", "/issues/comments/%d", "/issues/%d", `{"body":"edited"}`, `{"body":"edited"}`},
		{"gitea", "acme", func(t *testing.T) fake { return NewGitea(t, Options{Spec: specs.Gitea(t)}) }, "/api/v1/repos/acme/app",
			"PATCH", "/issues/comments/%d", "/issues/comments/%d", "/issues/%d", `{"body":"edited"}`, `{"body":"edited"}`},
		{"gitlab", "group/sub", func(t *testing.T) fake { return NewGitLab(t, Options{}) }, "/api/v4/projects/group%2Fsub%2Fapp",
			"PUT", "/merge_requests/7/notes/%d", "/merge_requests/7/notes/%d", "/issues/%d", `{"body":"edited"}`, `{"description":"edited"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := tt.new(t)
			f.AddToken("tok", Token{Login: "bot"})
			id := f.AddComment(tt.owner, "app", 7, "alice", "alice's words")
			f.AddComment(tt.owner, "app", 7, "bob", "bob's words")
			number := f.AddIssue(tt.owner, "app", "alice", "alice's issue", "alice's text")
			base := f.URL() + tt.api
			hdr := []string{"Authorization", "token tok"} // Gitea's scheme; the others take it too
			if tt.name == "gitlab" {
				hdr = []string{"PRIVATE-TOKEN", "tok"}
			}
			resp, b := do(t, tt.editMethod, base+fmt.Sprintf(tt.editComment, id), "", tt.commentBody, hdr...)
			if resp.StatusCode != http.StatusOK {
				t.Errorf("bot edits alice's comment: %d %s, want 200 (the forges allow any writer)", resp.StatusCode, b)
			}
			if cs := f.Comments(tt.owner, "app", 7); len(cs) != 2 || cs[0].Body != "edited" || cs[0].Author != "alice" {
				t.Errorf("after the edit: %+v, want alice's comment with the new body", cs)
			}
			issueMethod := "PATCH"
			if tt.name == "gitlab" {
				issueMethod = "PUT"
			}
			resp, b = do(t, issueMethod, base+fmt.Sprintf(tt.editIssue, number), "", tt.issueBody, hdr...)
			if resp.StatusCode/100 != 2 {
				t.Errorf("bot edits alice's issue: %d %s, want 2xx", resp.StatusCode, b)
			}
			if is := f.Issues(tt.owner, "app"); len(is) != 1 || is[0].Body != "edited" {
				t.Errorf("after the issue edit: %+v", is)
			}
			resp, b = do(t, "DELETE", base+fmt.Sprintf(tt.deleteComment, id), "", "", hdr...)
			if resp.StatusCode != http.StatusNoContent {
				t.Errorf("bot deletes alice's comment: %d %s, want 204", resp.StatusCode, b)
			}
			if cs := f.Comments(tt.owner, "app", 7); len(cs) != 1 || cs[0].Author != "bob" {
				t.Errorf("after the delete: %+v, want only bob's comment", cs)
			}
		})
	}
}
