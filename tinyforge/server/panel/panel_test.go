package panel

import (
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tinyforge/tinyforge-check/gitops"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// env is one panel over a fake backend, served on loopback.
type env struct {
	t     *testing.T
	srv   *httptest.Server
	fake  *fakeBackend
	clock *clock
}

// setup serves a panel over a fresh fake backend; opts adjust its Config.
func setup(t *testing.T, opts ...func(*Config)) *env {
	t.Helper()
	fake := newFakeBackend()
	clk := &clock{t: time.Date(2026, 11, 28, 1, 0, 0, 0, time.UTC)}
	cfg := Config{Backend: fake, Now: clk.Now}
	for _, o := range opts {
		o(&cfg)
	}
	srv := httptest.NewServer(New(cfg))
	t.Cleanup(srv.Close)
	return &env{t: t, srv: srv, fake: fake, clock: clk}
}

// browser is a cookie-keeping client that does not follow redirects.
type browser struct {
	e    *env
	c    *http.Client
	lang string
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{e: e, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// response is what a test looks at.
type response struct {
	status   int
	location string
	body     string
	header   http.Header
}

func (b *browser) do(method, path string, form url.Values, headers ...string) response {
	b.e.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.e.srv.URL+path, body)
	if err != nil {
		b.e.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if b.lang != "" {
		req.Header.Set("Accept-Language", b.lang)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := b.c.Do(req)
	if err != nil {
		b.e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	return response{status: res.StatusCode, location: res.Header.Get("Location"), body: string(data), header: res.Header}
}

func (b *browser) get(path string) response { b.e.t.Helper(); return b.do(http.MethodGet, path, nil) }

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrfOf returns the CSRF token in a page's forms.
func csrfOf(t *testing.T, body string) string {
	t.Helper()
	m := csrfRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no csrf field in page:\n%s", body)
	}
	return m[1]
}

// signIn signs in with token and returns the session's CSRF token.
func (b *browser) signIn(token string) string {
	t := b.e.t
	t.Helper()
	page := b.get("/login")
	res := b.do(http.MethodPost, "/login", url.Values{"token": {token}, "csrf": {csrfOf(t, page.body)}, "next": {"/apps"}})
	if res.status != http.StatusSeeOther || res.location != "/apps" {
		t.Fatalf("sign in: got %d %q, want 303 /apps\n%s", res.status, res.location, res.body)
	}
	return csrfOf(t, b.get("/apps").body)
}

func has(body, s string) bool { return strings.Contains(body, s) }

func TestSignInCookieAttributes(t *testing.T) {
	tests := []struct {
		name       string
		secure     bool
		wantCookie string
	}{
		{"plain http", false, "tf_session"},
		{"tls", true, "__Host-tf_session"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := setup(t, func(c *Config) { c.Secure = tt.secure })
			b := e.browser()
			page := b.get("/login")
			res := b.do(http.MethodPost, "/login", url.Values{"token": {adminToken}, "csrf": {csrfOf(t, page.body)}, "next": {"/apps/1?file=abc&commit=def"}},
				"Cookie", loginCookieHeader(page, tt.secure))
			if res.status != http.StatusSeeOther {
				t.Fatalf("status %d, want 303:\n%s", res.status, res.body)
			}
			if diff := cmp.Diff("/apps/1?file=abc&commit=def#gitops", res.location); diff != "" {
				t.Errorf("redirect (-want +got):\n%s", diff)
			}
			var got *http.Cookie
			for _, c := range (&http.Response{Header: res.header}).Cookies() {
				if c.Name == tt.wantCookie && c.Value != "" {
					got = c
				}
			}
			if got == nil {
				t.Fatalf("no %s cookie in %q", tt.wantCookie, res.header.Values("Set-Cookie"))
			}
			type attrs struct {
				Path     string
				HttpOnly bool
				Secure   bool
				SameSite http.SameSite
				MaxAge   int
			}
			want := attrs{Path: "/", HttpOnly: true, Secure: tt.secure, SameSite: http.SameSiteLaxMode, MaxAge: 8 * 3600}
			if diff := cmp.Diff(want, attrs{got.Path, got.HttpOnly, got.Secure, got.SameSite, got.MaxAge}); diff != "" {
				t.Errorf("session cookie (-want +got):\n%s", diff)
			}
			if strings.Contains(strings.Join(res.header.Values("Set-Cookie"), ";"), adminToken) {
				t.Errorf("a cookie holds the API token")
			}
		})
	}
}

// loginCookieHeader replays the login-CSRF cookie by hand: the jar does not send Secure
// cookies over plain http.
func loginCookieHeader(page response, secure bool) string {
	for _, c := range (&http.Response{Header: page.header}).Cookies() {
		if c.Name == "tf_login" || c.Name == "__Host-tf_login" {
			_ = secure
			return c.Name + "=" + c.Value
		}
	}
	return ""
}

func TestSignInRefusals(t *testing.T) {
	e := setup(t)
	tests := []struct {
		name       string
		form       func(csrf string) url.Values
		wantStatus int
		wantText   string
	}{
		{"no login csrf", func(string) url.Values { return url.Values{"token": {adminToken}} }, http.StatusForbidden, "The form expired"},
		{"wrong login csrf", func(string) url.Values { return url.Values{"token": {adminToken}, "csrf": {"forged"}} }, http.StatusForbidden, "The form expired"},
		{"empty token", func(c string) url.Values { return url.Values{"token": {" "}, "csrf": {c}} }, http.StatusBadRequest, "Paste an API token"},
		{"unknown token", func(c string) url.Values { return url.Values{"token": {"tfk_nope"}, "csrf": {c}} }, http.StatusUnauthorized, "unknown or revoked"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := e.browser()
			page := b.get("/login")
			res := b.do(http.MethodPost, "/login", tt.form(csrfOf(t, page.body)))
			if res.status != tt.wantStatus || !has(res.body, tt.wantText) {
				t.Errorf("got %d, want %d with %q:\n%s", res.status, tt.wantStatus, tt.wantText, res.body)
			}
			if has(res.header.Get("Set-Cookie"), "tf_session=") && !has(res.header.Get("Set-Cookie"), "tf_session=;") {
				t.Errorf("a refused sign-in set a session cookie: %q", res.header.Values("Set-Cookie"))
			}
		})
	}
}

func TestOpenRedirectRefused(t *testing.T) {
	tests := []struct{ next, want string }{
		{"/apps/1?file=ab", "/apps/1?file=ab#gitops"},
		{"/apps", "/apps"},
		{"/apps/1/edit", "/apps/1/edit"},
		{"", "/apps"},
		{"https://evil.example/", "/apps"},
		{"//evil.example/x", "/apps"},
		{"/\\evil.example", "/apps"},
		{"\\\\evil.example", "/apps"},
		{"javascript:alert(1)", "/apps"},
		{"/%0d%0aSet-Cookie:x", "/%0d%0aSet-Cookie:x"},
		{"/apps\r\nX: y", "/apps"},
		{"apps", "/apps"},
		{"/\t/evil.example", "/apps"},
	}
	e := setup(t)
	for _, tt := range tests {
		t.Run(tt.next, func(t *testing.T) {
			b := e.browser()
			page := b.get("/login?next=" + url.QueryEscape(tt.next))
			res := b.do(http.MethodPost, "/login", url.Values{"token": {viewerToken}, "csrf": {csrfOf(t, page.body)}, "next": {tt.next}})
			if diff := cmp.Diff(tt.want, res.location); diff != "" {
				t.Errorf("Location (-want +got):\n%s", diff)
			}
			lang := b.get("/lang/ru?next=" + url.QueryEscape(tt.next))
			if want := strings.TrimSuffix(tt.want, "#gitops"); lang.location != want {
				t.Errorf("language switch Location = %q, want %q", lang.location, want)
			}
		})
	}
}

// TestSignInRateLimit: failures are throttled per client address (the sixth wrong token in the
// window is answered 429 with Retry-After), but a valid token always signs in, even from an
// address that is throttled: behind a reverse proxy all users share one address (issue 14 F1).
// A success does not clear the address's failures.
func TestSignInRateLimit(t *testing.T) {
	e := setup(t)
	b := e.browser()
	try := func(token string) response {
		page := b.get("/login")
		return b.do(http.MethodPost, "/login", url.Values{"token": {token}, "csrf": {csrfOf(t, page.body)}})
	}
	var got []int
	for i := 0; i < 6; i++ {
		got = append(got, try(fmt.Sprintf("tfk_guess_%d", i)).status)
	}
	want := []int{401, 401, 401, 401, 401, 429}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("statuses of six wrong tokens (-want +got):\n%s", diff)
	}
	blocked := try("tfk_guess_again")
	if blocked.status != http.StatusTooManyRequests || blocked.header.Get("Retry-After") != "600" || !has(blocked.body, "Too many failed sign-ins from your address. Try again in 10 minutes.") {
		t.Errorf("a wrong token while throttled: %d, Retry-After %q\n%s", blocked.status, blocked.header.Get("Retry-After"), blocked.body)
	}
	if res := try(adminToken); res.status != http.StatusSeeOther {
		t.Errorf("a valid token from the throttled address: %d, want 303 (signed in)", res.status)
	}
	if res := try("tfk_guess_after_success"); res.status != http.StatusTooManyRequests {
		t.Errorf("a wrong token after a success: %d, want 429 (a success must not clear the failures)", res.status)
	}
	e.clock.Add(10*time.Minute + time.Second)
	if res := try("tfk_guess_later"); res.status != http.StatusUnauthorized {
		t.Errorf("a wrong token after the window: %d, want 401", res.status)
	}
}

func TestSessionExpiresAfterInactivity(t *testing.T) {
	e := setup(t)
	b := e.browser()
	b.signIn(viewerToken)
	e.clock.Add(7 * time.Hour)
	if res := b.get("/apps"); res.status != http.StatusOK {
		t.Fatalf("after 7 h: %d, want 200", res.status)
	}
	e.clock.Add(7 * time.Hour) // 7 h after the last request: still within the sliding 8 h
	if res := b.get("/apps"); res.status != http.StatusOK {
		t.Fatalf("7 h after the last request: %d, want 200", res.status)
	}
	e.clock.Add(8*time.Hour + time.Second)
	res := b.get("/apps/1?file=ab")
	if res.status != http.StatusSeeOther || res.location != "/login?next="+url.QueryEscape("/apps/1?file=ab") {
		t.Errorf("after 8 h idle: %d %q, want 303 to sign-in", res.status, res.location)
	}
}

func TestSignOut(t *testing.T) {
	e := setup(t)
	b := e.browser()
	csrf := b.signIn(adminToken)
	if res := b.do(http.MethodPost, "/logout", url.Values{"csrf": {"wrong"}}); res.status != http.StatusForbidden {
		t.Errorf("logout without the CSRF token: %d, want 403", res.status)
	}
	res := b.do(http.MethodPost, "/logout", url.Values{"csrf": {csrf}})
	if res.status != http.StatusSeeOther || res.location != "/login" {
		t.Fatalf("logout: %d %q", res.status, res.location)
	}
	if res := b.get("/apps"); res.status != http.StatusSeeOther {
		t.Errorf("after sign-out /apps: %d, want a redirect to sign-in", res.status)
	}
}

func TestUnauthenticated(t *testing.T) {
	e := setup(t)
	b := e.browser()
	for _, path := range []string{"/apps", "/apps/1", "/apps/1/edit", "/apps/1/sync"} {
		if res := b.get(path); res.status != http.StatusSeeOther || !strings.HasPrefix(res.location, "/login?next=") {
			t.Errorf("GET %s: %d %q, want 303 to sign-in", path, res.status, res.location)
		}
	}
	for _, path := range []string{"/apps/1/sync", "/apps/1/gitops", "/apps/1/edit", "/logout"} {
		if res := b.do(http.MethodPost, path, url.Values{"csrf": {"x"}}); res.status != http.StatusForbidden {
			t.Errorf("POST %s: %d, want 403", path, res.status)
		}
	}
	if calls := e.fake.Calls(); len(calls) != 0 {
		t.Errorf("backend called without a session: %q", calls)
	}
}

// TestWorkloadPageRolesAndStatuses renders every status for both roles and checks the pill, the
// message, the drift view, the preview and which controls each role gets.
func TestWorkloadPageRolesAndStatuses(t *testing.T) {
	e := setup(t)
	type want struct {
		status                                   string
		texts                                    []string
		drift, preview, diagnostics, syncEnabled bool
	}
	cases := []struct {
		id   int64
		want want
	}{
		{1, want{status: "ok", drift: true, preview: true, syncEnabled: true, texts: []string{`data-status="ok">File valid</span>`,
			`id="gitops-state" data-status="drift" data-drift="2">drift: 2 fields</span>`,
			"port compared by integer value: the string &#34;8080&#34; equals 8080", "/healthz", "2 fields differ from live; a Sync applies them.", headCommit, gitops.FileSHA([]byte(okRaw)),
		}}},
		{2, want{status: "disabled", texts: []string{"GitOps is off"}}},
		{3, want{status: "no_file", texts: []string{".tinyforge.yml does not exist at commit 1111111. Add it to the repo, or change the file path."}}},
		{4, want{status: "fetch_failed", texts: []string{"The file could not be fetched from the forge:", `id="gitops-detail">the forge answered 502 Bad Gateway; retry later</p>`}}},
		{5, want{status: "invalid", preview: true, diagnostics: true, texts: []string{"The file has 1 error; fix it and push.", "unknown-key", "prot"}}},
		{8, want{status: "ok", drift: true, preview: true, syncEnabled: true, texts: []string{`id="gitops-state" data-status="in_sync" data-drift="0">in sync</span>`, "Live matches the file."}}},
	}
	for _, role := range []string{RoleViewer, RoleAdmin} {
		b := e.browser()
		if role == RoleAdmin {
			b.signIn(adminToken)
		} else {
			b.signIn(viewerToken)
		}
		for _, c := range cases {
			t.Run(role+"/"+c.want.status, func(t *testing.T) {
				res := b.get(fmt.Sprintf("/apps/%d", c.id))
				if res.status != http.StatusOK {
					t.Fatalf("status %d:\n%s", res.status, res.body)
				}
				pill := fmt.Sprintf(`id="gitops-status" data-status="%s"`, c.want.status)
				if !has(res.body, pill) {
					t.Errorf("no pill %s", pill)
				}
				for _, s := range c.want.texts {
					if !has(res.body, s) {
						t.Errorf("page lacks %q", s)
					}
				}
				got := map[string]bool{
					"drift": has(res.body, `id="drift"`), "preview": has(res.body, `id="preview"`), "diagnostics": has(res.body, `id="diagnostics"`),
					"settings": has(res.body, `id="gitops-settings"`), "sync button": has(res.body, `id="sync-open"`),
					"sync enabled": has(res.body, `data-dialog="sync-dialog"`), "dialog": has(res.body, `<dialog id="sync-dialog"`),
					"edit link": has(res.body, `id="edit-link"`), "viewer note": has(res.body, `id="viewer-note"`),
				}
				admin := role == RoleAdmin
				wantMap := map[string]bool{
					"drift": c.want.drift, "preview": c.want.preview, "diagnostics": c.want.diagnostics,
					"settings": admin, "sync button": admin, "sync enabled": admin && c.want.syncEnabled, "dialog": admin && c.want.syncEnabled,
					"edit link": admin, "viewer note": !admin,
				}
				if diff := cmp.Diff(wantMap, got); diff != "" {
					t.Errorf("page parts (-want +got):\n%s", diff)
				}
				// Never an "OK" pill (above a drift table or anywhere), never a raw API path.
				for _, s := range []string{">OK<", "{id}", "/api/"} {
					if has(res.body, s) {
						t.Errorf("page shows %q", s)
					}
				}
			})
		}
	}
	if calls := e.fake.Calls(); len(calls) != 0 {
		t.Errorf("viewing the pages changed something: %q", calls)
	}
}

func TestListBadges(t *testing.T) {
	e := setup(t)
	b := e.browser()
	b.signIn(viewerToken)
	res := b.get("/apps")
	rows := regexp.MustCompile(`(?s)<tr data-id="(\d+)">(.*?)</tr>`).FindAllStringSubmatch(res.body, -1)
	got := map[string]bool{}
	for _, r := range rows {
		got[r[1]] = has(r[2], "badge-gitops")
	}
	want := map[string]bool{"1": true, "2": false, "3": true, "4": true, "5": true, "6": true, "7": false, "8": true}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("GitOps-managed badge per workload (-want +got):\n%s", diff)
	}
	if w := b.get("/apps/1"); !has(w.body, `class="badge badge-gitops"`) {
		t.Errorf("workload header lacks the badge")
	}
}

