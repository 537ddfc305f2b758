package server

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tinyforge/tinyforge-check/forge"
	"github.com/tinyforge/tinyforge-check/internal/secret"
	"github.com/tinyforge/tinyforge-check/tinyforge"
)

// forgeCanary is the repo access token of test workloads: it must never appear in any answer,
// message or audit row.
const forgeCanary = "ghp_FORGE_CANARY_t0ken_xyz"

// fakeForge is an in-process Forge: branches point at commits, commits hold files. Faults are
// injected per call. It counts calls so tests can check the cache.
type fakeForge struct {
	mu       sync.Mutex
	branches map[string]string            // branch -> commit
	files    map[string]map[string][]byte // commit -> path -> content
	headErr  error
	fileErr  error
	hang     bool // block until ctx ends... or never, when ignoreCtx
	ignore   bool // hang without honouring ctx
	heads    int
	loads    int
	gotToken string
	// delay is each call's latency (honouring ctx); active and peak count calls in progress.
	delay        time.Duration
	active, peak int
	// limited answers every call with a rate limit asking to wait retryAfter.
	limited    bool
	retryAfter time.Duration
}

// rateLimitErr is a forge's rate-limit answer as a provider returns it.
type rateLimitErr struct{ wait time.Duration }

func (e rateLimitErr) Error() string {
	return "read branch head: HTTP 429: rate limited; try again later"
}
func (e rateLimitErr) Is(target error) bool   { return target == forge.ErrRateLimited }
func (e rateLimitErr) Backoff() time.Duration { return e.wait }

// call counts one call in progress for its latency; the returned func ends it.
func (f *fakeForge) call(ctx context.Context) (func(), error) {
	f.mu.Lock()
	f.active++
	f.peak = max(f.peak, f.active)
	d, limited, wait := f.delay, f.limited, f.retryAfter
	f.mu.Unlock()
	end := func() {
		f.mu.Lock()
		f.active--
		f.mu.Unlock()
	}
	if d > 0 {
		select {
		case <-time.After(d):
		case <-ctx.Done():
			end()
			return nil, ctx.Err()
		}
	}
	if limited {
		end()
		return nil, rateLimitErr{wait}
	}
	return end, nil
}

func newFakeForge() *fakeForge {
	return &fakeForge{branches: map[string]string{}, files: map[string]map[string][]byte{}}
}

// push makes a new commit on branch with path set to content (nil deletes it).
func (f *fakeForge) push(branch, commit, path string, content []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	prev := f.files[f.branches[branch]]
	files := map[string][]byte{}
	for k, v := range prev {
		files[k] = v
	}
	if content == nil {
		delete(files, path)
	} else {
		files[path] = content
	}
	f.files[commit] = files
	f.branches[branch] = commit
}

func (f *fakeForge) counts() (heads, loads int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.heads, f.loads
}

func (f *fakeForge) wait(ctx context.Context) error {
	if f.ignore {
		time.Sleep(2 * time.Second)
		return fmt.Errorf("too late")
	}
	<-ctx.Done()
	return fmt.Errorf("dial forge: %w", ctx.Err())
}

func (f *fakeForge) BranchHead(ctx context.Context, owner, repo, branch string) (string, error) {
	f.mu.Lock()
	f.heads++
	f.mu.Unlock()
	end, err := f.call(ctx)
	if err != nil {
		return "", err
	}
	defer end()
	f.mu.Lock()
	hang, err, head := f.hang, f.headErr, f.branches[branch]
	f.mu.Unlock()
	if hang {
		return "", f.wait(ctx)
	}
	if err != nil {
		return "", err
	}
	if head == "" {
		return "", fmt.Errorf("branch %s: 404 not found", branch)
	}
	return head, nil
}

func (f *fakeForge) DownloadFile(ctx context.Context, owner, repo, ref, path string, maxBytes int64) ([]byte, error) {
	f.mu.Lock()
	f.loads++
	f.mu.Unlock()
	end, err := f.call(ctx)
	if err != nil {
		return nil, err
	}
	defer end()
	f.mu.Lock()
	err = f.fileErr
	data, ok := f.files[ref][path]
	f.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("GET %s at %s: 404: %w", path, ref, ErrFileNotFound)
	}
	if int64(len(data)) > maxBytes {
		return nil, ErrFileTooLarge
	}
	return data, nil
}

// env is one test server: store, HTTP server, forge and tokens of each kind.
type env struct {
	t     testing.TB
	store *Store
	// dbPath is the store's SQLite file, for a second connection (another process).
	dbPath string
	srv    *Server
	// http serves srv.Handler() with Config.WriteTimeout as its WriteTimeout (0: none).
	http   *httptest.Server
	forge  *fakeForge
	admin  string
	viewer string
	// limited is a viewer token limited to workload 1; limitedAdmin an admin one.
	limited, limitedAdmin string
	revoked               string
}

type envOption func(*Config)

