package providers

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tinyforge/tinyforge-check/forge"
	"github.com/tinyforge/tinyforge-check/internal/forgefake"
)

// scripted answers requests from a list of statuses (the last repeats) and
// records the method and body of each.
type scripted struct {
	mu       sync.Mutex
	statuses []int
	headers  []http.Header
	got      []string
}

func (s *scripted) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	i := len(s.got)
	s.got = append(s.got, r.Method+" "+r.URL.Path+" "+string(b))
	st := s.statuses[min(i, len(s.statuses)-1)]
	var h http.Header
	if i < len(s.headers) {
		h = s.headers[i]
	}
	s.mu.Unlock()
	for k, v := range h {
		w.Header()[k] = v
	}
	w.WriteHeader(st)
	fmt.Fprintf(w, "answer %d", i)
}

func (s *scripted) calls() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.got...)
}

func TestHTTPClientRetries(t *testing.T) {
	ra := func(v string) http.Header { return http.Header{"Retry-After": {v}} }
	tests := []struct {
		name       string
		method     string
		statuses   []int
		headers    []http.Header
		wantCalls  int
		wantStatus int
		wantErr    error
	}{
		{name: "GET retried on 5xx burst", method: "GET", statuses: []int{502, 503, 500, 200}, wantCalls: 4, wantStatus: 200},
		{name: "GET gives the last answer when retries run out", method: "GET", statuses: []int{500}, wantCalls: 4, wantStatus: 500},
		{name: "POST never retried on 5xx", method: "POST", statuses: []int{502, 201}, wantCalls: 1, wantStatus: 502},
		{name: "PATCH never retried on 5xx", method: "PATCH", statuses: []int{500, 200}, wantCalls: 1, wantStatus: 500},
		{name: "POST retried after a secondary rate limit", method: "POST", statuses: []int{403, 201},
			headers: []http.Header{ra("2")}, wantCalls: 2, wantStatus: 201},
		{name: "POST retried after 429", method: "POST", statuses: []int{429, 201},
			headers: []http.Header{ra("1")}, wantCalls: 2, wantStatus: 201},
		{name: "403 without rate-limit headers is final", method: "GET", statuses: []int{403, 200}, wantCalls: 1, wantStatus: 403},
		{name: "primary rate limit waits for the reset", method: "GET", statuses: []int{403, 200},
			headers: []http.Header{{"X-Ratelimit-Remaining": {"0"}, "X-Ratelimit-Reset": {fmt.Sprint(time.Now().Unix() + 2)}}}, wantCalls: 2, wantStatus: 200},
		{name: "Retry-After 3600 fails fast", method: "GET", statuses: []int{429, 200},
			headers: []http.Header{ra("3600")}, wantCalls: 1, wantErr: ErrRetryAfterTooLong},
		{name: "Retry-After 3600 on a secondary rate limit fails fast", method: "POST", statuses: []int{403, 201},
			headers: []http.Header{ra("3600")}, wantCalls: 1, wantErr: ErrRetryAfterTooLong},
		{name: "404 is final", method: "GET", statuses: []int{404, 200}, wantCalls: 1, wantStatus: 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &scripted{statuses: tt.statuses, headers: tt.headers}
			srv := httptest.NewServer(s)
			defer srv.Close()
			cfg := testHTTPConfig(nil)
			cfg.MaxRetryAfter = 60 * time.Second
			c := NewHTTPClient(cfg)
			req, _ := http.NewRequest(tt.method, srv.URL+"/x", strings.NewReader(`{"body":"b"}`))
			start := time.Now()
			resp, err := c.Do(req)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				if !strings.Contains(err.Error(), "3600s") || !strings.Contains(err.Error(), "try again later") {
					t.Errorf("error does not say how long or what to do: %v", err)
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				if resp.StatusCode != tt.wantStatus {
					t.Errorf("status = %d, want %d", resp.StatusCode, tt.wantStatus)
				}
			}
			calls := s.calls()
			if len(calls) != tt.wantCalls {
				t.Errorf("calls = %q, want %d", calls, tt.wantCalls)
			}
			for _, c := range calls {
				if c != tt.method+` /x {"body":"b"}` {
					t.Errorf("call = %q: body not replayed", c)
				}
			}
			if time.Since(start) > 30*time.Second {
				t.Errorf("took %v: Retry-After was not scaled or capped", time.Since(start))
			}
		})
	}
}