func TestLimitedToken(t *testing.T) {
	e := setup(t)
	b := e.browser()
	b.signIn(limitedToken)
	if res := b.get("/apps/1"); res.status != http.StatusForbidden || !has(res.body, "limited to another workload") {
		t.Errorf("GET another workload: %d, want 403", res.status)
	}
	if res := b.get("/apps/2"); res.status != http.StatusOK {
		t.Errorf("GET own workload: %d, want 200", res.status)
	}
	list := b.get("/apps")
	if has(list.body, `data-id="1"`) || !has(list.body, `data-id="2"`) {
		t.Errorf("list shows other workloads:\n%s", list.body)
	}
}

// TestActionsCheckRoleOnServer posts every action as a viewer with a valid CSRF token: each
// is refused with 403 before the backend is called.
func TestActionsCheckRoleOnServer(t *testing.T) {
	e := setup(t)
	b := e.browser()
	csrf := b.signIn(viewerToken)
	fileSHA := gitops.FileSHA([]byte(okRaw))
	tests := []struct {
		method, path string
		form         url.Values
	}{
		{http.MethodPost, "/apps/1/sync", url.Values{"csrf": {csrf}, "commit_sha": {headCommit}, "file_sha": {fileSHA}}},
		{http.MethodPost, "/apps/1/gitops", url.Values{"csrf": {csrf}, "enabled": {"on"}, "path": {".tinyforge.yml"}}},
		{http.MethodPost, "/apps/1/edit", url.Values{"csrf": {csrf}, "version": {"1"}, "port": {"9090"}, "other": {"{}"}}},
		{http.MethodGet, "/apps/1/edit", nil},
		{http.MethodGet, "/apps/1/sync", nil},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			res := b.do(tt.method, tt.path, tt.form)
			if res.status != http.StatusForbidden || !has(res.body, "Only an admin can do this") {
				t.Errorf("got %d, want 403:\n%s", res.status, res.body)
			}
		})
	}
	if calls := e.fake.Calls(); len(calls) != 0 {
		t.Errorf("backend reached by a viewer: %q", calls)
	}
	if diff := cmp.Diff(`{"port":"8080","healthcheck":"/","dockerfile_path":"Dockerfile"}`, e.fake.live(1)); diff != "" {
		t.Errorf("live config changed (-want +got):\n%s", diff)
	}
}

