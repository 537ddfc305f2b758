package forgefake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// decode unmarshals an answer's body into v, failing the test.
func decode(t *testing.T, body string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(body), v); err != nil {
		t.Fatalf("decode %q: %v", body, err)
	}
}

// wantStatus fails the test when resp's status is not want.
func wantStatus(t *testing.T, what string, resp *http.Response, body string, want int) {
	t.Helper()
	if resp.StatusCode != want {
		t.Fatalf("%s: %d %s, want %d", what, resp.StatusCode, body, want)
	}
}

// apiIssue is what the tests read of an issue on every forge.
type apiIssue struct {
	Number      int             `json:"number"`
	IID         int             `json:"iid"`
	Title       string          `json:"title"`
	Body        *string         `json:"body"`
	Description string          `json:"description"`
	State       string          `json:"state"`
	StateReason *string         `json:"state_reason"`
	ClosedAt    *string         `json:"closed_at"`
	HTMLURL     string          `json:"html_url"`
	WebURL      string          `json:"web_url"`
	Comments    *int            `json:"comments"`
	Notes       *int            `json:"user_notes_count"`
	Labels      json.RawMessage `json:"labels"`
	User        struct {
		Login string `json:"login"`
	} `json:"user"`
	Author struct {
		Username string `json:"username"`
	} `json:"author"`
}

func (a apiIssue) labelNames(t *testing.T) []string {
	t.Helper()
	var strs []string
	if json.Unmarshal(a.Labels, &strs) == nil {
		return strs
	}
	var names []string
	var objs []struct {
		Name string `json:"name"`
	}
	decode(t, string(a.Labels), &objs)
	for _, o := range objs {
		names = append(names, o.Name)
	}
	return names
}

func numbers(is []apiIssue) []int {
	out := []int{}
	for _, i := range is {
		out = append(out, max(i.Number, i.IID))
	}
	return out
}

// issueByNumber returns the Go view of issue n.
func issueByNumber(t *testing.T, all []Issue, n int) Issue {
	t.Helper()
	for _, is := range all {
		if is.Number == n {
			return is
		}
	}
	t.Fatalf("no issue %d in %+v", n, all)
	return Issue{}
}

// issueAPI is a test's way to one fake's issues: the repository's API URL,
// the header pairs carrying the test's token, and the fake's Go view of the
// repository's issues.
type issueAPI struct {
	t      *testing.T
	base   string
	hdr    []string
	issues func() []Issue
}

// call sends a request to base+path with the token and the header pairs hdr,
// failing the test unless it answers want.
func (a issueAPI) call(what, method, path, body string, want int, hdr ...string) (*http.Response, string) {
	a.t.Helper()
	resp, b := do(a.t, method, a.base+path, "", body, slices.Concat(a.hdr, hdr)...)
	wantStatus(a.t, what, resp, b, want)
	return resp, b
}

// issue returns the Go view of issue n.
func (a issueAPI) issue(n int) Issue {
	a.t.Helper()
	return issueByNumber(a.t, a.issues(), n)
}

// list lists the issues with query.
func (a issueAPI) list(query string) ([]apiIssue, *http.Response) {
	a.t.Helper()
	resp, b := a.call("list "+query, "GET", "/issues"+query, "", 200)
	var out []apiIssue
	decode(a.t, b, &out)
	return out, resp
}

// listCase is a list's query and the issue numbers it answers, in order.
type listCase struct {
	query string
	want  []int
}

// wantLists checks the issues each query lists.
func (a issueAPI) wantLists(tests []listCase) {
	a.t.Helper()
	for _, tt := range tests {
		got, _ := a.list(tt.query)
		if diff := cmp.Diff(tt.want, numbers(got)); diff != "" {
			a.t.Errorf("list %q (-want +got):\n%s", tt.query, diff)
		}
	}
}

// wantPages lists query (a format of the page number) page by page while
// next, given the page and its answer's headers, reports a next page; the
// last page must be the third, and the pages must list want.
func (a issueAPI) wantPages(query string, want []int, next func(page int, h http.Header) bool) {
	a.t.Helper()
	var paged []int
	for page := 1; page <= 10; page++ {
		got, resp := a.list(fmt.Sprintf(query, page))
		paged = append(paged, numbers(got)...)
		if !next(page, resp.Header) {
			if page != 3 {
				a.t.Errorf("page %d is the last (headers %v), want 3", page, resp.Header)
			}
			break
		}
	}
	if diff := cmp.Diff(want, paged); diff != "" {
		a.t.Errorf("pages (-want +got):\n%s", diff)
	}
}

