// Package forgefake provides stateful fakes of GitHub, Gitea/Forgejo and
// GitLab for tests: httptest servers holding repositories (files at commits,
// branch heads), PR comments, commit statuses, and issues with their labels
// and comments (issue numbers start at 1000), with fault injection
// (rate limits, 5xx bursts, stored-then-502 POSTs, cross-origin redirects,
// read-only tokens), request recording, and validation of every request and
// response against the forge's official API description so the fakes cannot
// drift from the real services.
//
// Start one with NewGitHub, NewGitea or NewGitLab; each is closed by its
// owner's cleanup: a test's, or a Standalone's Close outside tests (the
// server's demo serves a fake Gitea). All methods are safe for concurrent use.
package forgefake

import (
	"bytes"
	"crypto/sha1"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Owner is who a fake reports to and is closed by: a test's testing.TB, or
// a *Standalone.
type Owner interface {
	// Errorf reports a request or answer that violates the API description.
	Errorf(format string, args ...any)
	// Cleanup registers what closes the fake.
	Cleanup(func())
}

// Standalone owns fakes outside tests. Violations go to Log (nil discards
// them); Close closes every fake it owns, newest first. The zero value is
// ready.
type Standalone struct {
	// Log receives each violation of an API description.
	Log func(format string, args ...any)

	mu       sync.Mutex
	cleanups []func()
}

// Errorf passes a violation to Log.
func (s *Standalone) Errorf(format string, args ...any) {
	if s.Log != nil {
		s.Log(format, args...)
	}
}

// Cleanup registers f to run at Close.
func (s *Standalone) Cleanup(f func()) {
	s.mu.Lock()
	s.cleanups = append(s.cleanups, f)
	s.mu.Unlock()
}

// Close closes the fakes, newest first; a second Close does nothing.
func (s *Standalone) Close() {
	s.mu.Lock()
	fs := s.cleanups
	s.cleanups = nil
	s.mu.Unlock()
	for i := len(fs) - 1; i >= 0; i-- {
		fs[i]()
	}
}

// Options configure a fake. The zero value serves without latency and
// without spec validation (GitLab has no machine-readable description).
type Options struct {
	// Spec validates every request and response; a violation fails the test
	// and the request is answered 400. Use Specs.GitHub / Specs.Gitea.
	Spec *Spec
	// Latency, when positive, delays each request by a random duration in
	// [0, Latency) before it is handled.
	Latency time.Duration
	// Delay, when positive, delays each request by exactly Delay before it is handled (a fixed
	// time per request, for benchmarks; connection setup is not delayed).
	Delay time.Duration
	// ReadLag, when positive, serves every GET from a read replica that lags the writes by
	// ReadLag: it sees the comments and issues as they were ReadLag earlier (seeded ones
	// included), while writes apply at once (and see the primary).
	ReadLag time.Duration
	// TLS serves HTTPS with HTTP/2 (httptest's self-signed certificate for
	// 127.0.0.1; CertPEM gives it to clients) instead of plain HTTP.
	TLS bool
	// Forgejo, for the Gitea fake, is the version it reports at ForgejoVersionPath as a
	// Forgejo server does (e.g. "11.0.3+gitea-1.22.0"); "" makes it Gitea, which has no such
	// route and answers it 404. The other fakes ignore it.
	Forgejo string
}

// Token describes what a bearer of a token may do.
type Token struct {
	// Login is the identity comments and statuses are written as.
	Login string
	// ReadOnly makes every write answer 403 (the token of a fork PR).
	ReadOnly bool
	// Integration makes GET /user answer 403 "Resource not accessible by
	// integration" (GitHub's job token; Login should be github-actions[bot]).
	Integration bool
	// CannotSetStatus makes commit statuses answer 403 while comments still work: Gitea's
	// job token on a fork PR, under pull_request and pull_request_target alike (recorded from
	// Gitea 1.26; Login should be gitea-actions). Gitea fake only.
	CannotSetStatus bool
	// NoReadUser makes GET /api/v1/user answer 403 naming the read:user scope: a Gitea or
	// Forgejo personal token created without it. Gitea fake only.
	NoReadUser bool
}

// Comment is a PR/MR comment held by a fake.
type Comment struct {
	ID      int64
	Author  string
	Body    string
	Created time.Time
	Updated time.Time
}

// Status is a commit status held by a fake, in the check's vocabulary as the
// forge stored it (GitLab: its own state names).
type Status struct {
	ID          int64
	State       string
	Context     string
	Description string
	TargetURL   string
	Creator     string
}

// Request is one recorded request.
type Request struct {
	Method string
	Path   string // escaped path
	Query  string // raw query
	Header http.Header
	Body   []byte
	Status int // the status answered
}

// FaultKind selects what a Fault does.
type FaultKind int

// The faults a fake can inject.
const (
	// FaultStatus answers Status (e.g. 500, 502) without handling.
	FaultStatus FaultKind = iota + 1
	// FaultStoreThen502 handles the request (a POST is stored), then
	// answers 502 instead of the real answer.
	FaultStoreThen502
	// FaultRateLimit answers GitHub's secondary rate limit: 403 with
	// Retry-After: RetryAfter (seconds) and the documentation URL.
	FaultRateLimit
	// FaultTooManyRequests answers 429 with Retry-After: RetryAfter.
	FaultTooManyRequests
	// FaultRedirect answers 307 to RedirectTo + the request's path and
	// query (another origin).
	FaultRedirect
	// FaultPrimaryRateLimit answers GitHub's primary rate limit: 403 with
	// X-RateLimit-Remaining: 0 and X-RateLimit-Reset RetryAfter seconds from now (an epoch
	// time), and no Retry-After, as GitHub does when a token's hourly budget is spent.
	FaultPrimaryRateLimit
)

// Fault injects a failure into matching requests.
type Fault struct {
	Kind FaultKind
	// Method matches the request method; empty matches all.
	Method string
	// PathContains matches requests whose path contains it; empty matches
	// all.
	PathContains string
	// Times is how many matching requests are affected; 0 means all.
	Times int
	// Status is the code FaultStatus answers.
	Status int
	// Body, when set, is FaultStatus's JSON answer instead of the status text: a forge error
	// that quotes what it was sent (tests of redaction).
	Body string
	// RetryAfter is the Retry-After, in seconds, of the rate-limit faults (for
	// FaultPrimaryRateLimit: how far ahead X-RateLimit-Reset is).
	RetryAfter int
	// RedirectTo is the origin FaultRedirect sends the client to.
	RedirectTo string
}

// repo is one repository's state.
type repo struct {
	branches map[string]string            // branch -> head commit sha
	commits  map[string]map[string][]byte // sha -> path -> content
	comments map[int][]*Comment           // PR or issue number -> comments, by id
	statuses map[string][]*Status         // sha -> statuses, oldest first
	issues   map[int]*issueState          // issue number -> issue
	labels   []*label                     // by creation
	pulls    map[int]*pull                // PR number -> pull request (OpenPull)
}

// core holds what every fake shares: state, tokens, faults, recording and
// the validating middleware.
type core struct {
	t       Owner
	srv     *httptest.Server
	opts    Options
	forge   string
	mu      sync.Mutex
	repos   map[string]*repo
	tokens  map[string]Token
	faults  []*faultState
	reqs    []Request
	nextID  int64
	clock   time.Time
	handler http.Handler
	replica []replicaState // with ReadLag: the states GETs can still be served, oldest first

	conns, handshakes atomic.Int64
}

type faultState struct {
	Fault
	used int
}

func newCore(t Owner, forge string, opts Options) *core {
	return &core{
		t:      t,
		opts:   opts,
		forge:  forge,
		repos:  map[string]*repo{},
		tokens: map[string]Token{},
		nextID: 1000,
		clock:  time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
	}
}

func (c *core) start(h http.Handler) {
	c.handler = h
	c.srv = httptest.NewUnstartedServer(http.HandlerFunc(c.serve))
	c.srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			c.conns.Add(1)
		}
	}
	if c.opts.TLS {
		c.srv.EnableHTTP2 = true
		c.srv.StartTLS()
		c.srv.TLS.GetConfigForClient = func(*tls.ClientHelloInfo) (*tls.Config, error) {
			c.handshakes.Add(1)
			return nil, nil
		}
	} else {
		c.srv.Start()
	}
	c.t.Cleanup(c.srv.Close)
}