func TestHTTPClientBodyCap(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(strings.Repeat("a", 100)))
	}))
	defer srv.Close()
	for _, tc := range []struct {
		max     int64
		wantErr error
	}{{100, nil}, {99, ErrResponseTooLarge}} {
		cfg := testHTTPConfig(nil)
		cfg.MaxBodyBytes = tc.max
		resp, err := NewHTTPClient(cfg).Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !errors.Is(err, tc.wantErr) {
			t.Errorf("max %d: err = %v, want %v", tc.max, err, tc.wantErr)
		}
		if tc.wantErr == nil && len(b) != 100 {
			t.Errorf("max %d: read %d bytes", tc.max, len(b))
		}
	}
}

func TestHTTPClientAttemptTimeout(t *testing.T) {
	release := make(chan struct{})
	var mu sync.Mutex
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls++
		n := calls
		mu.Unlock()
		if n == 1 {
			<-release // the first attempt hangs
		}
		w.Write([]byte("ok"))
	}))
	defer srv.Close()
	defer close(release)
	cfg := testHTTPConfig(nil)
	cfg.AttemptTimeout = 250 * time.Millisecond
	resp, err := NewHTTPClient(cfg).Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "ok" {
		t.Errorf("body = %q", b)
	}
	mu.Lock()
	defer mu.Unlock()
	if calls != 2 {
		t.Errorf("calls = %d, want 2 (timed-out GET retried)", calls)
	}
}

// TestAuthNotSentCrossOrigin: a redirect to another origin never carries the
// token, for every forge and every way the token is sent.
func TestAuthNotSentCrossOrigin(t *testing.T) {
	for _, fc := range forgeCases() {
		t.Run(fc.name, func(t *testing.T) {
			foreign := forgefake.NewForeign(t)
			f, p := fc.setup(t, forgefake.Options{}, nil)
			f.PutFile(owner, repoName, "main", ".tinyforge.yml", []byte("version: 1\n"))
			f.SetFault(forgefake.Fault{Kind: forgefake.FaultRedirect, Method: http.MethodGet, RedirectTo: foreign.URL()})
			_, err := p.DownloadFile(context.Background(), owner, repoName, "main", ".tinyforge.yml", 0)
			if !errors.Is(err, forge.ErrFileNotFound) {
				t.Errorf("err = %v, want forge.ErrFileNotFound from the foreign origin", err)
			}
			got := foreign.Requests()
			if len(got) != 1 {
				t.Fatalf("foreign requests = %d, want 1", len(got))
			}
			for k, v := range got[0].Header {
				if strings.Contains(strings.Join(v, " "), testToken) {
					t.Errorf("token sent to a foreign origin in %s", k)
				}
			}
			for _, h := range []string{"Authorization", "Private-Token", "Job-Token"} {
				if v := got[0].Header.Get(h); v != "" {
					t.Errorf("%s sent to a foreign origin: %q", h, v)
				}
			}
		})
	}
}

func TestOrigin(t *testing.T) {
	tests := []struct{ a, b string }{
		{"https://api.github.com/x", "https://API.github.com:443/y"},
		{"http://127.0.0.1:8080/a", "http://127.0.0.1:8080"},
		{"http://[::1]:80/", "http://[::1]/"},
	}
	for _, tt := range tests {
		ua, _ := url.Parse(tt.a)
		ub, _ := url.Parse(tt.b)
		if origin(ua) != origin(ub) {
			t.Errorf("origin(%s) = %s != origin(%s) = %s", tt.a, origin(ua), tt.b, origin(ub))
		}
	}
	differ := []struct{ a, b string }{
		{"https://api.github.com", "http://api.github.com"},
		{"https://api.github.com", "https://api.github.com.evil.example"},
		{"http://127.0.0.1:8080", "http://127.0.0.1:8081"},
	}
	for _, tt := range differ {
		ua, _ := url.Parse(tt.a)
		ub, _ := url.Parse(tt.b)
		if origin(ua) == origin(ub) {
			t.Errorf("origin(%s) == origin(%s)", tt.a, tt.b)
		}
	}
}