// linkNext reports whether a Link header names a next page.
func linkNext(_ int, h http.Header) bool { return strings.Contains(h.Get("Link"), `rel="next"`) }

// editAndClose sets the body of issue n, open and titled "Drift of web", to
// "port 9090" with the request body edit, then closes it with close, both
// sent by method and answered status. It checks the Go view after each, the
// closed answer and the closed list, and returns the closed answer and the Go
// view for the forge's own checks.
func (a issueAPI) editAndClose(n int, method string, status int, edit, close string) (apiIssue, Issue) {
	a.t.Helper()
	path := fmt.Sprintf("/issues/%d", n)
	a.call("edit", method, path, edit, status)
	if is := a.issue(n); is.Body != "port 9090" || is.Title != "Drift of web" || !is.Open {
		a.t.Errorf("after the edit: %+v", is)
	}
	_, b := a.call("close", method, path, close, status)
	var closed apiIssue
	decode(a.t, b, &closed)
	if closed.State != "closed" || closed.ClosedAt == nil {
		a.t.Errorf("closed: %s", b)
	}
	is := a.issue(n)
	if is.Open {
		a.t.Errorf("after closing: %+v", is)
	}
	a.wantLists([]listCase{{"?state=closed", []int{n}}})
	return closed, is
}

// refusal is a request a fake must refuse with want.
type refusal struct {
	name, method, path, body string
	hdr                      []string
	want                     int
}

// wantRefused sends each request to base+path with its own header pairs only,
// checking its status, and checks that none changed the number of issues.
func (a issueAPI) wantRefused(tests []refusal) {
	a.t.Helper()
	before := len(a.issues())
	for _, tt := range tests {
		resp, b := do(a.t, tt.method, a.base+tt.path, "", tt.body, tt.hdr...)
		if resp.StatusCode != tt.want {
			a.t.Errorf("%s: %d %s, want %d", tt.name, resp.StatusCode, b, tt.want)
		}
	}
	if after := len(a.issues()); after != before {
		a.t.Errorf("refused requests changed the issues: %d -> %d", before, after)
	}
}