// Conns is how many connections clients opened to the fake so far.
func (c *core) Conns() int { return int(c.conns.Load()) }

// Handshakes is how many TLS handshakes clients started with the fake so far
// (0 without Options.TLS).
func (c *core) Handshakes() int { return int(c.handshakes.Load()) }

// CertPEM is the fake's TLS certificate in PEM, for a client's trust store
// (SSL_CERT_FILE); nil without Options.TLS.
func (c *core) CertPEM() []byte {
	if c.srv.Certificate() == nil {
		return nil
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.srv.Certificate().Raw})
}

// baseURL is the scheme and host a request reached the fake at, for the URLs
// in its answers.
func baseURL(r *http.Request) string {
	if r.TLS != nil {
		return "https://" + r.Host
	}
	return "http://" + r.Host
}

// URL is the fake's root URL (GitHub: the API root; Gitea and GitLab: the
// web root, the API living under /api/v1 and /api/v4).
func (c *core) URL() string { return c.srv.URL }

// Client returns an http.Client for the fake (plain, no retries).
func (c *core) Client() *http.Client { return c.srv.Client() }

// AddToken registers a token.
func (c *core) AddToken(token string, tk Token) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.tokens[token] = tk
}

// AddRepo creates an empty repository (idempotent).
func (c *core) AddRepo(owner, name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.repo(owner, name, true)
}