func TestCSRFRefused(t *testing.T) {
	e := setup(t)
	b := e.browser()
	csrf := b.signIn(adminToken)
	other := e.browser()
	otherCSRF := other.signIn(adminToken)
	fileSHA := gitops.FileSHA([]byte(okRaw))
	tests := []struct {
		name    string
		form    url.Values
		headers []string
		want    string
	}{
		{"missing", url.Values{"commit_sha": {headCommit}, "file_sha": {fileSHA}}, nil, "The form expired"},
		{"wrong", url.Values{"csrf": {"forged"}, "commit_sha": {headCommit}, "file_sha": {fileSHA}}, nil, "The form expired"},
		{"another session's", url.Values{"csrf": {otherCSRF}, "commit_sha": {headCommit}, "file_sha": {fileSHA}}, nil, "The form expired"},
		{"cross-site", url.Values{"csrf": {csrf}, "commit_sha": {headCommit}, "file_sha": {fileSHA}}, []string{"Sec-Fetch-Site", "cross-site"}, "another site"},
		{"foreign origin", url.Values{"csrf": {csrf}, "commit_sha": {headCommit}, "file_sha": {fileSHA}}, []string{"Origin", "https://evil.example"}, "another site"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, path := range []string{"/apps/1/sync", "/apps/1/gitops", "/apps/1/edit"} {
				res := b.do(http.MethodPost, path, tt.form, tt.headers...)
				if res.status != http.StatusForbidden || !has(res.body, tt.want) {
					t.Errorf("POST %s: %d, want 403 with %q", path, res.status, tt.want)
				}
			}
		})
	}
	if calls := e.fake.Calls(); len(calls) != 0 {
		t.Errorf("backend reached without a valid CSRF token: %q", calls)
	}
}