// TestCanaryToken: a canary token appears in no error, no log line and no
// request to a foreign origin, whatever fails.
func TestCanaryToken(t *testing.T) {
	const canary = "canary-7f3a9c1e5b2d4068"
	for _, fc := range forgeCases() {
		t.Run(fc.name, func(t *testing.T) {
			logs := &syncBuffer{}
			foreign := forgefake.NewForeign(t)
			f := fc.newFake(t, forgefake.Options{})
			f.AddToken(canary, forgefake.Token{Login: botLogin})
			sha := f.PutFile(owner, repoName, "main", ".tinyforge.yml", []byte("version: 1\n"))
			p := fc.newProvider(t, f, Options{Token: canary, HTTPClient: testClient(t, logs), VerifyDelay: time.Millisecond})
			ctx := context.Background()
			var errs []error
			// A bad token (the forge may echo it) and every fault kind.
			bad := fc.newProvider(t, f, Options{Token: canary + "-wrong", HTTPClient: testClient(t, logs)})
			_, err := bad.Repo(owner, repoName).UpsertComment(ctx, forge.CommentRequest{Number: 7, Context: ctxName, RunID: 1, Body: "x"})
			errs = append(errs, err)
			errs = append(errs, bad.Repo(owner, repoName).SetStatus(ctx, forge.CommitStatus{SHA: sha, State: forge.StateSuccess, Context: "c"}))
			for _, fault := range []forgefake.Fault{
				{Kind: forgefake.FaultRedirect, RedirectTo: foreign.URL()},
				{Kind: forgefake.FaultStatus, Status: 500},
				{Kind: forgefake.FaultRateLimit, RetryAfter: 3600},
				{Kind: forgefake.FaultTooManyRequests, RetryAfter: 3600},
			} {
				f.ClearFaults()
				f.SetFault(fault)
				_, err := p.Repo(owner, repoName).UpsertComment(ctx, forge.CommentRequest{Number: 7, Context: ctxName, RunID: 1, Body: "x"})
				errs = append(errs, err)
				errs = append(errs, p.Repo(owner, repoName).SetStatus(ctx, forge.CommitStatus{SHA: sha, State: forge.StateSuccess, Context: "c"}))
				_, err = p.DownloadFile(ctx, owner, repoName, "main", ".tinyforge.yml", 0)
				errs = append(errs, err)
				_, err = p.BranchHead(ctx, owner, repoName, "main")
				errs = append(errs, err)
			}
			nErr := 0
			for _, err := range errs {
				if err == nil {
					continue
				}
				nErr++
				if strings.Contains(err.Error(), canary) {
					t.Errorf("error leaks the token: %v", err)
				}
			}
			if nErr < 10 {
				t.Errorf("only %d operations failed: the faults did not apply", nErr)
			}
			if strings.Contains(logs.String(), canary) {
				t.Errorf("logs leak the token:\n%s", logs.String())
			}
			if !strings.Contains(logs.String(), "http request") {
				t.Errorf("nothing was logged: the log check proves nothing")
			}
			if strings.Contains(logs.String(), "ref=") {
				t.Errorf("logs contain a query string:\n%s", logs.String())
			}
			if len(foreign.Requests()) == 0 {
				t.Fatal("no request reached the foreign origin: the redirect check proves nothing")
			}
			for _, r := range foreign.Requests() {
				for k, v := range r.Header {
					if strings.Contains(strings.Join(v, " "), canary) {
						t.Errorf("token sent to a foreign origin in header %s", k)
					}
				}
				if strings.Contains(r.Query+string(r.Body), canary) {
					t.Errorf("token sent to a foreign origin in query or body")
				}
			}
		})
	}
}