// pathRepo returns the repository named by the request's {owner} and {repo}
// path values, or nil. The caller holds c.mu.
func (c *core) pathRepo(r *http.Request) *repo {
	owner, name := r.PathValue("owner"), r.PathValue("repo")
	return c.lagged(r, strings.ToLower(owner+"/"+name), c.repo(owner, name, false))
}

// lockRepo locks mu and returns the request's repository; when there is none
// it unlocks mu, answers with notFound and returns nil.
func (c *core) lockRepo(w http.ResponseWriter, r *http.Request, notFound func(http.ResponseWriter)) *repo {
	c.mu.Lock()
	rp := c.pathRepo(r)
	if rp == nil {
		c.mu.Unlock()
		notFound(w)
	}
	return rp
}

// lockIssue locks mu and returns the request's repository and its issue
// number; when either is missing it unlocks mu, answers with notFound and
// returns a nil issue.
func (c *core) lockIssue(w http.ResponseWriter, r *http.Request, number int, notFound func(http.ResponseWriter)) (*repo, *issueState) {
	c.mu.Lock()
	rp := c.pathRepo(r)
	if rp == nil || rp.issues[number] == nil {
		c.mu.Unlock()
		notFound(w)
		return rp, nil
	}
	return rp, rp.issues[number]
}

// authorize returns the caller's token. Without one it answers 401 with
// unauthorized; for a write with a ReadOnly token, 403 with forbidden (both
// through fail).
func (c *core) authorize(w http.ResponseWriter, r *http.Request, write bool, fail func(http.ResponseWriter, int, string), unauthorized, forbidden string) (Token, bool) {
	tk, ok := c.token(r)
	if !ok {
		fail(w, http.StatusUnauthorized, unauthorized)
		return tk, false
	}
	if write && tk.ReadOnly {
		fail(w, http.StatusForbidden, forbidden)
		return tk, false
	}
	return tk, true
}

func (c *core) repo(owner, name string, create bool) *repo {
	k := strings.ToLower(owner + "/" + name)
	r := c.repos[k]
	if r == nil && create {
		r = &repo{branches: map[string]string{}, commits: map[string]map[string][]byte{},
			comments: map[int][]*Comment{}, statuses: map[string][]*Status{}, issues: map[int]*issueState{}}
		c.repos[k] = r
	}
	return r
}

// PutFile commits content at path on branch (creating the repository and
// branch if needed), moves the branch head to the new commit and returns its
// sha. Other files of the previous head are kept.
func (c *core) PutFile(owner, name, branch, path string, content []byte) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.repo(owner, name, true)
	files := map[string][]byte{}
	if head, ok := r.branches[branch]; ok {
		for p, b := range r.commits[head] {
			files[p] = b
		}
	}
	path = strings.TrimPrefix(path, "/")
	if content == nil {
		delete(files, path)
	} else {
		files[path] = append([]byte(nil), content...)
	}
	c.nextID++
	h := sha1.Sum([]byte(fmt.Sprintf("%s/%s@%s#%d:%s", owner, name, branch, c.nextID, path)))
	sha := hex.EncodeToString(h[:])
	r.commits[sha] = files
	r.branches[branch] = sha
	return sha
}