func TestGitHubIssues(t *testing.T) {
	g := NewGitHub(t, Options{Spec: specs.GitHub(t)})
	g.AddToken("tok", Token{Login: "bot"})
	g.AddToken("ro", Token{Login: "fork", ReadOnly: true})
	g.AddRepo("acme", "app")
	human := g.AddIssue("acme", "app", "alice", "Human", "by hand")
	if human != 1000 {
		t.Fatalf("first issue number = %d, want 1000", human)
	}
	a := issueAPI{t, g.URL() + "/repos/acme/app", []string{"Authorization", "Bearer tok"}, func() []Issue { return g.Issues("acme", "app") }}

	// create
	resp, b := a.call("create", "POST", "/issues", `{"title":"Drift of web","body":"port 3000","labels":["tinyforge",{"name":"drift"}]}`, 201)
	var created apiIssue
	decode(t, b, &created)
	n := created.Number
	if n != 1001 || created.State != "open" || created.User.Login != "bot" || resp.Header.Get("Location") == "" ||
		!strings.HasSuffix(created.HTMLURL, "/acme/app/issues/1001") {
		t.Errorf("created %+v, Location %q", created, resp.Header.Get("Location"))
	}
	if diff := cmp.Diff([]string{"tinyforge", "drift"}, created.labelNames(t)); diff != "" {
		t.Errorf("labels created with the issue (-want +got):\n%s", diff)
	}
	for i := 0; i < 4; i++ {
		a.call("create more", "POST", "/issues", fmt.Sprintf(`{"title":%d,"labels":["TinyForge"]}`, i), 201)
	}

	// list: filters and pages
	a.wantLists([]listCase{
		{"", []int{1005, 1004, 1003, 1002, 1001, 1000}},
		{"?creator=BOT&direction=asc", []int{1001, 1002, 1003, 1004, 1005}},
		{"?creator=alice", []int{1000}},
		{"?labels=tinyforge,drift", []int{1001}},
		{"?state=closed", []int{}},
	})
	a.wantPages("?creator=bot&sort=created&direction=asc&per_page=2&page=%d", []int{1001, 1002, 1003, 1004, 1005}, linkNext)

	// edit the body, close, reopen
	closed, is := a.editAndClose(n, "PATCH", 200, `{"body":"port 9090"}`, `{"state":"closed","state_reason":"not_planned"}`)
	if closed.StateReason == nil || *closed.StateReason != "not_planned" {
		t.Errorf("closed: %+v", closed)
	}
	if is.StateReason != "not_planned" {
		t.Errorf("after closing: %+v", is)
	}
	if got, _ := a.list("?creator=bot"); len(got) != 4 {
		t.Errorf("open list of bot: %v", numbers(got))
	}
	issue := fmt.Sprintf("/issues/%d", n)
	a.call("reopen", "PATCH", issue, `{"state":"open","title":"Drift of web, again"}`, 200)
	if is := a.issue(n); !is.Open || is.StateReason != "reopened" || is.Title != "Drift of web, again" {
		t.Errorf("after reopening: %+v", is)
	}
	a.call("clear labels", "PATCH", issue, `{"labels":[]}`, 200)
	if is := a.issue(n); len(is.Labels) != 0 {
		t.Errorf("labels after clearing: %v", is.Labels)
	}

	// comment
	_, b = a.call("comment", "POST", issue+"/comments", `{"body":"closing note"}`, 201)
	if !strings.Contains(b, fmt.Sprintf("/acme/app/issues/%d#issuecomment-", n)) {
		t.Errorf("an issue comment's html_url is not the issue's: %s", b)
	}
	if cs := g.Comments("acme", "app", n); len(cs) != 1 || cs[0].Body != "closing note" || cs[0].Author != "bot" {
		t.Errorf("comments: %+v", cs)
	}
	_, b = a.call("list comments", "GET", issue+"/comments", "", 200)
	if !strings.Contains(b, "closing note") {
		t.Errorf("comment list: %s", b)
	}
	_, b = a.call("get", "GET", issue, "", 200)
	var got apiIssue
	decode(t, b, &got)
	if got.Comments == nil || *got.Comments != 1 {
		t.Errorf("comments count: %s", b)
	}

	// refusals
	ro := []string{"Authorization", "Bearer ro"}
	a.wantRefused([]refusal{
		{"read-only create", "POST", "/issues", `{"title":"x"}`, ro, 403},
		{"read-only edit", "PATCH", issue, `{"state":"closed"}`, ro, 403},
		{"unknown issue", "PATCH", "/issues/999", `{"body":"x"}`, a.hdr, 404},
		{"unknown issue get", "GET", "/issues/4242", "", a.hdr, 404},
		{"title over 256", "POST", "/issues", fmt.Sprintf(`{"title":%q}`, strings.Repeat("t", 257)), a.hdr, 422},
		{"body over 65536", "POST", "/issues", fmt.Sprintf(`{"title":"t","body":%q}`, strings.Repeat("b", 65537)), a.hdr, 422},
		{"no token", "GET", "/issues", "", nil, 401},
	})
	if is := a.issue(human); !is.Open || is.Body != "by hand" || is.Author != "alice" {
		t.Errorf("the human's issue: %+v", is)
	}
}

