package server

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// panelSession signs in to the panel with token and returns a client holding the session
// cookie.
func (e *env) panelSession(token string) *http.Client {
	e.t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(e.http.URL + "/login")
	if err != nil {
		e.t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := csrfField.FindStringSubmatch(string(page))
	if m == nil {
		e.t.Fatalf("no csrf field on the login page:\n%s", page)
	}
	resp, err = c.PostForm(e.http.URL+"/login", url.Values{"token": {token}, "csrf": {m[1]}, "next": {"/apps"}})
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		e.t.Fatalf("sign in: %d", resp.StatusCode)
	}
	return c
}

// getList loads the panel's workload list.
func getList(c *http.Client, base string) (string, error) {
	resp, err := c.Get(base + "/apps")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET /apps = %d", resp.StatusCode)
	}
	return string(b), err
}

// gitopsWorkloads creates n GitOps-enabled workloads, each on its own repo, all on the fake
// forge's "main" branch holding goodFile.
func (e *env) gitopsWorkloads(n int) {
	e.t.Helper()
	e.forge.push("main", "c1", ".tinyforge.yml", []byte(goodFile))
	for i := range n {
		body := fmt.Sprintf(`{"name":"app-%d","source_type":"dockerfile","source_config":{"port":3000},"repo":{"provider":"gitea","base_url":"https://gitea.example.com","owner":"acme","repo":"app-%d","branch":"main","access_token":%q}}`, i, i, forgeCanary)
		var w struct{ ID int64 }
		e.doJSON("POST", "/api/workloads", e.admin, body, 201, &w)
		e.doJSON("PUT", fmt.Sprintf("/api/workloads/%d/gitops", w.ID), e.admin, `{"enabled":true}`, 200, nil)
	}
}