// TestRetryAfterCapThroughProvider: a forge answering Retry-After: 3600 makes
// the provider fail fast with a clear error instead of sleeping an hour.
func TestRetryAfterCapThroughProvider(t *testing.T) {
	for _, fc := range forgeCases() {
		t.Run(fc.name, func(t *testing.T) {
			f, _ := fc.setup(t, forgefake.Options{}, nil)
			cfg := testHTTPConfig(nil)
			cfg.RetryAfterUnit = time.Second // real seconds: a sleep would hang the test
			cfg.MaxRetryAfter = time.Minute
			p := fc.newProvider(t, f, Options{Token: testToken, HTTPClient: NewHTTPClient(cfg)})
			f.SetFault(forgefake.Fault{Kind: forgefake.FaultRateLimit, RetryAfter: 3600})
			sha := f.PutFile(owner, repoName, "main", "a", []byte("1"))
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			err := p.Repo(owner, repoName).SetStatus(ctx, forge.CommitStatus{SHA: sha, State: forge.StateSuccess, Context: "c"})
			if !errors.Is(err, ErrRetryAfterTooLong) {
				t.Fatalf("err = %v, want ErrRetryAfterTooLong", err)
			}
			if errors.Is(err, forge.ErrForbidden) {
				t.Errorf("a rate limit must not read as forbidden: %v", err)
			}
			if ctx.Err() != nil {
				t.Error("the provider waited instead of failing fast")
			}
			if n := len(f.Requests()); n != 1 {
				t.Errorf("requests = %d, want 1", n)
			}
		})
	}
}

// TestSecondaryRateLimitRetried: a comment POST refused by a secondary rate
// limit is retried after Retry-After (it was not processed) and stored once.
func TestSecondaryRateLimitRetried(t *testing.T) {
	for _, fc := range forgeCases() {
		t.Run(fc.name, func(t *testing.T) {
			f, p := fc.setup(t, forgefake.Options{}, nil)
			f.SetFault(forgefake.Fault{Kind: forgefake.FaultRateLimit, Method: http.MethodPost, RetryAfter: 2, Times: 2})
			res, err := p.Repo(owner, repoName).UpsertComment(context.Background(), forge.CommentRequest{Number: 7, Context: ctxName, RunID: 1, Body: "x"})
			if err != nil {
				t.Fatal(err)
			}
			var got []int
			for _, r := range f.Requests() {
				if r.Method == http.MethodPost {
					got = append(got, r.Status)
				}
			}
			if diff := cmp.Diff([]int{403, 403, 201}, got); diff != "" {
				t.Errorf("POST statuses (-want +got):\n%s", diff)
			}
			if n := len(f.Comments(owner, repoName, 7)); res.Action != forge.CommentCreated || n != 1 {
				t.Errorf("action %q, %d comments", res.Action, n)
			}
		})
	}
}