func TestGiteaIssues(t *testing.T) {
	g := NewGitea(t, Options{Spec: specs.Gitea(t)})
	g.AddToken("tok", Token{Login: "bot"})
	g.AddToken("ro", Token{Login: "fork", ReadOnly: true})
	tf := g.AddLabel("acme", "app", "tinyforge")
	if again := g.AddLabel("acme", "app", "TinyForge"); again != tf {
		t.Errorf("AddLabel is not idempotent: %d, %d", tf, again)
	}
	drift := g.AddLabel("acme", "app", "drift")
	human := g.AddIssue("acme", "app", "alice", "Human", "by hand")
	a := issueAPI{t, g.URL() + "/api/v1/repos/acme/app", []string{"Authorization", "token tok"}, func() []Issue { return g.Issues("acme", "app") }}

	// labels map names to ids
	resp, b := a.call("labels", "GET", "/labels?page=1&limit=50", "", 200)
	var labels []struct {
		ID    int64  `json:"id"`
		Name  string `json:"name"`
		Color string `json:"color"`
	}
	decode(t, b, &labels)
	if len(labels) != 2 || labels[0].Name != "drift" || labels[0].ID != drift || labels[1].ID != tf ||
		labels[0].Color == "" || resp.Header.Get("X-Total-Count") != "2" {
		t.Errorf("labels %s, X-Total-Count %q", b, resp.Header.Get("X-Total-Count"))
	}

	// create
	_, b = a.call("create", "POST", "/issues", fmt.Sprintf(`{"title":"Drift of web","body":"port 3000","labels":[%d,%d,987654]}`, tf, drift), 201)
	var created apiIssue
	decode(t, b, &created)
	n := created.Number
	if n != human+1 || created.State != "open" || created.User.Login != "bot" || created.ClosedAt != nil {
		t.Errorf("created: %s", b)
	}
	if diff := cmp.Diff([]string{"tinyforge", "drift"}, created.labelNames(t)); diff != "" {
		t.Errorf("labels by id, the unknown id dropped (-want +got):\n%s", diff)
	}
	for i := 0; i < 4; i++ {
		a.call("create more", "POST", "/issues", fmt.Sprintf(`{"title":"more %d"}`, i), 201)
	}

	// list: filters and pages
	a.wantLists([]listCase{
		{"", []int{1005, 1004, 1003, 1002, 1001, 1000}},
		{"?state=all&type=issues&created_by=BOT", []int{1005, 1004, 1003, 1002, 1001}},
		{"?created_by=alice", []int{1000}},
		{"?labels=tinyforge,drift", []int{1001}},
		{"?labels=no-such-label", []int{1005, 1004, 1003, 1002, 1001, 1000}},
		{"?type=pulls", []int{}},
		{"?state=closed", []int{}},
	})
	a.wantPages("?state=all&type=issues&created_by=bot&limit=2&page=%d", []int{1005, 1004, 1003, 1002, 1001}, func(page int, h http.Header) bool {
		if h.Get("X-Total-Count") != "5" {
			t.Errorf("page %d: X-Total-Count %q", page, h.Get("X-Total-Count"))
		}
		return linkNext(page, h)
	})
	if got, _ := a.list("?limit=500"); len(got) != 6 {
		t.Errorf("limit 500: %d issues", len(got))
	}
	a.call("unknown created_by", "GET", "/issues?created_by=nobody-ever", "", 404)

	// edit the body, close, reopen: Gitea answers 201
	if _, is := a.editAndClose(n, "PATCH", 201, `{"body":"port 9090"}`, `{"state":"closed"}`); is.StateReason != "" {
		t.Errorf("after closing: %+v", is)
	}
	issue := fmt.Sprintf("/issues/%d", n)
	a.call("reopen", "PATCH", issue, `{"state":"open","title":"Drift of web, again"}`, 201)
	if is := a.issue(n); !is.Open || is.Title != "Drift of web, again" {
		t.Errorf("after reopening: %+v", is)
	}
	a.call("unknown state", "PATCH", issue, `{"state":"merged"}`, 412)

	// comment
	_, b = a.call("comment", "POST", issue+"/comments", `{"body":"closing note"}`, 201)
	var cm struct {
		HTMLURL        string  `json:"html_url"`
		IssueURL       string  `json:"issue_url"`
		PullRequestURL *string `json:"pull_request_url"`
	}
	decode(t, b, &cm)
	if !strings.Contains(cm.HTMLURL, fmt.Sprintf("/issues/%d#issuecomment-", n)) || cm.IssueURL == "" || cm.PullRequestURL == nil || *cm.PullRequestURL != "" {
		t.Errorf("an issue comment: %s", b)
	}
	if cs := g.Comments("acme", "app", n); len(cs) != 1 || cs[0].Body != "closing note" {
		t.Errorf("comments: %+v", cs)
	}
	resp, b = do(t, "GET", a.base+issue+"/comments", "", "", a.hdr...)
	if resp.StatusCode != 200 || !strings.Contains(b, "closing note") {
		t.Errorf("comment list: %d %s", resp.StatusCode, b)
	}

	// refusals
	ro := []string{"Authorization", "token ro"}
	a.wantRefused([]refusal{
		{"read-only create", "POST", "/issues", `{"title":"x"}`, ro, 403},
		{"read-only edit", "PATCH", issue, `{"state":"closed"}`, ro, 403},
		{"unknown issue", "PATCH", "/issues/999", `{"body":"x"}`, a.hdr, 404},
		{"empty title", "POST", "/issues", `{"title":"","body":"x"}`, a.hdr, 422},
	})
	if is := a.issue(n); !is.Open {
		t.Errorf("a read-only token closed the issue: %+v", is)
	}
}

