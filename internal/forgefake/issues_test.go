package forgefake

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
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

func TestGitHubIssues(t *testing.T) {
	g := NewGitHub(t, Options{Spec: specs.GitHub(t)})
	g.AddToken("tok", Token{Login: "bot"})
	g.AddToken("ro", Token{Login: "fork", ReadOnly: true})
	g.AddRepo("acme", "app")
	human := g.AddIssue("acme", "app", "alice", "Human", "by hand")
	if human != 1000 {
		t.Fatalf("first issue number = %d, want 1000", human)
	}
	base := g.URL() + "/repos/acme/app"

	// create
	resp, b := do(t, "POST", base+"/issues", "tok", `{"title":"Drift of web","body":"port 3000","labels":["tinyforge",{"name":"drift"}]}`)
	wantStatus(t, "create", resp, b, 201)
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
		resp, b := do(t, "POST", base+"/issues", "tok", fmt.Sprintf(`{"title":%d,"labels":["TinyForge"]}`, i))
		wantStatus(t, "create more", resp, b, 201)
	}

	// list: filters and pages
	list := func(query string) ([]apiIssue, *http.Response) {
		t.Helper()
		resp, b := do(t, "GET", base+"/issues"+query, "tok", "")
		wantStatus(t, "list "+query, resp, b, 200)
		var out []apiIssue
		decode(t, b, &out)
		return out, resp
	}
	tests := []struct {
		query string
		want  []int
	}{
		{"", []int{1005, 1004, 1003, 1002, 1001, 1000}},
		{"?creator=BOT&direction=asc", []int{1001, 1002, 1003, 1004, 1005}},
		{"?creator=alice", []int{1000}},
		{"?labels=tinyforge,drift", []int{1001}},
		{"?state=closed", []int{}},
	}
	for _, tt := range tests {
		got, _ := list(tt.query)
		if diff := cmp.Diff(tt.want, numbers(got)); diff != "" {
			t.Errorf("list %q (-want +got):\n%s", tt.query, diff)
		}
	}
	var paged []int
	for page := 1; page <= 10; page++ {
		got, resp := list(fmt.Sprintf("?creator=bot&sort=created&direction=asc&per_page=2&page=%d", page))
		paged = append(paged, numbers(got)...)
		if !strings.Contains(resp.Header.Get("Link"), `rel="next"`) {
			if page != 3 {
				t.Errorf("page %d is the last (Link %q), want 3", page, resp.Header.Get("Link"))
			}
			break
		}
	}
	if diff := cmp.Diff([]int{1001, 1002, 1003, 1004, 1005}, paged); diff != "" {
		t.Errorf("pages (-want +got):\n%s", diff)
	}

	// edit the body, close, reopen
	issue := fmt.Sprintf("%s/issues/%d", base, n)
	resp, b = do(t, "PATCH", issue, "tok", `{"body":"port 9090"}`)
	wantStatus(t, "edit", resp, b, 200)
	if is := issueByNumber(t, g.Issues("acme", "app"), n); is.Body != "port 9090" || is.Title != "Drift of web" || !is.Open {
		t.Errorf("after the edit: %+v", is)
	}
	resp, b = do(t, "PATCH", issue, "tok", `{"state":"closed","state_reason":"not_planned"}`)
	wantStatus(t, "close", resp, b, 200)
	var closed apiIssue
	decode(t, b, &closed)
	if closed.State != "closed" || closed.ClosedAt == nil || closed.StateReason == nil || *closed.StateReason != "not_planned" {
		t.Errorf("closed: %+v", closed)
	}
	if is := issueByNumber(t, g.Issues("acme", "app"), n); is.Open || is.StateReason != "not_planned" {
		t.Errorf("after closing: %+v", is)
	}
	if got, _ := list("?state=closed"); !cmp.Equal([]int{n}, numbers(got)) {
		t.Errorf("closed list: %v", numbers(got))
	}
	if got, _ := list("?creator=bot"); len(got) != 4 {
		t.Errorf("open list of bot: %v", numbers(got))
	}
	resp, b = do(t, "PATCH", issue, "tok", `{"state":"open","title":"Drift of web, again"}`)
	wantStatus(t, "reopen", resp, b, 200)
	if is := issueByNumber(t, g.Issues("acme", "app"), n); !is.Open || is.StateReason != "reopened" || is.Title != "Drift of web, again" {
		t.Errorf("after reopening: %+v", is)
	}
	resp, b = do(t, "PATCH", issue, "tok", `{"labels":[]}`)
	wantStatus(t, "clear labels", resp, b, 200)
	if is := issueByNumber(t, g.Issues("acme", "app"), n); len(is.Labels) != 0 {
		t.Errorf("labels after clearing: %v", is.Labels)
	}

	// comment
	resp, b = do(t, "POST", issue+"/comments", "tok", `{"body":"closing note"}`)
	wantStatus(t, "comment", resp, b, 201)
	if !strings.Contains(b, fmt.Sprintf("/acme/app/issues/%d#issuecomment-", n)) {
		t.Errorf("an issue comment's html_url is not the issue's: %s", b)
	}
	if cs := g.Comments("acme", "app", n); len(cs) != 1 || cs[0].Body != "closing note" || cs[0].Author != "bot" {
		t.Errorf("comments: %+v", cs)
	}
	resp, b = do(t, "GET", issue+"/comments", "tok", "")
	wantStatus(t, "list comments", resp, b, 200)
	if !strings.Contains(b, "closing note") {
		t.Errorf("comment list: %s", b)
	}
	resp, b = do(t, "GET", issue, "tok", "")
	wantStatus(t, "get", resp, b, 200)
	var got apiIssue
	decode(t, b, &got)
	if got.Comments == nil || *got.Comments != 1 {
		t.Errorf("comments count: %s", b)
	}

	// refusals
	before := len(g.Issues("acme", "app"))
	for _, tt := range []struct {
		name, method, path, token, body string
		want                            int
	}{
		{"read-only create", "POST", "/issues", "ro", `{"title":"x"}`, 403},
		{"read-only edit", "PATCH", fmt.Sprintf("/issues/%d", n), "ro", `{"state":"closed"}`, 403},
		{"unknown issue", "PATCH", "/issues/999", "tok", `{"body":"x"}`, 404},
		{"unknown issue get", "GET", "/issues/4242", "tok", "", 404},
		{"title over 256", "POST", "/issues", "tok", fmt.Sprintf(`{"title":%q}`, strings.Repeat("t", 257)), 422},
		{"body over 65536", "POST", "/issues", "tok", fmt.Sprintf(`{"title":"t","body":%q}`, strings.Repeat("b", 65537)), 422},
		{"no token", "GET", "/issues", "", "", 401},
	} {
		resp, b := do(t, tt.method, base+tt.path, tt.token, tt.body)
		if resp.StatusCode != tt.want {
			t.Errorf("%s: %d %s, want %d", tt.name, resp.StatusCode, b, tt.want)
		}
	}
	if after := len(g.Issues("acme", "app")); after != before {
		t.Errorf("refused requests changed the issues: %d -> %d", before, after)
	}
	if is := issueByNumber(t, g.Issues("acme", "app"), human); !is.Open || is.Body != "by hand" || is.Author != "alice" {
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
	base := g.URL() + "/api/v1/repos/acme/app"
	auth := []string{"Authorization", "token tok"}

	// labels map names to ids
	resp, b := do(t, "GET", base+"/labels?page=1&limit=50", "", "", auth...)
	wantStatus(t, "labels", resp, b, 200)
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
	resp, b = do(t, "POST", base+"/issues", "", fmt.Sprintf(`{"title":"Drift of web","body":"port 3000","labels":[%d,%d,987654]}`, tf, drift), auth...)
	wantStatus(t, "create", resp, b, 201)
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
		resp, b := do(t, "POST", base+"/issues", "", fmt.Sprintf(`{"title":"more %d"}`, i), auth...)
		wantStatus(t, "create more", resp, b, 201)
	}

	// list: filters and pages
	list := func(query string) ([]apiIssue, *http.Response) {
		t.Helper()
		resp, b := do(t, "GET", base+"/issues"+query, "", "", auth...)
		wantStatus(t, "list "+query, resp, b, 200)
		var out []apiIssue
		decode(t, b, &out)
		return out, resp
	}
	tests := []struct {
		query string
		want  []int
	}{
		{"", []int{1005, 1004, 1003, 1002, 1001, 1000}},
		{"?state=all&type=issues&created_by=BOT", []int{1005, 1004, 1003, 1002, 1001}},
		{"?created_by=alice", []int{1000}},
		{"?labels=tinyforge,drift", []int{1001}},
		{"?labels=no-such-label", []int{1005, 1004, 1003, 1002, 1001, 1000}},
		{"?type=pulls", []int{}},
		{"?state=closed", []int{}},
	}
	for _, tt := range tests {
		got, _ := list(tt.query)
		if diff := cmp.Diff(tt.want, numbers(got)); diff != "" {
			t.Errorf("list %q (-want +got):\n%s", tt.query, diff)
		}
	}
	var paged []int
	for page := 1; page <= 10; page++ {
		got, resp := list(fmt.Sprintf("?state=all&type=issues&created_by=bot&limit=2&page=%d", page))
		paged = append(paged, numbers(got)...)
		if resp.Header.Get("X-Total-Count") != "5" {
			t.Errorf("page %d: X-Total-Count %q", page, resp.Header.Get("X-Total-Count"))
		}
		if !strings.Contains(resp.Header.Get("Link"), `rel="next"`) {
			if page != 3 {
				t.Errorf("page %d is the last (Link %q), want 3", page, resp.Header.Get("Link"))
			}
			break
		}
	}
	if diff := cmp.Diff([]int{1005, 1004, 1003, 1002, 1001}, paged); diff != "" {
		t.Errorf("pages (-want +got):\n%s", diff)
	}
	if got, _ := list("?limit=500"); len(got) != 6 {
		t.Errorf("limit 500: %d issues", len(got))
	}
	resp, b = do(t, "GET", base+"/issues?created_by=nobody-ever", "", "", auth...)
	wantStatus(t, "unknown created_by", resp, b, 404)

	// edit the body, close, reopen: Gitea answers 201
	issue := fmt.Sprintf("%s/issues/%d", base, n)
	resp, b = do(t, "PATCH", issue, "", `{"body":"port 9090"}`, auth...)
	wantStatus(t, "edit", resp, b, 201)
	if is := issueByNumber(t, g.Issues("acme", "app"), n); is.Body != "port 9090" || is.Title != "Drift of web" || !is.Open {
		t.Errorf("after the edit: %+v", is)
	}
	resp, b = do(t, "PATCH", issue, "", `{"state":"closed"}`, auth...)
	wantStatus(t, "close", resp, b, 201)
	var closed apiIssue
	decode(t, b, &closed)
	if closed.State != "closed" || closed.ClosedAt == nil {
		t.Errorf("closed: %s", b)
	}
	if is := issueByNumber(t, g.Issues("acme", "app"), n); is.Open || is.StateReason != "" {
		t.Errorf("after closing: %+v", is)
	}
	if got, _ := list("?state=closed"); !cmp.Equal([]int{n}, numbers(got)) {
		t.Errorf("closed list: %v", numbers(got))
	}
	resp, b = do(t, "PATCH", issue, "", `{"state":"open","title":"Drift of web, again"}`, auth...)
	wantStatus(t, "reopen", resp, b, 201)
	if is := issueByNumber(t, g.Issues("acme", "app"), n); !is.Open || is.Title != "Drift of web, again" {
		t.Errorf("after reopening: %+v", is)
	}
	resp, b = do(t, "PATCH", issue, "", `{"state":"merged"}`, auth...)
	wantStatus(t, "unknown state", resp, b, 412)

	// comment
	resp, b = do(t, "POST", issue+"/comments", "", `{"body":"closing note"}`, auth...)
	wantStatus(t, "comment", resp, b, 201)
	var cm struct {
		HTMLURL, IssueURL, PullRequestURL string
	}
	var raw map[string]any
	decode(t, b, &raw)
	cm.HTMLURL, cm.IssueURL, cm.PullRequestURL = raw["html_url"].(string), raw["issue_url"].(string), raw["pull_request_url"].(string)
	if !strings.Contains(cm.HTMLURL, fmt.Sprintf("/issues/%d#issuecomment-", n)) || cm.IssueURL == "" || cm.PullRequestURL != "" {
		t.Errorf("an issue comment: %s", b)
	}
	if cs := g.Comments("acme", "app", n); len(cs) != 1 || cs[0].Body != "closing note" {
		t.Errorf("comments: %+v", cs)
	}
	resp, b = do(t, "GET", issue+"/comments", "", "", auth...)
	if resp.StatusCode != 200 || !strings.Contains(b, "closing note") {
		t.Errorf("comment list: %d %s", resp.StatusCode, b)
	}

	// refusals
	before := len(g.Issues("acme", "app"))
	ro := []string{"Authorization", "token ro"}
	for _, tt := range []struct {
		name, method, path, body string
		hdr                      []string
		want                     int
	}{
		{"read-only create", "POST", "/issues", `{"title":"x"}`, ro, 403},
		{"read-only edit", "PATCH", fmt.Sprintf("/issues/%d", n), `{"state":"closed"}`, ro, 403},
		{"unknown issue", "PATCH", "/issues/999", `{"body":"x"}`, auth, 404},
		{"empty title", "POST", "/issues", `{"title":"","body":"x"}`, auth, 422},
	} {
		resp, b := do(t, tt.method, base+tt.path, "", tt.body, tt.hdr...)
		if resp.StatusCode != tt.want {
			t.Errorf("%s: %d %s, want %d", tt.name, resp.StatusCode, b, tt.want)
		}
	}
	if after := len(g.Issues("acme", "app")); after != before {
		t.Errorf("refused requests changed the issues: %d -> %d", before, after)
	}
	if is := issueByNumber(t, g.Issues("acme", "app"), n); !is.Open {
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
	base := g.URL() + "/api/v4/projects/" + url.PathEscape("group/sub/app")
	auth := []string{"PRIVATE-TOKEN", "tok"}

	// create, JSON and form bodies alike
	resp, b := do(t, "POST", base+"/issues", "", `{"title":"Drift of web","description":"port 3000","labels":"tinyforge,drift"}`, auth...)
	wantStatus(t, "create", resp, b, 201)
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
		resp, b := do(t, "POST", base+"/issues", "", "", append([]string{"Content-Type", "application/x-www-form-urlencoded"}, auth...)...)
		wantStatus(t, "create without title", resp, b, 400)
		req, _ := http.NewRequest("POST", base+"/issues", strings.NewReader(url.Values{"title": {fmt.Sprintf("more %d", i)}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("PRIVATE-TOKEN", "tok")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 201 {
			t.Fatalf("form create: %d", res.StatusCode)
		}
	}

	// list: filters and pages
	list := func(query string) ([]apiIssue, *http.Response) {
		t.Helper()
		resp, b := do(t, "GET", base+"/issues"+query, "", "", auth...)
		wantStatus(t, "list "+query, resp, b, 200)
		var out []apiIssue
		decode(t, b, &out)
		return out, resp
	}
	tests := []struct {
		query string
		want  []int
	}{
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
	}
	for _, tt := range tests {
		got, _ := list(tt.query)
		if diff := cmp.Diff(tt.want, numbers(got)); diff != "" {
			t.Errorf("list %q (-want +got):\n%s", tt.query, diff)
		}
	}
	if resp, b := do(t, "GET", base+"/issues?scope=mine", "", "", auth...); resp.StatusCode != 400 || !strings.Contains(string(b), "scope does not have a valid value") {
		t.Errorf("unknown scope: %d %s, want 400", resp.StatusCode, b)
	}
	var paged []int
	for page := 1; page <= 10; page++ {
		got, resp := list(fmt.Sprintf("?author_username=bot&per_page=2&order_by=created_at&sort=asc&page=%d", page))
		paged = append(paged, numbers(got)...)
		h := resp.Header
		if h.Get("X-Total") != "5" || h.Get("X-Total-Pages") != "3" || h.Get("X-Page") != fmt.Sprint(page) {
			t.Errorf("page %d headers: %v", page, h)
		}
		if h.Get("X-Next-Page") == "" {
			if page != 3 {
				t.Errorf("page %d is the last, want 3", page)
			}
			break
		}
	}
	if diff := cmp.Diff([]int{1001, 1002, 1003, 1004, 1005}, paged); diff != "" {
		t.Errorf("pages (-want +got):\n%s", diff)
	}
	resp, b = do(t, "GET", base+"/issues?state=open", "", "", auth...)
	wantStatus(t, "GitHub's state name", resp, b, 400)

	// edit the description, close, reopen
	issue := fmt.Sprintf("%s/issues/%d", base, n)
	resp, b = do(t, "PUT", issue, "", `{"description":"port 9090"}`, auth...)
	wantStatus(t, "edit", resp, b, 200)
	if is := issueByNumber(t, g.Issues("group/sub", "app"), n); is.Body != "port 9090" || is.Title != "Drift of web" || !is.Open {
		t.Errorf("after the edit: %+v", is)
	}
	resp, b = do(t, "PUT", issue, "", `{"state_event":"close"}`, auth...)
	wantStatus(t, "close", resp, b, 200)
	var closed apiIssue
	decode(t, b, &closed)
	if closed.State != "closed" || closed.ClosedAt == nil {
		t.Errorf("closed: %s", b)
	}
	if is := issueByNumber(t, g.Issues("group/sub", "app"), n); is.Open {
		t.Errorf("after closing: %+v", is)
	}
	if got, _ := list("?state=closed"); !cmp.Equal([]int{n}, numbers(got)) {
		t.Errorf("closed list: %v", numbers(got))
	}
	resp, b = do(t, "PUT", issue, "", `{"state_event":"reopen","title":"Drift of web, again","labels":""}`, auth...)
	wantStatus(t, "reopen", resp, b, 200)
	if is := issueByNumber(t, g.Issues("group/sub", "app"), n); !is.Open || is.Title != "Drift of web, again" || len(is.Labels) != 0 {
		t.Errorf("after reopening: %+v", is)
	}

	// notes
	resp, b = do(t, "POST", issue+"/notes", "", `{"body":"closing note"}`, auth...)
	wantStatus(t, "note", resp, b, 201)
	if !strings.Contains(b, `"noteable_type":"Issue"`) || !strings.Contains(b, fmt.Sprintf(`"noteable_iid":%d`, n)) {
		t.Errorf("an issue note: %s", b)
	}
	if cs := g.Comments("group/sub", "app", n); len(cs) != 1 || cs[0].Body != "closing note" {
		t.Errorf("notes: %+v", cs)
	}
	resp, b = do(t, "GET", issue+"/notes?sort=asc", "", "", auth...)
	if resp.StatusCode != 200 || !strings.Contains(b, "closing note") || resp.Header.Get("X-Total") != "1" {
		t.Errorf("note list: %d %s", resp.StatusCode, b)
	}
	resp, b = do(t, "GET", issue, "", "", auth...)
	wantStatus(t, "get", resp, b, 200)
	var got apiIssue
	decode(t, b, &got)
	if got.Notes == nil || *got.Notes != 1 {
		t.Errorf("user_notes_count: %s", b)
	}

	// refusals
	before := len(g.Issues("group/sub", "app"))
	ro := []string{"PRIVATE-TOKEN", "ro"}
	for _, tt := range []struct {
		name, method, path, body string
		hdr                      []string
		want                     int
	}{
		{"read-only create", "POST", "/issues", `{"title":"x"}`, ro, 403},
		{"read-only edit", "PUT", fmt.Sprintf("/issues/%d", n), `{"state_event":"close"}`, ro, 403},
		{"read-only note", "POST", fmt.Sprintf("/issues/%d/notes", n), `{"body":"x"}`, ro, 403},
		{"unknown issue", "PUT", "/issues/999", `{"description":"x"}`, auth, 404},
		{"note on an unknown issue", "POST", "/issues/999/notes", `{"body":"x"}`, auth, 404},
		{"bad state_event", "PUT", fmt.Sprintf("/issues/%d", n), `{"state_event":"closed"}`, auth, 400},
	} {
		resp, b := do(t, tt.method, base+tt.path, "", tt.body, tt.hdr...)
		if resp.StatusCode != tt.want {
			t.Errorf("%s: %d %s, want %d", tt.name, resp.StatusCode, b, tt.want)
		}
	}
	if after := len(g.Issues("group/sub", "app")); after != before {
		t.Errorf("refused requests changed the issues: %d -> %d", before, after)
	}
	if is := issueByNumber(t, g.Issues("group/sub", "app"), n); !is.Open || len(g.Comments("group/sub", "app", n)) != 1 {
		t.Errorf("a read-only token changed the issue: %+v", is)
	}
}

// try sends a request from any goroutine: its status (0 on a transport
// error) and body.
func try(method, u, body string, hdr []string) (int, string) {
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		return 0, err.Error()
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
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