func TestSyncPinnedAndApplied(t *testing.T) {
	e := setup(t)
	b := e.browser()
	csrf := b.signIn(adminToken)
	fileSHA := gitops.FileSHA([]byte(okRaw))

	page := b.get("/apps/1")
	for _, s := range []string{`id="sync-commit">` + headCommit, `id="sync-file">` + fileSHA, `name="commit_sha" value="` + headCommit, `name="file_sha" value="` + fileSHA} {
		if !has(page.body, s) {
			t.Errorf("confirm dialog lacks %q", s)
		}
	}
	changes := regexp.MustCompile(`(?s)<table class="grid changes" id="sync-changes">.*?</table>`).FindString(page.body)
	rows := regexp.MustCompile(`<tr><td><code>([^<]+)</code></td><td class="from">([^<]*)</td><td class="to">([^<]*)</td></tr>`).FindAllStringSubmatch(changes, -1)
	var gotChanges []string
	for _, r := range rows {
		gotChanges = append(gotChanges, html.UnescapeString(r[1]+": "+r[2]+" -> "+r[3]))
	}
	wantChanges := []string{"deploy.healthcheck: / -> /healthz", "deploy.deploy_strategy: (unset) -> rolling"}
	if diff := cmp.Diff(wantChanges, gotChanges); diff != "" {
		t.Errorf("dialog changes (-want +got):\n%s", diff)
	}

	res := b.do(http.MethodPost, "/apps/1/sync", url.Values{"csrf": {csrf}, "commit_sha": {headCommit}, "file_sha": {fileSHA}})
	if res.status != http.StatusSeeOther || res.location != "/apps/1#gitops" {
		t.Fatalf("sync: %d %q\n%s", res.status, res.location, res.body)
	}
	if diff := cmp.Diff([]string{"Sync 1 commit=" + headCommit + " file=" + fileSHA}, e.fake.Calls()); diff != "" {
		t.Errorf("backend calls (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(`{"deploy_strategy":"rolling","dockerfile_path":"Dockerfile","healthcheck":"/healthz","port":8080}`, e.fake.live(1)); diff != "" {
		t.Errorf("live config after Sync (-want +got):\n%s", diff)
	}
	after := b.get("/apps/1")
	if !has(after.body, "Sync applied 2 changes from commit 1111111.") || !has(after.body, "Live matches the file") {
		t.Errorf("page after Sync lacks the result:\n%s", after.body)
	}
	if again := b.get("/apps/1"); has(again.body, "Sync applied") {
		t.Errorf("the Sync notice is shown twice")
	}
}

func TestSyncRefusals(t *testing.T) {
	fileSHA := gitops.FileSHA([]byte(okRaw))
	tests := []struct {
		name       string
		id         int64
		form       url.Values
		moveHead   bool
		wantStatus int
		wantText   string
		wantCalls  int
	}{
		{"unpinned", 1, url.Values{}, false, http.StatusBadRequest, "needs the commit and file fingerprint", 0},
		{"pinned file no longer fetched", 1, url.Values{"commit_sha": {headCommit}, "file_sha": {fileSHA}}, true, http.StatusConflict, "the reviewed file " + gitops.ShortSHA(fileSHA) + " differs", 1},
		{"status not ok", 3, url.Values{"commit_sha": {headCommit}, "file_sha": {fileSHA}}, false, http.StatusConflict, "GitOps status is no_file, not ok", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := setup(t)
			b := e.browser()
			tt.form.Set("csrf", b.signIn(adminToken))
			if tt.moveHead {
				e.fake.moveHead(1, otherCommit, strings.Replace(okRaw, "8080", "9090", 1))
			}
			res := b.do(http.MethodPost, fmt.Sprintf("/apps/%d/sync", tt.id), tt.form)
			if res.status != tt.wantStatus || !has(res.body, html.EscapeString(tt.wantText)) {
				t.Errorf("got %d, want %d with %q:\n%s", res.status, tt.wantStatus, tt.wantText, res.body)
			}
			if n := len(e.fake.Calls()); n != tt.wantCalls {
				t.Errorf("backend calls %d, want %d", n, tt.wantCalls)
			}
		})
	}
}