// TestGiteaLabelPages: Gitea pages labels only when a page is asked for.
func TestGiteaLabelPages(t *testing.T) {
	g := NewGitea(t, Options{Spec: specs.Gitea(t)})
	g.AddToken("tok", Token{Login: "bot"})
	for i := 0; i < 60; i++ {
		g.AddLabel("acme", "app", fmt.Sprintf("l%02d", i))
	}
	base := g.URL() + "/api/v1/repos/acme/app/labels"
	for query, want := range map[string]int{"": 60, "?page=1": 30, "?page=2&limit=50": 10, "?page=1&limit=100": 50} {
		resp, b := do(t, "GET", base+query, "", "", "Authorization", "token tok")
		var ls []map[string]any
		decode(t, b, &ls)
		if resp.StatusCode != 200 || len(ls) != want || resp.Header.Get("X-Total-Count") != "60" {
			t.Errorf("%q: %d, %d labels, total %q; want %d", query, resp.StatusCode, len(ls), resp.Header.Get("X-Total-Count"), want)
		}
	}
}

func TestGitLabIssues(t *testing.T) {
	g := NewGitLab(t, Options{})
	g.AddToken("tok", Token{Login: "bot"})
	g.AddToken("ro", Token{Login: "fork", ReadOnly: true})
	human := g.AddIssue("group/sub", "app", "alice", "Human", "by hand")
	a := issueAPI{t, g.URL() + "/api/v4/projects/" + url.PathEscape("group/sub/app"), []string{"PRIVATE-TOKEN", "tok"},
		func() []Issue { return g.Issues("group/sub", "app") }}
	form := []string{"Content-Type", "application/x-www-form-urlencoded"}

	// create, JSON and form bodies alike
	_, b := a.call("create", "POST", "/issues", `{"title":"Drift of web","description":"port 3000","labels":"tinyforge,drift"}`, 201)
	var created apiIssue
	decode(t, b, &created)
	n := created.IID
	if n != human+1 || created.State != "opened" || created.Author.Username != "bot" || created.Description != "port 3000" ||
		!strings.HasSuffix(created.WebURL, "/group/sub/app/-/issues/1001") {
		t.Errorf("created: %s", b)
	}
	if diff := cmp.Diff([]string{"tinyforge", "drift"}, created.labelNames(t)); diff != "" {
		t.Errorf("labels (-want +got):\n%s", diff)
	}
	for i := 0; i < 4; i++ {
		a.call("create without title", "POST", "/issues", "", 400, form...)
		a.call("form create", "POST", "/issues", url.Values{"title": {fmt.Sprintf("more %d", i)}}.Encode(), 201, form...)
	}

	// list: filters and pages
	a.wantLists([]listCase{
		{"", []int{1005, 1004, 1003, 1002, 1001, 1000}},
		{"?author_username=BOT&order_by=created_at&sort=asc", []int{1001, 1002, 1003, 1004, 1005}},
		{"?author_username=alice", []int{1000}},
		{"?scope=created_by_me&order_by=created_at&sort=asc", []int{1001, 1002, 1003, 1004, 1005}},
		{"?scope=created_by_me&author_username=alice", []int{}},
		{"?scope=assigned_to_me", []int{}},
		{"?scope=all&author_username=alice", []int{1000}},
		{"?labels=tinyforge,drift", []int{1001}},
		{"?labels=None", []int{1005, 1004, 1003, 1002, 1000}},
		{"?state=closed", []int{}},
		{"?state=opened", []int{1005, 1004, 1003, 1002, 1001, 1000}},
	})
	if resp, b := do(t, "GET", a.base+"/issues?scope=mine", "", "", a.hdr...); resp.StatusCode != 400 || !strings.Contains(b, "scope does not have a valid value") {
		t.Errorf("unknown scope: %d %s, want 400", resp.StatusCode, b)
	}
	a.wantPages("?author_username=bot&per_page=2&order_by=created_at&sort=asc&page=%d", []int{1001, 1002, 1003, 1004, 1005}, func(page int, h http.Header) bool {
		if h.Get("X-Total") != "5" || h.Get("X-Total-Pages") != "3" || h.Get("X-Page") != fmt.Sprint(page) {
			t.Errorf("page %d headers: %v", page, h)
		}
		return h.Get("X-Next-Page") != ""
	})
	a.call("GitHub's state name", "GET", "/issues?state=open", "", 400)

	// edit the description, close, reopen
	a.editAndClose(n, "PUT", 200, `{"description":"port 9090"}`, `{"state_event":"close"}`)
	issue := fmt.Sprintf("/issues/%d", n)
	a.call("reopen", "PUT", issue, `{"state_event":"reopen","title":"Drift of web, again","labels":""}`, 200)
	if is := a.issue(n); !is.Open || is.Title != "Drift of web, again" || len(is.Labels) != 0 {
		t.Errorf("after reopening: %+v", is)
	}

	// notes
	_, b = a.call("note", "POST", issue+"/notes", `{"body":"closing note"}`, 201)
	if !strings.Contains(b, `"noteable_type":"Issue"`) || !strings.Contains(b, fmt.Sprintf(`"noteable_iid":%d`, n)) {
		t.Errorf("an issue note: %s", b)
	}
	if cs := g.Comments("group/sub", "app", n); len(cs) != 1 || cs[0].Body != "closing note" {
		t.Errorf("notes: %+v", cs)
	}
	resp, b := do(t, "GET", a.base+issue+"/notes?sort=asc", "", "", a.hdr...)
	if resp.StatusCode != 200 || !strings.Contains(b, "closing note") || resp.Header.Get("X-Total") != "1" {
		t.Errorf("note list: %d %s", resp.StatusCode, b)
	}
	_, b = a.call("get", "GET", issue, "", 200)
	var got apiIssue
	decode(t, b, &got)
	if got.Notes == nil || *got.Notes != 1 {
		t.Errorf("user_notes_count: %s", b)
	}

	// refusals
	ro := []string{"PRIVATE-TOKEN", "ro"}
	a.wantRefused([]refusal{
		{"read-only create", "POST", "/issues", `{"title":"x"}`, ro, 403},
		{"read-only edit", "PUT", issue, `{"state_event":"close"}`, ro, 403},
		{"read-only note", "POST", issue + "/notes", `{"body":"x"}`, ro, 403},
		{"unknown issue", "PUT", "/issues/999", `{"description":"x"}`, a.hdr, 404},
		{"note on an unknown issue", "POST", "/issues/999/notes", `{"body":"x"}`, a.hdr, 404},
		{"bad state_event", "PUT", issue, `{"state_event":"closed"}`, a.hdr, 400},
	})
	if is := a.issue(n); !is.Open || len(g.Comments("group/sub", "app", n)) != 1 {
		t.Errorf("a read-only token changed the issue: %+v", is)
	}
}

