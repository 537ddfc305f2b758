package main

import (
	"bytes"
	"context"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// demoOutput is what the demo printed, read while it runs.
type demoOutput struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (o *demoOutput) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.Write(p)
}

func (o *demoOutput) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

// demoReady ends the last line the demo prints before it waits for Ctrl-C.
const demoReady = "again: it reads in sync."

// waitForOutput waits until out holds want, or fails the test after 60 s or when the demo exits.
func waitForOutput(t *testing.T, out fmt.Stringer, done <-chan int, want string) {
	t.Helper()
	deadline := time.After(60 * time.Second)
	for !strings.Contains(out.String(), want) {
		select {
		case code := <-done:
			t.Fatalf("demo exited %d before printing %q:\n%s", code, want, out)
		case <-deadline:
			t.Fatalf("demo did not print %q within 60 s:\n%s", want, out)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// TestDemo walks the demo as a newcomer would: the printed URLs and token work, the panel lists
// the five workloads in their states, the PR page shows the check's comment, whose link says the
// PR is not merged (with the preview, Sync off); the Merge button merges it and the comment then
// says ready to Sync, its link leads to a Sync, and the check run again reads in sync and says
// so on the PR. Stopping leaves no file behind.
func TestDemo(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	out, errb := &demoOutput{}, &demoOutput{}
	a := &app{stdout: out, stderr: errb, getenv: func(string) string { return "" }}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	go func() { done <- a.run(ctx, []string{"demo", "--addr", "127.0.0.1:0"}) }()
	waitForOutput(t, out, done, demoReady)
	printed := out.String()

	panelURL := submatch(t, printed, `(?m)^panel: (http://\S+)/apps$`)
	prURL := submatch(t, printed, `(?m)^pull request: (http://\S+/demo)$`)
	token := submatch(t, printed, `(?m)^token: (tfk_\S+)$`)
	if entries, _ := filepath.Glob(filepath.Join(tmp, "tinyforge-demo-*")); len(entries) != 1 {
		t.Errorf("while running, TMPDIR holds %v, want one tinyforge-demo-* folder", entries)
	}

	c := newBrowser(t)
	signIn(t, c, panelURL, token)

	// The list shows every state, each row marked for machines as for people.
	list := get(t, c, panelURL+"/apps")
	rowRE := regexp.MustCompile(`(?s)<tr data-id="(\d+)">.*?<a href="/apps/\d+">([^<]+)</a>.*?data-status="([a-z_]+)"`)
	states := map[string]string{}
	ids := map[string]string{}
	for _, m := range rowRE.FindAllStringSubmatch(list, -1) {
		states[m[2]], ids[m[2]] = m[3], m[1]
	}
	want := map[string]string{"web": "in_sync", "api": "in_sync", "worker": "invalid", "docs": "no_file", "legacy": "disabled"}
	if diff := cmp.Diff(want, states); diff != "" {
		t.Errorf("list states (-want +got):\n%s\n%s", diff, list)
	}

	// The PR page shows the check's comment: drift, with a link pinned to the reviewed file.
	page := get(t, c, prURL)
	if v := submatch(t, page, `data-verdict="([a-z_]+)"`); v != "drift" {
		t.Fatalf("first check verdict %q, want drift", v)
	}
	link := html.UnescapeString(submatch(t, page, `<a href="(http://[^"]+#gitops)">Review and Sync in Tinyforge</a>`))
	if !strings.HasPrefix(link, panelURL+"/apps/"+ids["api"]+"?file=") || !strings.HasSuffix(link, "&pr=1#gitops") {
		t.Fatalf("comment link %q does not lead to workload api (%s) pinned to a file of PR 1", link, ids["api"])
	}

	// Before the merge the link says so, previews the change, and Sync is off.
	wp := get(t, c, link)
	for _, want := range []string{"PR #1 proposes this file; it is not on main yet. Once it is merged, Sync applies it.",
		`<td class="from">3000</td><td class="to">8080</td>`, "Disabled: Sync applies the branch; merge PR #1 first."} {
		if !strings.Contains(html.UnescapeString(wp), want) {
			t.Errorf("before the merge, the link's page lacks %q:\n%s", want, wp)
		}
	}
	if strings.Contains(wp, `data-dialog="sync-dialog"`) {
		t.Errorf("before the merge, Sync is offered")
	}

	// Merge: the check runs on main and the PR's comment says ready to Sync, pinned to the merge.
	origin := strings.TrimSuffix(prURL, "/demo")
	page = post(t, c, prURL+"/merge", url.Values{}, origin)
	mergeSHA := submatch(t, page, `id="merged"[^>]*>Merged into main in <code>([0-9a-f]{40})</code>`)
	if !strings.Contains(page, "Merged in "+mergeSHA[:7]+" — ready to Sync") {
		t.Errorf("after the merge the comment does not say ready to Sync:\n%s", page)
	}
	link = html.UnescapeString(submatch(t, page, `<a href="(http://[^"]+#gitops)">Review and Sync in Tinyforge</a>`))
	if !strings.HasSuffix(link, "&commit="+mergeSHA+"#gitops") {
		t.Errorf("after the merge the link %q is not pinned to the merge commit %s", link, mergeSHA)
	}

	// Follow it, open the confirmation and Sync.
	wp = get(t, c, link)
	confirm := html.UnescapeString(submatch(t, wp, `id="sync-open" href="([^"]+)"`))
	form := get(t, c, panelURL+confirm)
	fields := url.Values{}
	for _, m := range regexp.MustCompile(`<input type="hidden" name="([a-z_]+)" value="([^"]*)">`).FindAllStringSubmatch(form[strings.Index(form, `id="sync-form"`):], -1) {
		fields.Set(m[1], html.UnescapeString(m[2]))
	}
	synced := post(t, c, panelURL+"/apps/"+ids["api"]+"/sync", fields, "")
	if !strings.Contains(synced, "8080") {
		t.Errorf("the page after Sync does not show the applied port:\n%s", synced)
	}

	// Run the check again, as the page's button does: in sync now, and the PR says so.
	again := post(t, c, prURL+"/check", url.Values{}, origin)
	if v := submatch(t, again, `data-verdict="([a-z_]+)"`); v != "in_sync" {
		t.Errorf("after Sync the check says %q, want in_sync:\n%s", v, again)
	}
	if v := submatch(t, again, `data-state="([a-z]+)"`); v != "success" {
		t.Errorf("after Sync the commit status is %q, want success", v)
	}
	if !strings.Contains(again, "Merged in "+mergeSHA[:7]+" — live matches it: nothing to Sync") {
		t.Errorf("after Sync the PR's comment does not say live matches:\n%s", again)
	}
	// A form of another origin may not run the check or merge.
	for _, path := range []string{"/check", "/merge"} {
		req, _ := http.NewRequest(http.MethodPost, prURL+path, nil)
		req.Header.Set("Origin", "http://evil.example")
		if resp, err := c.Do(req); err != nil {
			t.Error(err)
		} else {
			resp.Body.Close()
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("cross-origin POST /demo%s = %d, want 403", path, resp.StatusCode)
			}
		}
	}

	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("demo exited %d, want 0; stderr:\n%s", code, errb)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("demo did not stop within 5 s of cancel")
	}
	if entries, _ := os.ReadDir(tmp); len(entries) != 0 {
		t.Errorf("the demo left %v in TMPDIR", entries)
	}
	if s := out.String() + errb.String(); strings.Contains(s, "tinyforge-bot") && strings.Contains(s, "forge token") {
		t.Errorf("output mentions the forge token:\n%s", s)
	}
}

func submatch(t *testing.T, s, re string) string {
	t.Helper()
	m := regexp.MustCompile(re).FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("no match for %s in:\n%s", re, s)
	}
	return m[1]
}

// newBrowser is an HTTP client with cookies, like a browser without JavaScript.
func newBrowser(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, Timeout: 30 * time.Second}
}

func signIn(t *testing.T, c *http.Client, base, token string) {
	t.Helper()
	login := get(t, c, base+"/login")
	csrf := submatch(t, login, `name="csrf" value="([^"]+)"`)
	page := post(t, c, base+"/login", url.Values{"csrf": {csrf}, "token": {token}, "next": {"/apps"}}, "")
	if !strings.Contains(page, `id="workloads"`) {
		t.Fatalf("signing in with the printed token did not reach the list:\n%s", page)
	}
}

func get(t *testing.T, c *http.Client, u string) string {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	return readOK(t, resp)
}

// post sends a form (with an Origin header when origin is set) and returns the page it ends on.
func post(t *testing.T, c *http.Client, u string, form url.Values, origin string) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return readOK(t, resp)
}

func readOK(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s = %d:\n%s", resp.Request.Method, resp.Request.URL, resp.StatusCode, b)
	}
	return string(b)
}