// TestReviewedFilePin follows PR-comment links: a file fingerprint that is no longer the fetched
// one warns and disables Sync; a moved commit with the same file only informs.
func TestReviewedFilePin(t *testing.T) {
	fileSHA := gitops.FileSHA([]byte(okRaw))
	tests := []struct {
		name                     string
		query                    string
		wantMismatch, wantMoved  bool
		wantSync                 bool
		wantConfirmPageAvailable bool
	}{
		{"no pins", "", false, false, true, true},
		{"reviewed file is fetched", "?file=" + fileSHA + "&commit=" + headCommit, false, false, true, true},
		{"file changed", "?file=" + strings.Repeat("a", 40) + "&commit=" + headCommit, true, false, false, false},
		{"merged: commit moved, same file", "?file=" + fileSHA + "&commit=" + otherCommit, false, true, true, true},
		{"commit moved, no file pin", "?commit=" + otherCommit, true, false, false, false},
		{"garbage pin", "?file=%3Cscript%3E", true, false, false, false},
	}
	e := setup(t)
	b := e.browser()
	b.signIn(adminToken)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := b.get("/apps/1" + tt.query)
			got := []bool{has(res.body, `id="pin-mismatch"`), has(res.body, `id="pin-moved"`), has(res.body, `data-dialog="sync-dialog"`)}
			if diff := cmp.Diff([]bool{tt.wantMismatch, tt.wantMoved, tt.wantSync}, got); diff != "" {
				t.Errorf("[mismatch warning, moved note, Sync enabled] (-want +got):\n%s", diff)
			}
			if tt.wantMismatch && !has(res.body, `<button type="button" class="primary" id="sync-open" disabled>`) {
				t.Errorf("Sync button not disabled")
			}
			confirm := b.get("/apps/1/sync" + tt.query)
			if got := has(confirm.body, `id="sync-form"`); got != tt.wantConfirmPageAvailable {
				t.Errorf("confirm page offers the Sync form: %v, want %v", got, tt.wantConfirmPageAvailable)
			}
		})
	}
}