// try sends a request from any goroutine: its status (0 on a transport
// error) and body.
func try(method, u, body string, hdr []string) (int, string) {
	resp, b, err := send(method, u, body, hdr)
	if err != nil {
		return 0, err.Error()
	}
	return resp.StatusCode, b
}

// TestIssuesConcurrent: 20 clients creating, editing, closing and commenting
// at once on each fake (run with -race); every issue ends as its client left
// it and numbers are unique and dense.
func TestIssuesConcurrent(t *testing.T) {
	gh := NewGitHub(t, Options{Spec: specs.GitHub(t)})
	gh.AddRepo("acme", "app")
	gt := NewGitea(t, Options{Spec: specs.Gitea(t)})
	gt.AddRepo("acme", "app")
	gl := NewGitLab(t, Options{})
	gl.AddRepo("acme", "app")
	forges := []struct {
		name       string
		f          interface{ Issues(string, string) []Issue }
		addToken   func()
		base       string
		hdr        []string
		editMethod string
		closeBody  string
		notes      string
	}{
		{"github", gh, func() { gh.AddToken("tok", Token{Login: "bot"}) }, gh.URL() + "/repos/acme/app", []string{"Authorization", "Bearer tok"},
			"PATCH", `{"state":"closed","body":"done"}`, "comments"},
		{"gitea", gt, func() { gt.AddToken("tok", Token{Login: "bot"}) }, gt.URL() + "/api/v1/repos/acme/app", []string{"Authorization", "token tok"},
			"PATCH", `{"state":"closed","body":"done"}`, "comments"},
		{"gitlab", gl, func() { gl.AddToken("tok", Token{Login: "bot"}) }, gl.URL() + "/api/v4/projects/acme%2Fapp", []string{"PRIVATE-TOKEN", "tok"},
			"PUT", `{"state_event":"close","description":"done"}`, "notes"},
	}
	for _, fc := range forges {
		t.Run(fc.name, func(t *testing.T) {
			fc.addToken()
			var wg sync.WaitGroup
			nums := make([]int, 20)
			for i := range 20 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					title := fmt.Sprintf("issue %d", i)
					code, b := try("POST", fc.base+"/issues", fmt.Sprintf(`{"title":%q,"body":"x","description":"x"}`, title), fc.hdr)
					if code != 201 {
						t.Errorf("create: %d %s", code, b)
						return
					}
					var is apiIssue
					if err := json.Unmarshal([]byte(b), &is); err != nil {
						t.Error(err)
						return
					}
					n := max(is.Number, is.IID)
					nums[i] = n
					path := fmt.Sprintf("%s/issues/%d", fc.base, n)
					if i%2 == 0 {
						if code, b := try(fc.editMethod, path, fc.closeBody, fc.hdr); code/100 != 2 {
							t.Errorf("close: %d %s", code, b)
						}
					}
					if code, b := try("POST", path+"/"+fc.notes, `{"body":"note"}`, fc.hdr); code != 201 {
						t.Errorf("comment: %d %s", code, b)
					}
					if code, b := try("GET", fc.base+"/issues?state=all", "", fc.hdr); code != 200 {
						t.Errorf("list: %d %s", code, b)
					}
				}()
			}
			wg.Wait()
			all := fc.f.Issues("acme", "app")
			if len(all) != 20 {
				t.Fatalf("%d issues, want 20", len(all))
			}
			for k, is := range all {
				if is.Number != firstIssueNumber+k {
					t.Errorf("issue %d has number %d", k, is.Number)
				}
			}
			for i, n := range nums {
				is := issueByNumber(t, all, n)
				wantOpen, wantBody := i%2 == 1, "x"
				if !wantOpen {
					wantBody = "done"
				}
				if is.Title != fmt.Sprintf("issue %d", i) || is.Open != wantOpen || is.Body != wantBody {
					t.Errorf("issue of client %d: %+v", i, is)
				}
			}
		})
	}
	for _, f := range []interface {
		Comments(owner, repo string, number int) []Comment
	}{gh, gt, gl} {
		for n := firstIssueNumber; n < firstIssueNumber+20; n++ {
			if cs := f.Comments("acme", "app", n); len(cs) != 1 {
				t.Errorf("issue %d has %d comments", n, len(cs))
			}
		}
	}
}