// PutFileAt stores content at path in the commit sha, creating the
// repository and the commit if needed, and moves no branch: for tests whose
// events carry fixed commit SHAs (a PR's base and head, a push's after). A
// nil content removes path, so PutFileAt(owner, name, sha, "", nil) creates
// an empty commit that statuses can be set on.
func (c *core) PutFileAt(owner, name, sha, path string, content []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.repo(owner, name, true)
	files := r.commits[sha]
	if files == nil {
		files = map[string][]byte{}
		r.commits[sha] = files
	}
	path = strings.TrimPrefix(path, "/")
	if content == nil {
		delete(files, path)
	} else {
		files[path] = append([]byte(nil), content...)
	}
}

// DeleteFile commits the removal of path on branch and returns the new head.
func (c *core) DeleteFile(owner, name, branch, path string) string {
	return c.PutFile(owner, name, branch, path, nil)
}

// BranchHead returns the head commit of branch ("" if none).
func (c *core) BranchHead(owner, name, branch string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r := c.repo(owner, name, false); r != nil {
		return r.branches[branch]
	}
	return ""
}

// AddComment stores a comment on PR or issue number as author (seeding
// state, e.g. a human comment) and returns its id.
func (c *core) AddComment(owner, name string, number int, author, body string) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	defer c.snapshot()
	return c.addComment(c.repo(owner, name, true), number, author, body).ID
}

func (c *core) addComment(r *repo, number int, author, body string) *Comment {
	c.nextID++
	now := c.now()
	cm := &Comment{ID: c.nextID, Author: author, Body: body, Created: now, Updated: now}
	r.comments[number] = append(r.comments[number], cm)
	if is := r.issues[number]; is != nil {
		is.updated = now
	}
	return cm
}

func (c *core) now() time.Time {
	c.clock = c.clock.Add(time.Second)
	return c.clock
}

// Comments returns copies of the comments on PR or issue number, oldest
// first.
func (c *core) Comments(owner, name string, number int) []Comment {
	return repoCopies(c, owner, name, func(r *repo) []*Comment { return r.comments[number] })
}

// Statuses returns copies of the statuses of commit sha, oldest first.
func (c *core) Statuses(owner, name, sha string) []Status {
	return repoCopies(c, owner, name, func(r *repo) []*Status { return r.statuses[sha] })
}

// repoCopies returns copies of the values pick finds in repository
// owner/name (nil without one), never nil otherwise.
func repoCopies[T any](c *core, owner, name string, pick func(*repo) []*T) []T {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.repo(owner, name, false)
	if r == nil {
		return nil
	}
	ps := pick(r)
	out := make([]T, 0, len(ps))
	for _, p := range ps {
		out = append(out, *p)
	}
	return out
}

// SetFault adds a fault; faults are tried in the order added.
func (c *core) SetFault(f Fault) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.faults = append(c.faults, &faultState{Fault: f})
}

// ClearFaults removes every fault.
func (c *core) ClearFaults() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.faults = nil
}

// Requests returns the requests served so far, in order.
func (c *core) Requests() []Request {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Request(nil), c.reqs...)
}

// ResetRequests forgets the recorded requests.
func (c *core) ResetRequests() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reqs = nil
}

// fault returns the first active fault matching r, consuming one use.
func (c *core) fault(r *http.Request) *Fault {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, f := range c.faults {
		if f.Times > 0 && f.used >= f.Times {
			continue
		}
		if f.Method != "" && !strings.EqualFold(f.Method, r.Method) {
			continue
		}
		if f.PathContains != "" && !strings.Contains(r.URL.Path, f.PathContains) {
			continue
		}
		f.used++
		ff := f.Fault
		return &ff
	}
	return nil
}