// 100 concurrent loads of the workload list (40 GitOps workloads, a forge answering in 20 ms)
// read each branch head at most once per head TTL, never make more forge requests at once than
// the server's cap, and show every row's state.
func TestListLoadsShareForgeReads(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.HeadTTL, c.MaxForgeRequests = time.Minute, 6 })
	e.gitopsWorkloads(40)
	heads0, _ := e.forge.counts()
	e.forge.mu.Lock()
	e.forge.delay, e.forge.peak = 20*time.Millisecond, 0
	e.forge.mu.Unlock()
	sessions := make([]*http.Client, 20)
	for i := range sessions {
		sessions[i] = e.panelSession(e.viewer)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for i := range 100 {
		wg.Go(func() {
			body, err := getList(sessions[i%20], e.http.URL)
			// A row not there within the list's budget on a slow machine says fetch failed
			// (it has no last known state yet); no other state is right.
			if n := strings.Count(body, `data-status="drift"`) + strings.Count(body, `data-status="fetch_failed"`); err == nil && n != 40 {
				err = fmt.Errorf("a list load shows %d of 40 rows in drift or not yet fetched", n)
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	// Every head is now known: a reload shows every row in drift.
	if body, err := getList(sessions[0], e.http.URL); err != nil || strings.Count(body, `data-status="drift"`) != 40 {
		t.Errorf("a list load after the others shows %d of 40 rows in drift (%v)", strings.Count(body, `data-status="drift"`), err)
	}
	heads, _ := e.forge.counts()
	e.forge.mu.Lock()
	peak := e.forge.peak
	e.forge.mu.Unlock()
	if n := heads - heads0; n > 40 {
		t.Errorf("100 list loads read %d branch heads, want at most 40 (one per workload per TTL)", n)
	}
	if peak > 6 {
		t.Errorf("%d forge requests at once, want at most the cap of 6", peak)
	}
	// A view (the API's, the workload page's) reads the head anew: it is not the list's.
	e.doJSON("GET", "/api/workloads/1/gitops", e.viewer, "", 200, nil)
	if h, _ := e.forge.counts(); h != heads+1 {
		t.Errorf("a view read %d heads, want 1", h-heads)
	}
}

// A rate-limited forge is left alone until the time it asked for: the list then shows each
// row's last known state, marked rate limited, the API's view says so, and no request reaches
// the forge meanwhile.
func TestRateLimitBacksOff(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.HeadTTL = time.Millisecond })
	e.gitopsWorkloads(1)
	s := e.panelSession(e.viewer)
	if _, err := getList(s, e.http.URL); err != nil { // known: drift
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond) // the head is older than its TTL
	e.forge.mu.Lock()
	e.forge.limited, e.forge.retryAfter = true, 90*time.Second
	e.forge.mu.Unlock()
	body, err := getList(s, e.http.URL)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(body, `data-status="drift"`) || !strings.Contains(body, "forge rate limit") || !strings.Contains(body, "as of") {
		t.Errorf("a rate-limited row does not show its last known state, rate limited, as of when:\n%s", body)
	}
	heads, loads := e.forge.counts()
	for range 5 {
		if _, err := getList(s, e.http.URL); err != nil {
			t.Fatal(err)
		}
	}
	var v struct {
		Status           string `json:"status"`
		Message          string `json:"message"`
		RateLimitedUntil string `json:"rate_limited_until"`
	}
	e.doJSON("GET", "/api/workloads/1/gitops", e.viewer, "", 200, &v)
	if h, l := e.forge.counts(); h != heads || l != loads {
		t.Errorf("%d requests reached the forge during its back-off", h-heads+l-loads)
	}
	until, err := time.Parse(time.RFC3339, v.RateLimitedUntil)
	if v.Status != "fetch_failed" || !strings.Contains(v.Message, "rate limiting") || err != nil ||
		until.Before(time.Now().Add(80*time.Second)) || until.After(time.Now().Add(91*time.Second)) {
		t.Errorf("view during the back-off: %+v; want fetch_failed, rate limiting, until in about 90 s", v)
	}
	if strings.Contains(v.Message, "check the repo settings") {
		t.Errorf("a rate limit reads as a broken repo: %s", v.Message)
	}
}

// flights: concurrent callers of one key share one call; a caller that stops waiting gets its
// context's error and leaves the call to finish for the others.
func TestFlightsShareOneCall(t *testing.T) {
	g := newFlights[int]()
	release := make(chan struct{})
	var calls, got sync.WaitGroup
	n := 0
	var mu sync.Mutex
	calls.Add(1)
	fn := func() (int, error) {
		mu.Lock()
		n++
		mu.Unlock()
		<-release
		return 7, nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { defer calls.Done(); _, _ = g.do(ctx, "k", fn) }()
	results := make(chan int, 10)
	for range 10 {
		got.Go(func() {
			v, err := g.do(context.Background(), "k", fn)
			if err != nil {
				t.Error(err)
			}
			results <- v
		})
	}
	time.Sleep(200 * time.Millisecond) // every caller is waiting on the call
	cancel()
	calls.Wait() // the first caller gave up; the call goes on
	close(release)
	got.Wait()
	close(results)
	for v := range results {
		if v != 7 {
			t.Errorf("got %d, want 7", v)
		}
	}
	if n != 1 {
		t.Errorf("%d calls, want 1", n)
	}
}

// The list memo gives a list's rows the caller and workload its list call read, for listerTTL
// only, and to that token only.
func TestListersMemo(t *testing.T) {
	l := &listers{m: map[[32]byte]lister{}}
	t0 := time.Date(2026, 12, 8, 5, 0, 0, 0, time.UTC)
	c := Caller{Token: Token{ID: 3, Name: "ops", Role: RoleViewer}}
	l.put("secret-a", c, []*Workload{{ID: 7, Name: "web"}}, t0)
	tests := []struct {
		name     string
		secret   string
		id       int64
		at       time.Time
		wantOK   bool
		wantName string
	}{
		{"same list", "secret-a", 7, t0.Add(time.Second), true, "web"},
		{"a workload the list did not have", "secret-a", 8, t0.Add(time.Second), true, ""},
		{"past the TTL", "secret-a", 7, t0.Add(listerTTL), false, ""},
		{"another token", "secret-b", 7, t0, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, wl, ok := l.get(tt.secret, tt.id, tt.at)
			name := ""
			if wl != nil {
				name = wl.Name
			}
			if ok != tt.wantOK || name != tt.wantName || (ok && got.Name != "ops") {
				t.Errorf("get = %+v, %q, %v; want ok %v, workload %q", got, name, ok, tt.wantOK, tt.wantName)
			}
		})
	}
	// Expired lists are dropped once the table grows.
	for i := range 70 {
		l.put(fmt.Sprintf("s%d", i), c, nil, t0.Add(time.Duration(i)*time.Second))
	}
	if len(l.m) >= 70 {
		t.Errorf("%d lists kept, want the expired ones dropped", len(l.m))
	}
}