// TestGiteaNoVersionProbe: constructing and using the Gitea provider never
// asks /api/v1/version.
func TestGiteaNoVersionProbe(t *testing.T) {
	f := forgefake.NewGitea(t, forgefake.Options{Spec: specs.Gitea(t)})
	f.AddToken(testToken, forgefake.Token{Login: botLogin})
	f.PutFile(owner, repoName, "main", ".tinyforge.yml", []byte("v"))
	g, err := NewGitea(Options{BaseURL: f.URL(), Token: testToken, HTTPClient: testClient(t, nil)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.DownloadFile(context.Background(), owner, repoName, "main", ".tinyforge.yml", 0); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range f.Requests() {
		got = append(got, r.Method+" "+r.Path+"?"+r.Query)
	}
	if diff := cmp.Diff([]string{"GET /api/v1/repos/acme/app/raw/.tinyforge.yml?ref=main"}, got); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
}

func TestNewProviderRejectsBadURLs(t *testing.T) {
	tests := []struct {
		name string
		new  func(Options) error
		url  string
	}{
		{"github relative", func(o Options) error { _, err := NewGitHub(o); return err }, "api.github.com"},
		{"github with credentials", func(o Options) error { _, err := NewGitHub(o); return err }, "https://user:pw@api.github.com"},
		{"gitea api root", func(o Options) error { _, err := NewGitea(o); return err }, "https://gitea.example/api/v1"},
		{"gitea ftp", func(o Options) error { _, err := NewGitea(o); return err }, "ftp://gitea.example"},
		{"gitlab api root", func(o Options) error { _, err := NewGitLab(o); return err }, "https://gitlab.example/api/v4/"},
		{"gitlab empty", func(o Options) error { _, err := NewGitLab(o); return err }, ""},
	}
	for _, tt := range tests {
		if err := tt.new(Options{BaseURL: tt.url, Token: "t"}); err == nil {
			t.Errorf("%s: no error for %q", tt.name, tt.url)
		}
	}
}

// TestHTTPClientPostTimeoutNotRetried: a POST whose answer never came may
// have been processed: it is not repeated.
func TestHTTPClientPostTimeoutNotRetried(t *testing.T) {
	release := make(chan struct{})
	var mu sync.Mutex
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls++
		mu.Unlock()
		<-release
	}))
	defer srv.Close()
	defer close(release)
	cfg := testHTTPConfig(nil)
	cfg.AttemptTimeout = 250 * time.Millisecond
	_, err := NewHTTPClient(cfg).Post(srv.URL, "application/json", strings.NewReader(`{}`))
	if err == nil {
		t.Fatal("no error for a POST that timed out")
	}
	mu.Lock()
	defer mu.Unlock()
	if calls != 1 {
		t.Errorf("calls = %d, want 1", calls)
	}
}

// TestFiveXXBurstThroughProvider: reads survive a burst of 5xx answers.
func TestFiveXXBurstThroughProvider(t *testing.T) {
	for _, fc := range forgeCases() {
		t.Run(fc.name, func(t *testing.T) {
			f, p := fc.setup(t, forgefake.Options{}, nil)
			f.AddComment(owner, repoName, 7, botLogin, body(1, "old"))
			f.SetFault(forgefake.Fault{Kind: forgefake.FaultStatus, Status: http.StatusBadGateway, Method: http.MethodGet, Times: 3})
			res, err := p.Repo(owner, repoName).UpsertComment(context.Background(), forge.CommentRequest{Number: 7, Context: ctxName, RunID: 2, Body: "new"})
			if err != nil {
				t.Fatal(err)
			}
			if res.Action != forge.CommentUpdated {
				t.Errorf("action = %q, want updated", res.Action)
			}
			var got []int
			for _, r := range f.Requests()[:4] {
				got = append(got, r.Status)
			}
			if diff := cmp.Diff([]int{502, 502, 502, 200}, got); diff != "" {
				t.Errorf("first statuses (-want +got):\n%s", diff)
			}
		})
	}
}

// TestHTTP2OverOneConnection: over TLS the client speaks HTTP/2 even with its own dialer (the
// SSRF-safe one), so a round of parallel requests shares one connection and one handshake.
func TestHTTP2OverOneConnection(t *testing.T) {
	f := forgefake.NewGitHub(t, forgefake.Options{TLS: true})
	f.AddToken(testToken, forgefake.Token{Login: botLogin})
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(f.CertPEM()) {
		t.Fatal("the fake's certificate does not parse")
	}
	cfg := testHTTPConfig(nil)
	cfg.RootCAs = pool
	cfg.DialContext = (&net.Dialer{}).DialContext
	hc := NewHTTPClient(cfg)
	var wg sync.WaitGroup
	protos := make([]string, 8)
	for i := range protos {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest(http.MethodGet, f.URL()+"/user", nil)
			req.Header.Set("Authorization", "Bearer "+testToken)
			resp, err := hc.Do(req)
			if err != nil {
				protos[i] = err.Error()
				return
			}
			resp.Body.Close()
			protos[i] = resp.Proto
		}()
	}
	wg.Wait()
	for i, p := range protos {
		if p != "HTTP/2.0" {
			t.Errorf("request %d: %s, want HTTP/2.0", i, p)
		}
	}
	if f.Handshakes() != 1 || f.Conns() != 1 {
		t.Errorf("%d connections and %d TLS handshakes for 8 parallel requests, want 1 and 1", f.Conns(), f.Handshakes())
	}
}