// token returns the token of a request as the forge reads it.
func (c *core) token(r *http.Request) (Token, bool) {
	var raw string
	switch c.forge {
	case "gitlab":
		raw = r.Header.Get("Private-Token")
		if raw == "" {
			raw = r.Header.Get("Job-Token")
		}
		if raw == "" {
			raw, _ = strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		}
	default:
		a := r.Header.Get("Authorization")
		if v, ok := strings.CutPrefix(a, "Bearer "); ok {
			raw = v
		} else if v, ok := strings.CutPrefix(a, "token "); ok {
			raw = v
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	tk, ok := c.tokens[raw]
	return tk, ok && raw != ""
}

// serve records, delays, validates and dispatches a request, then validates
// the answer before sending it.
func (c *core) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, "read body", http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	if c.opts.Latency > 0 {
		time.Sleep(rand.N(c.opts.Latency))
	}
	time.Sleep(c.opts.Delay)
	rec := Request{Method: r.Method, Path: r.URL.EscapedPath(), Query: r.URL.RawQuery, Header: r.Header.Clone(), Body: body}
	rw := &bufferedWriter{header: http.Header{}, status: http.StatusOK}
	c.handle(rw, r, body)
	// Record before answering, so a client that got its answer sees the
	// request in Requests().
	rec.Status = rw.status
	c.mu.Lock()
	c.reqs = append(c.reqs, rec)
	if r.Method != http.MethodGet {
		c.snapshot()
	}
	c.mu.Unlock()
	for k, v := range rw.header {
		w.Header()[k] = v
	}
	w.WriteHeader(rw.status)
	w.Write(rw.body.Bytes())
}

// handle validates the request, applies faults and runs the forge's handler
// into rw, validating its answer.
func (c *core) handle(rw *bufferedWriter, r *http.Request, body []byte) {
	// Forgejo's own API (/api/forgejo/v1) is in no Gitea description: the Gitea fake checks
	// that route's answers itself (forgejoVersion).
	validate := c.opts.Spec != nil && !(c.forge == "gitea" && r.URL.Path == ForgejoVersionPath)
	if validate {
		if err := c.opts.Spec.ValidateRequest(r, body); err != nil {
			c.t.Errorf("forgefake %s: %v", c.forge, err)
			http.Error(rw, "request violates the API description", http.StatusBadRequest)
			return
		}
	}
	f := c.fault(r)
	if f != nil && f.Kind != FaultStoreThen502 {
		c.writeFault(rw, r, f)
		return
	}
	c.handler.ServeHTTP(rw, r)
	if validate {
		if err := c.opts.Spec.ValidateResponse(r, body, rw.status, rw.header, rw.body.Bytes()); err != nil {
			c.t.Errorf("forgefake %s: %v", c.forge, err)
		}
	}
	if f != nil { // stored, then the answer is lost
		*rw = bufferedWriter{header: http.Header{}, status: http.StatusOK}
		http.Error(rw, "502 Bad Gateway", http.StatusBadGateway)
	}
}

func (c *core) writeFault(w http.ResponseWriter, r *http.Request, f *Fault) {
	switch f.Kind {
	case FaultStatus:
		if f.Body != "" {
			writeJSON(w, f.Status, []byte(f.Body))
			return
		}
		http.Error(w, http.StatusText(f.Status), f.Status)
	case FaultRateLimit:
		w.Header().Set("Retry-After", fmt.Sprint(f.RetryAfter))
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, `{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again.","documentation_url":"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"}`)
	case FaultTooManyRequests:
		w.Header().Set("Retry-After", fmt.Sprint(f.RetryAfter))
		http.Error(w, "429 Too Many Requests", http.StatusTooManyRequests)
	case FaultPrimaryRateLimit:
		h := w.Header()
		h.Set("X-RateLimit-Limit", "5000")
		h.Set("X-RateLimit-Remaining", "0")
		h.Set("X-RateLimit-Used", "5000")
		h.Set("X-RateLimit-Resource", "core")
		h.Set("X-RateLimit-Reset", fmt.Sprint(time.Now().Add(time.Duration(f.RetryAfter)*time.Second).Unix()))
		h.Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, `{"message":"API rate limit exceeded for user ID 1. If you reach out to GitHub Support for help, please include the request ID.","documentation_url":"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api","status":"403"}`)
	case FaultRedirect:
		target := strings.TrimSuffix(f.RedirectTo, "/") + r.URL.RequestURI()
		http.Redirect(w, r, target, http.StatusTemporaryRedirect)
	default:
		http.Error(w, "unknown fault", http.StatusInternalServerError)
	}
}

// bufferedWriter holds an answer until it has been validated.
type bufferedWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
	wrote  bool
}

func (b *bufferedWriter) Header() http.Header { return b.header }
func (b *bufferedWriter) WriteHeader(s int) {
	if !b.wrote {
		b.status, b.wrote = s, true
	}
}
func (b *bufferedWriter) Write(p []byte) (int, error) {
	b.wrote = true
	return b.body.Write(p)
}

// writeJSON answers v as JSON.
func writeJSON(w http.ResponseWriter, status int, v []byte) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(v)
}

// pathNumber reads the request's path value name as a number; when it is none
// it answers with notFound and returns false.
func pathNumber(w http.ResponseWriter, r *http.Request, name string, notFound func(http.ResponseWriter)) (int, bool) {
	n, err := strconv.Atoi(r.PathValue(name))
	if err != nil {
		notFound(w)
		return 0, false
	}
	return n, true
}