// TestPRLink follows the link a check writes on a pull request (?pr=): before the merge the
// PR's file is not on the branch, so the page says so, previews what Sync will change once it is
// merged, and keeps Sync off for that reason (not "not what was reviewed", not "moved"); after
// the merge the same file is the branch's and Sync is on, without "moved from" the PR's head.
// In English and Russian.
func TestPRLink(t *testing.T) {
	prRaw := strings.Replace(okRaw, "8080", "9090", 1)
	prCommit := strings.Repeat("3", 40)
	prFile, branchFile := gitops.FileSHA([]byte(prRaw)), gitops.FileSHA([]byte(okRaw))
	e := setup(t)
	e.fake.mu.Lock()
	e.fake.workloads[1].proposed = map[string]string{prCommit: prRaw}
	e.fake.mu.Unlock()
	tests := []struct {
		name, lang, query      string
		wantPR, wantMismatch   bool
		wantSync               bool
		wantTexts, absentTexts []string
	}{
		{name: "before the merge", query: "?file=" + prFile + "&commit=" + prCommit + "&pr=7", wantPR: true,
			wantTexts: []string{"PR #7 proposes this file; it is not on main yet. Once it is merged, Sync applies it.",
				`id="pr-preview"`, `<tr data-field="deploy.port"><td><code>deploy.port</code></td><td class="from">8080</td><td class="to">9090</td></tr>`,
				"Disabled: Sync applies the branch; merge PR #7 first."},
			absentTexts: []string{"The branch moved", "This is not what was reviewed"}},
		{name: "before the merge, ru", lang: "ru", query: "?file=" + prFile + "&commit=" + prCommit + "&pr=7", wantPR: true,
			wantTexts: []string{"PR #7 предлагает этот файл; в ветке main его ещё нет. После слияния Sync применит его.",
				"Недоступно: Sync применяет ветку; сначала слейте PR #7."}},
		{name: "after the merge", query: "?file=" + branchFile + "&commit=" + prCommit + "&pr=7", wantSync: true,
			absentTexts: []string{"The branch moved", "proposes this file"}},
		{name: "a file the PR does not have", query: "?file=" + strings.Repeat("a", 40) + "&commit=" + prCommit + "&pr=7", wantMismatch: true},
		{name: "no such PR commit", query: "?file=" + prFile + "&commit=" + strings.Repeat("4", 40) + "&pr=7", wantMismatch: true},
		{name: "bad pr", query: "?file=" + prFile + "&commit=" + prCommit + "&pr=-1", wantMismatch: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := e.browser()
			b.lang = tt.lang
			b.signIn(adminToken)
			res := b.get("/apps/1" + tt.query)
			got := []bool{has(res.body, `id="pin-pr"`), has(res.body, `id="pin-mismatch"`), has(res.body, `data-dialog="sync-dialog"`)}
			if diff := cmp.Diff([]bool{tt.wantPR, tt.wantMismatch, tt.wantSync}, got); diff != "" {
				t.Errorf("[PR notice, mismatch warning, Sync enabled] (-want +got):\n%s", diff)
			}
			for _, s := range tt.wantTexts {
				if !has(res.body, html.EscapeString(s)) && !has(res.body, s) {
					t.Errorf("page lacks %q:\n%s", s, res.body)
				}
			}
			for _, s := range tt.absentTexts {
				if has(res.body, s) {
					t.Errorf("page says %q", s)
				}
			}
			if confirm := b.get("/apps/1/sync" + tt.query); has(confirm.body, `id="sync-form"`) != tt.wantSync {
				t.Errorf("confirm page offers the Sync form: %v, want %v", !tt.wantSync, tt.wantSync)
			}
		})
	}
}