func newEnv(t testing.TB, opts ...envOption) *env {
	t.Helper()
	ctx := context.Background()
	dbPath := filepath.Join(t.TempDir(), "tf.db")
	st, err := Open(ctx, dbPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	key := bytes.Repeat([]byte{7}, KeySize)
	ci, err := NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, store: st, dbPath: dbPath, forge: newFakeForge()}
	cfg := Config{Store: st, Cipher: ci, PublicURL: "https://tf.example.com",
		OpenForge: func(provider, baseURL, token string) (Forge, error) {
			e.forge.mu.Lock()
			e.forge.gotToken = token
			e.forge.mu.Unlock()
			return e.forge, nil
		}}
	for _, o := range opts {
		o(&cfg)
	}
	if e.srv, err = New(cfg); err != nil {
		t.Fatal(err)
	}
	e.http = httptest.NewUnstartedServer(e.srv.Handler())
	e.http.Config.WriteTimeout = cfg.WriteTimeout // as cmd/tinyforge-server's http.Server
	e.http.Start()
	t.Cleanup(e.http.Close)
	mk := func(name, role string, wl int64) string {
		sec, _, err := st.CreateToken(ctx, name, role, wl)
		if err != nil {
			t.Fatal(err)
		}
		return sec
	}
	e.admin = mk("admin", RoleAdmin, 0)
	e.viewer = mk("viewer", RoleViewer, 0)
	e.limited = mk("limited", RoleViewer, 1)
	e.limitedAdmin = mk("limited-admin", RoleAdmin, 1)
	e.revoked = mk("revoked", RoleAdmin, 0)
	toks, _ := st.ListTokens(ctx)
	for _, tk := range toks {
		if tk.Name == "revoked" {
			if err := st.RevokeToken(ctx, tk.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	return e
}

// do sends a request with token (none when "") and returns status and body. It fails the test
// when there is no answer, so call it from the test's goroutine; other goroutines use send.
func (e *env) do(method, path, token, body string) (int, string) {
	e.t.Helper()
	code, b, err := e.send(method, path, token, body)
	if err != nil {
		e.t.Fatal(err)
	}
	return code, b
}

// send is do for any goroutine: a request that gets no whole answer (a dropped connection, cut
// off by the server's write timeout) is an error, not a test failure.
func (e *env) send(method, path, token, body string) (int, string, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.http.URL+path, rd)
	if err != nil {
		return 0, "", err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, "", fmt.Errorf("%s %s: read the answer: %w", method, path, err)
	}
	if secret.Redact(string(b), forgeCanary, e.admin) != string(b) { // any form or piece of a token
		e.t.Errorf("%s %s: answer leaks a token: %s", method, path, b)
	}
	return resp.StatusCode, string(b), nil
}

// deadlineEnv is newEnv for a test of the request deadline: SyncDeadline deadline, WriteTimeout
// writeTimeout, and the server's log kept in the returned buffer.
func deadlineEnv(t *testing.T, deadline, writeTimeout time.Duration) (*env, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	e := newEnv(t, func(c *Config) {
		c.SyncDeadline, c.WriteTimeout = deadline, writeTimeout
		c.Logger = slog.New(slog.NewTextHandler(logs, nil))
	})
	return e, logs
}

// syncTokens creates n admin tokens, one per Sync so that each audit row names its request, and
// returns their secrets and the audit actors they write as.
func (e *env) syncTokens(n int) (secrets, actors []string) {
	e.t.Helper()
	secrets, actors = make([]string, n), make([]string, n)
	for i := range n {
		sec, tok, err := e.store.CreateToken(context.Background(), fmt.Sprintf("sync%02d", i), RoleAdmin, 0)
		if err != nil {
			e.t.Fatal(err)
		}
		secrets[i], actors[i] = sec, Caller{Token: tok}.actor()
	}
	return secrets, actors
}

// syncBuffer is a bytes.Buffer safe for concurrent writes: a test's log destination.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// doJSON is do that decodes a 2xx answer into out and fails the test on another status.
func (e *env) doJSON(method, path, token, body string, wantStatus int, out any) {
	e.t.Helper()
	code, b := e.do(method, path, token, body)
	if code != wantStatus {
		e.t.Fatalf("%s %s = %d %s, want %d", method, path, code, b, wantStatus)
	}
	if out != nil {
		if err := json.Unmarshal([]byte(b), out); err != nil {
			e.t.Fatalf("%s %s: decode %q: %v", method, path, b, err)
		}
	}
}

// createWorkload creates a workload on the fake forge's "main" branch.
func (e *env) createWorkload(name, sourceType, cfg string) tinyforge.Workload {
	e.t.Helper()
	body := fmt.Sprintf(`{"name":%q,"source_type":%q,"source_config":%s,"repo":{"provider":"gitea","base_url":"https://gitea.example.com","owner":"acme","repo":"app","branch":"main","access_token":%q}}`,
		name, sourceType, cfg, forgeCanary)
	var w tinyforge.Workload
	e.doJSON("POST", "/api/workloads", e.admin, body, 201, &w)
	return w
}

func (e *env) enable(id int64) tinyforge.GitOpsView {
	e.t.Helper()
	var v tinyforge.GitOpsView
	e.doJSON("PUT", fmt.Sprintf("/api/workloads/%d/gitops", id), e.admin, `{"enabled":true,"path":".tinyforge.yml"}`, 200, &v)
	return v
}

func (e *env) events(id int64) []tinyforge.Event {
	e.t.Helper()
	var evs []tinyforge.Event
	e.doJSON("GET", fmt.Sprintf("/api/workloads/%d/events", id), e.admin, "", 200, &evs)
	return evs
}

// blobSHA1 is `git hash-object` of data, computed here independently of gitops.FileSHA.
func blobSHA1(data []byte) string {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", len(data))
	h.Write(data)
	return hex.EncodeToString(h.Sum(nil))
}

const goodFile = "version: 1\ndeploy:\n  port: 8080\n  healthcheck: /healthz\n  deploy_strategy: rolling\n"