// writeValue answers v marshalled as JSON.
func writeValue(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	writeJSON(w, status, b)
}

// unlockAnswer unlocks mu, which the caller holds, and answers v (built
// under mu) as JSON.
func (c *core) unlockAnswer(w http.ResponseWriter, status int, v any) {
	c.mu.Unlock()
	writeValue(w, status, v)
}

// sortedComments returns comments by id.
func sortedComments(cs []*Comment) []*Comment {
	out := append([]*Comment(nil), cs...)
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Foreign is a server at another origin that records what reaches it, to
// prove no credential follows a redirect there.
type Foreign struct {
	srv  *httptest.Server
	mu   sync.Mutex
	reqs []Request
}

// NewForeign starts a recording server answering 404 to everything.
func NewForeign(t Owner) *Foreign {
	f := &Foreign{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		f.mu.Lock()
		f.reqs = append(f.reqs, Request{Method: r.Method, Path: r.URL.EscapedPath(), Query: r.URL.RawQuery, Header: r.Header.Clone(), Body: body, Status: 404})
		f.mu.Unlock()
		http.NotFound(w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// URL is the foreign server's origin.
func (f *Foreign) URL() string { return f.srv.URL }

// Requests returns what reached the foreign server.
func (f *Foreign) Requests() []Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Request(nil), f.reqs...)
}

// paging reads per_page (default def, at most 100) and page (default 1).
func paging(r *http.Request, def int) (perPage, page int) {
	perPage, page = def, 1
	if v, err := strconv.Atoi(r.URL.Query().Get("per_page")); err == nil && v > 0 {
		perPage = min(v, 100)
	}
	if v, err := strconv.Atoi(r.URL.Query().Get("page")); err == nil && v > 0 {
		page = v
	}
	return perPage, page
}

// pageLink returns a maker of Link header entries: the request's URL with
// page p (and per_page perPage unless 0), as relation rel.
func pageLink(r *http.Request, perPage int) func(p int, rel string) string {
	return func(p int, rel string) string {
		q := r.URL.Query()
		q.Set("page", strconv.Itoa(p))
		if perPage > 0 {
			q.Set("per_page", strconv.Itoa(perPage))
		}
		return fmt.Sprintf(`<%s%s?%s>; rel="%s"`, baseURL(r), r.URL.EscapedPath(), q.Encode(), rel)
	}
}

// findComment locates a comment by id in a repository; the caller holds mu.
func findComment(rp *repo, id int64) (int, int, *Comment) {
	for n, cs := range rp.comments {
		for i, c := range cs {
			if c.ID == id {
				return n, i, c
			}
		}
	}
	return 0, -1, nil
}

// commentErrs is how a forge answers a change to a comment that is missing (404).
type commentErrs struct {
	fail     func(w http.ResponseWriter, status int, msg string)
	notFound string
}

// find finds comment id in rp (nil: no repository); it answers 404 and returns false when the
// comment is missing. Whose comment it is does not matter: GitHub, Gitea and GitLab let any
// token that may write to the repository's issues edit and delete anyone's comment there, so
// only the check's own author filter keeps it off other people's comments. The caller holds mu.
func (e commentErrs) find(w http.ResponseWriter, rp *repo, id int64) (n, i int, c *Comment, ok bool) {
	if rp != nil {
		n, i, c = findComment(rp, id)
	}
	if c == nil {
		e.fail(w, http.StatusNotFound, e.notFound)
		return 0, 0, nil, false
	}
	return n, i, c, true
}

// editAny sets the body of comment id, whoever wrote it, and returns the number of the PR or
// issue it is on; otherwise it answers as find does. The caller holds mu.
func (c *core) editAny(w http.ResponseWriter, rp *repo, id int64, body string, e commentErrs) (int, *Comment, bool) {
	n, _, cm, ok := e.find(w, rp, id)
	if ok {
		cm.Body, cm.Updated = body, c.now()
	}
	return n, cm, ok
}

// deleteAny removes comment id, whoever wrote it, answering 204; otherwise it answers as find
// does. The caller holds mu.
func deleteAny(w http.ResponseWriter, rp *repo, id int64, e commentErrs) {
	if n, i, _, ok := e.find(w, rp, id); ok {
		rp.comments[n] = append(rp.comments[n][:i:i], rp.comments[n][i+1:]...)
		w.WriteHeader(http.StatusNoContent)
	}
}