// TestFirstConnGateForgetsHosts: the gate keeps a host only while its first connection is being
// made, so a long-lived client's map does not grow with every host it ever met; a request
// cancelled while it waits still has its body closed.
func TestFirstConnGateForgetsHosts(t *testing.T) {
	srvs := make([]*httptest.Server, 3)
	for i := range srvs {
		srvs[i] = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
		defer srvs[i].Close()
	}
	g := &firstConnGate{next: http.DefaultTransport}
	for _, s := range srvs {
		req, _ := http.NewRequest(http.MethodGet, s.URL, nil)
		resp, err := g.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	g.mu.Lock()
	n := len(g.hosts)
	g.mu.Unlock()
	if n != 0 {
		t.Errorf("the gate still holds %d hosts after their requests finished", n)
	}

	// A waiter whose context ends: its body is closed and it returns the context's error.
	g.hosts = map[string]chan struct{}{}
	u, _ := url.Parse(srvs[0].URL)
	g.hosts["http://"+u.Host] = make(chan struct{}) // a first request that never connects
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	body := &closeRecorder{Reader: strings.NewReader("x")}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srvs[0].URL, body)
	if _, err := g.RoundTrip(req); !errors.Is(err, context.Canceled) || !body.closed {
		t.Errorf("cancelled waiter: err %v, body closed %v", err, body.closed)
	}
}

type closeRecorder struct {
	io.Reader
	closed bool
}

func (c *closeRecorder) Close() error { c.closed = true; return nil }

// TestRateLimitSaysWhenToAskAgain: a branch read refused by a rate limit, with a wait over the
// client's cap or not, is forge.ErrRateLimited (never forbidden) and says how long the forge
// asked to wait, so the server can back off instead of asking again at once.
func TestRateLimitSaysWhenToAskAgain(t *testing.T) {
	for _, fc := range forgeCases() {
		faults := []forgefake.FaultKind{forgefake.FaultRateLimit, forgefake.FaultTooManyRequests}
		if fc.name == "github" { // the primary limit's answer is GitHub's alone
			faults = append(faults, forgefake.FaultPrimaryRateLimit)
		}
		for _, fault := range faults {
			t.Run(fmt.Sprintf("%s/%d", fc.name, fault), func(t *testing.T) {
				f, _ := fc.setup(t, forgefake.Options{}, nil)
				cfg := testHTTPConfig(nil)
				cfg.RetryAfterUnit = time.Second
				cfg.MaxRetryAfter = 30 * time.Second
				p := fc.newProvider(t, f, Options{Token: testToken, HTTPClient: NewHTTPClient(cfg)})
				f.PutFile(owner, repoName, "main", "a", []byte("1"))
				f.SetFault(forgefake.Fault{Kind: fault, RetryAfter: 120})
				_, err := p.BranchHead(context.Background(), owner, repoName, "main")
				if !errors.Is(err, forge.ErrRateLimited) || errors.Is(err, forge.ErrForbidden) {
					t.Fatalf("err = %v, want forge.ErrRateLimited and not forbidden", err)
				}
				var b interface{ Backoff() time.Duration }
				if !errors.As(err, &b) || b.Backoff() < 115*time.Second || b.Backoff() > 120*time.Second {
					t.Errorf("err = %v: Backoff want 120s", err)
				}
			})
		}
	}
}