func TestSetGitOps(t *testing.T) {
	tests := []struct {
		name       string
		id         int64
		form       url.Values
		wantStatus int
		wantText   string
		wantCall   string
	}{
		{"enable with path", 2, url.Values{"enabled": {"on"}, "path": {"deploy/tf.yaml"}}, http.StatusSeeOther, "", `SetGitOps 2 enabled=true path="deploy/tf.yaml"`},
		{"disable", 1, url.Values{"path": {".tinyforge.yml"}}, http.StatusSeeOther, "", `SetGitOps 1 enabled=false path=".tinyforge.yml"`},
		{"bad path", 1, url.Values{"enabled": {"on"}, "path": {"../x.txt"}}, http.StatusBadRequest, "must end in .yml", `SetGitOps 1 enabled=true path="../x.txt"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := setup(t)
			b := e.browser()
			tt.form.Set("csrf", b.signIn(adminToken))
			res := b.do(http.MethodPost, fmt.Sprintf("/apps/%d/gitops", tt.id), tt.form)
			if res.status != tt.wantStatus || !has(res.body, tt.wantText) {
				t.Errorf("got %d, want %d with %q:\n%s", res.status, tt.wantStatus, tt.wantText, res.body)
			}
			if diff := cmp.Diff([]string{tt.wantCall}, e.fake.Calls()); diff != "" {
				t.Errorf("backend calls (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEditForm(t *testing.T) {
	tests := []struct {
		name       string
		form       url.Values
		wantStatus int
		wantText   string
		wantCalls  []string
	}{
		{"change an unmanaged key", url.Values{"version": {"1"}, "port": {"8080"}, "healthcheck": {"/"}, "deploy_strategy": {""}, "other": {`{"dockerfile_path": "build/Dockerfile"}`}},
			http.StatusSeeOther, "", []string{`UpdateSourceConfig 1 version=1 {"dockerfile_path":"build/Dockerfile","healthcheck":"/","port":"8080"}`}},
		{"change a managed key", url.Values{"version": {"1"}, "port": {"9090"}, "healthcheck": {"/"}, "other": {`{"dockerfile_path":"Dockerfile"}`}},
			http.StatusUnprocessableEntity, "port is managed by the GitOps file", nil},
		{"stale version", url.Values{"version": {"0"}, "port": {"8080"}, "healthcheck": {"/"}, "other": {`{"dockerfile_path":"Dockerfile"}`}},
			http.StatusConflict, "The config changed since you opened the form", []string{`UpdateSourceConfig 1 version=0 {"dockerfile_path":"Dockerfile","healthcheck":"/","port":"8080"}`}},
		{"bad JSON", url.Values{"version": {"1"}, "port": {"8080"}, "other": {`[1]`}}, http.StatusBadRequest, "must be a JSON object", nil},
		{"managed key in JSON", url.Values{"version": {"1"}, "port": {"8080"}, "other": {`{"port": 1}`}}, http.StatusBadRequest, "Set port in its own field", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := setup(t)
			b := e.browser()
			tt.form.Set("csrf", b.signIn(adminToken))
			res := b.do(http.MethodPost, "/apps/1/edit", tt.form)
			if res.status != tt.wantStatus || !has(res.body, tt.wantText) {
				t.Errorf("got %d, want %d with %q:\n%s", res.status, tt.wantStatus, tt.wantText, res.body)
			}
			if diff := cmp.Diff(tt.wantCalls, e.fake.Calls()); diff != "" {
				t.Errorf("backend calls (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEditFormBanner(t *testing.T) {
	e := setup(t)
	b := e.browser()
	b.signIn(adminToken)
	res := b.get("/apps/1/edit")
	if !has(res.body, `id="managed-banner"`) || !has(res.body, "<code>deploy.port</code>, <code>deploy.healthcheck</code>, <code>deploy.deploy_strategy</code>") {
		t.Errorf("edit form lacks the managed banner:\n%s", res.body)
	}
	readonly := regexp.MustCompile(`<input id="([a-z_]+)"[^>]* readonly`).FindAllStringSubmatch(res.body, -1)
	var got []string
	for _, m := range readonly {
		got = append(got, m[1])
	}
	if diff := cmp.Diff([]string{"port", "healthcheck", "deploy_strategy"}, got); diff != "" {
		t.Errorf("read-only inputs (-want +got):\n%s", diff)
	}
	if plain := b.get("/apps/2/edit"); has(plain.body, `id="managed-banner"`) || has(plain.body, "readonly") {
		t.Errorf("a workload without GitOps shows the banner")
	}
}

// TestEscaping puts <script> in a workload name, its live config and its file: all are
// escaped, and the only script element is the panel's own.
func TestEscaping(t *testing.T) {
	e := setup(t)
	b := e.browser()
	b.signIn(adminToken)
	for _, path := range []string{"/apps", "/apps/6", "/apps/6/edit", "/apps/6/sync"} {
		res := b.get(path)
		if n := strings.Count(res.body, "<script"); n != 1 {
			t.Errorf("%s: %d <script elements, want only the panel's own", path, n)
		}
		if has(res.body, "<img src=x") {
			t.Errorf("%s: live config value rendered as HTML", path)
		}
		if !has(res.body, "&lt;script&gt;alert(&#34;name&#34;)&lt;/script&gt;") {
			t.Errorf("%s: escaped name missing", path)
		}
	}
	if res := b.get("/apps/6"); !has(res.body, "# &lt;/code&gt;&lt;/pre&gt;&lt;script&gt;alert(&#39;file&#39;)&lt;/script&gt;") {
		t.Errorf("file preview not escaped text:\n%s", res.body)
	}
}

func TestSecretNeverShown(t *testing.T) {
	e := setup(t)
	b := e.browser()
	b.signIn(adminToken)
	e.fake.leakMessage = "forge said: bad credentials for " + adminToken
	res := b.get("/apps/1")
	if has(res.body, adminToken) || !has(res.body, "bad credentials for ***") {
		t.Errorf("backend message not redacted:\n%s", res.body)
	}
	for _, page := range []string{"/apps", "/apps/1/edit"} {
		if has(b.get(page).body, adminToken) {
			t.Errorf("%s shows the token", page)
		}
	}
}

func TestRevokedTokenEndsSession(t *testing.T) {
	e := setup(t)
	b := e.browser()
	b.signIn(adminToken)
	e.fake.mu.Lock()
	delete(e.fake.tokens, adminToken)
	e.fake.mu.Unlock()
	res := b.get("/apps/1")
	if res.status != http.StatusSeeOther || !strings.HasPrefix(res.location, "/login?expired=1") {
		t.Fatalf("revoked token: %d %q, want 303 to sign-in", res.status, res.location)
	}
	if again := b.get("/apps"); again.status != http.StatusSeeOther {
		t.Errorf("the session survived a revoked token")
	}
}

func TestLanguage(t *testing.T) {
	e := setup(t)
	tests := []struct {
		name, acceptLanguage, switchTo, want string
	}{
		{"default", "", "", "Sign in"},
		{"russian browser", "ru-RU,ru;q=0.9,en;q=0.8", "", "Вход"},
		{"english preferred", "en-GB,ru;q=0.5", "", "Sign in"},
		{"unsupported falls back", "de-DE,fr;q=0.9", "", "Sign in"},
		{"switch overrides browser", "en-US", "ru", "Вход"},
		{"switch back", "ru", "en", "Sign in"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := e.browser()
			b.lang = tt.acceptLanguage
			if tt.switchTo != "" {
				if res := b.get("/lang/" + tt.switchTo + "?next=/login"); res.status != http.StatusSeeOther || res.location != "/login" {
					t.Fatalf("switch: %d %q", res.status, res.location)
				}
			}
			res := b.get("/login")
			if !has(res.body, "<h1>"+tt.want+"</h1>") {
				t.Errorf("heading is not %q:\n%s", tt.want, res.body)
			}
		})
	}
	b := e.browser()
	b.lang = "ru"
	b.signIn(adminToken)
	res := b.get("/apps/1")
	for _, s := range []string{`<html lang="ru">`, "Подтверждение Sync", "Отпечаток файла", "Значение в репозитории",
		"port сравнивается как целое число: строка &#34;8080&#34; равна 8080", `<td class="from">(не задано)</td>`,
		`data-status="drift" data-drift="2">расхождение: 2 поля</span>`, "2 поля отличаются от текущей конфигурации; Sync применит их."} {
		if !has(res.body, s) {
			t.Errorf("Russian workload page lacks %q", s)
		}
	}
}

func TestNegotiate(t *testing.T) {
	tests := []struct{ cookie, header, want string }{
		{"", "", "en"},
		{"ru", "en", "ru"},
		{"xx", "ru", "ru"},
		{"", "ru;q=0.4, en;q=0.6", "en"},
		{"", "RU-ru", "ru"},
		{"", "en;q=0, ru;q=0.1", "ru"},
		{"", "ru;q=abc", "en"},
		{"", "*", "en"},
	}
	for _, tt := range tests {
		if got := negotiate(tt.cookie, tt.header); got != tt.want {
			t.Errorf("negotiate(%q, %q) = %q, want %q", tt.cookie, tt.header, got, tt.want)
		}
	}
}

func TestSecurityHeaders(t *testing.T) {
	e := setup(t)
	res := e.browser().get("/login")
	got := map[string]string{}
	for _, h := range []string{"Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options", "Cache-Control"} {
		got[h] = res.header.Get(h)
	}
	want := map[string]string{
		"Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
		"X-Frame-Options":         "DENY", "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("headers (-want +got):\n%s", diff)
	}
	for _, a := range []string{"/assets/panel.js", "/assets/panel.css"} {
		if res := e.browser().get(a); res.status != http.StatusOK || len(res.body) < 100 {
			t.Errorf("asset %s: %d, %d bytes", a, res.status, len(res.body))
		}
	}
}

func TestUnsupportedSourceType(t *testing.T) {
	e := setup(t)
	b := e.browser()
	b.signIn(adminToken)
	res := b.get("/apps/7")
	if res.status != http.StatusOK || !has(res.body, `id="gitops-unsupported"`) || !has(res.body, "Source type buildpack cannot use GitOps") {
		t.Fatalf("got %d:\n%s", res.status, res.body)
	}
	if has(res.body, `id="gitops-settings"`) || has(res.body, `id="sync-open"`) {
		t.Errorf("GitOps controls offered for a source type that cannot use GitOps")
	}
}

// TestDiagnosticPositions: a diagnostic points at path:line:col; a problem of the whole file
// (an empty file) names the file alone, never a fake ":0:0".
func TestDiagnosticPositions(t *testing.T) {
	e := setup(t)
	b := e.browser()
	b.signIn(viewerToken)
	if res := b.get("/apps/5"); !has(res.body, "<code>.tinyforge.yml:3:3</code>") {
		t.Errorf("no positioned diagnostic in:\n%s", res.body)
	}
	e.fake.moveHead(5, headCommit, "")
	res := b.get("/apps/5")
	if !has(res.body, "<code>.tinyforge.yml</code>") || has(res.body, ":0:0") || !has(res.body, "empty-file") {
		t.Errorf("the empty file's diagnostic is not at the file:\n%s", res.body)
	}
}

// TestHeadLikeGet: HEAD on a page is answered as GET is (a redirect to sign in without a
// session, 200 with one), with no body; it used to be 403.
func TestHeadLikeGet(t *testing.T) {
	e := setup(t)
	b := e.browser()
	for _, path := range []string{"/apps", "/apps/1"} {
		get, head := b.do(http.MethodGet, path, nil), b.do(http.MethodHead, path, nil)
		if head.status != get.status || head.status != http.StatusSeeOther || head.body != "" {
			t.Errorf("signed out, HEAD %s: %d %q; GET: %d", path, head.status, head.body, get.status)
		}
	}
	b.signIn(viewerToken)
	for _, path := range []string{"/apps", "/apps/1"} {
		head := b.do(http.MethodHead, path, nil)
		if head.status != http.StatusOK || head.body != "" {
			t.Errorf("signed in, HEAD %s: %d with %d bytes of body", path, head.status, len(head.body))
		}
	}
}

// TestAssetsListNoFolders: /assets/ serves files, never a folder listing.
func TestAssetsListNoFolders(t *testing.T) {
	e := setup(t)
	b := e.browser()
	for _, path := range []string{"/assets/", "/assets/i18n", "/assets/i18n/"} {
		if res := b.get(path); res.status != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404 (no listing):\n%.200s", path, res.status, res.body)
		} else if has(res.body, "<a href") {
			t.Errorf("GET %s lists the folder", path)
		}
	}
	if res := b.get("/assets/panel.css"); res.status != http.StatusOK {
		t.Errorf("GET /assets/panel.css: %d, want 200", res.status)
	}
}