// TestIssueFaults: faults and recording reach the issue endpoints like the
// others: a create stored then answered 502 leaves the issue behind.
func TestIssueFaults(t *testing.T) {
	g := NewGitea(t, Options{Spec: specs.Gitea(t)})
	g.AddToken("tok", Token{Login: "bot"})
	g.AddRepo("acme", "app")
	issues := g.URL() + "/api/v1/repos/acme/app/issues"
	g.SetFault(Fault{Kind: FaultStoreThen502, Method: "POST", PathContains: "/issues", Times: 1})
	g.SetFault(Fault{Kind: FaultStatus, Status: 503, Method: "GET", PathContains: "/issues", Times: 1})
	resp, _ := do(t, "POST", issues, "", `{"title":"once"}`, "Authorization", "token tok")
	if resp.StatusCode != 502 || len(g.Issues("acme", "app")) != 1 {
		t.Errorf("store-then-502: %d, issues %+v", resp.StatusCode, g.Issues("acme", "app"))
	}
	var codes []int
	for range 2 {
		resp, _ := do(t, "GET", issues+"?state=all", "", "", "Authorization", "token tok")
		codes = append(codes, resp.StatusCode)
	}
	if diff := cmp.Diff([]int{503, 200}, codes); diff != "" {
		t.Errorf("5xx on the list (-want +got):\n%s", diff)
	}
	reqs := g.Requests()
	if len(reqs) != 3 || reqs[0].Method != "POST" || string(reqs[0].Body) != `{"title":"once"}` || reqs[0].Status != 502 {
		t.Errorf("recorded requests = %+v", reqs)
	}
}
