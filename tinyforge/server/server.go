// Package server is the reference Tinyforge GitOps server of docs/tinyforge-api.md: the service
// layer (service.go, gitops.go: roles, workload limits, the per-workload lock, the request
// deadline and the audited Sync), the JSON API's handlers over it (http.go), the web panel's
// Backend over it (panel_adapter.go), the SQLite store, token auth, repo-token encryption and
// the forge fetch with its commit-SHA cache.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/tinyforge/tinyforge-check/gitops"
	"github.com/tinyforge/tinyforge-check/tinyforge"
)

const (
	// MaxRequestBytes caps every request body; larger bodies get 413.
	MaxRequestBytes = 1 << 20
	// DefaultFetchTimeout is the overall deadline of one forge fetch (head SHA + download).
	DefaultFetchTimeout = 10 * time.Second
	// DefaultLockWait is how long a Sync or settings change waits for the workload's lock
	// before answering 503. With DefaultFetchTimeout it leaves a Sync at least 3 s of
	// DefaultSyncDeadline for its database write.
	DefaultLockWait = 12 * time.Second
	// DefaultSyncDeadline is the default of Config.SyncDeadline: lock wait (12 s) + fetch (10 s)
	// + the write (at least 3 s). With the refusal audit row's 2 s and 1 s for the answer it
	// fits under cmd/tinyforge-server's 30 s HTTP write timeout, so no change is written after
	// the HTTP server has cut its client off.
	DefaultSyncDeadline = 25 * time.Second
)

// The time a write request may still take after its deadline: the audit row of a refused Sync
// (written with its own context, ending auditGrace after the deadline) and the answer. New
// checks SyncDeadline + auditGrace + answerMargin against Config.WriteTimeout.
const (
	auditGrace   = 2 * time.Second
	answerMargin = 1 * time.Second
)

// errDeadline is the cause of a request context ended by the server's SyncDeadline, telling it
// apart from a client that went away. It wraps context.DeadlineExceeded.
var errDeadline = fmt.Errorf("the request's deadline passed: %w", context.DeadlineExceeded)

// Config is what New needs. Store, Cipher and OpenForge are required.
type Config struct {
	Store  *Store
	Cipher *Cipher
	// OpenForge builds the forge client for a workload's repo.
	OpenForge ForgeOpener
	// PublicURL is the server's root as browsers see it, for ui_url; "" derives it from the
	// request's Host.
	PublicURL string
	// Logger receives request errors; nil discards them.
	Logger *slog.Logger
	// FetchTimeout is the overall deadline of one forge fetch; 0 means DefaultFetchTimeout.
	FetchTimeout time.Duration
	// LockWait bounds the wait for a workload's Sync lock; 0 means DefaultLockWait. The
	// request's SyncDeadline bounds it too.
	LockWait time.Duration
	// SyncDeadline bounds each Sync, PUT gitops, PATCH and POST of a workload, counted from
	// the start of its handler: the waits for the workload's lock and for the database's write
	// lock, the fetch and the database write all end by it. A change is committed before it or
	// not at all; past it the request answers 503 and writes nothing (a refused Sync's audit
	// row aside, written within 2 s more). 0 means DefaultSyncDeadline.
	SyncDeadline time.Duration
	// WriteTimeout is the WriteTimeout of the http.Server serving Handler. When it is set, New
	// refuses a SyncDeadline that leaves under it less than 3 s (a refused Sync's audit row and
	// the answer). 0 skips the check.
	WriteTimeout time.Duration
	// Now is the clock for sync times; nil means time.Now.
	Now func() time.Time
	// HeadTTL is how long the workload list's status column reuses a branch head read from
	// the forge; 0 means DefaultHeadTTL. Views, Syncs and settings changes always read it anew.
	HeadTTL time.Duration
	// MaxForgeRequests caps the forge requests in progress at once, server-wide; 0 means
	// DefaultMaxForgeRequests.
	MaxForgeRequests int
}

// maxCachedFiles bounds the file cache (one entry per repo, path and commit, each at most 64
// KiB): at 512, a server of 1,000 workloads on as many repos downloaded every file again on
// each pass of its list (BenchmarkListLoads).
const maxCachedFiles = 2048

// Server serves the Tinyforge API. Build it with New and mount Handler(); the zero value is
// not usable.
type Server struct {
	store        *Store
	cipher       *Cipher
	openForge    ForgeOpener
	publicURL    string
	log          *slog.Logger
	fetchTimeout time.Duration
	lockWait     time.Duration
	syncDeadline time.Duration
	now          func() time.Time
	cache        *fileCache
	headTTL      time.Duration
	// heads, headFlights, fileFlights and forgeSem bound forge traffic (forgegate.go).
	heads       *headCache
	headFlights *flights[head]
	fileFlights *flights[cacheEntry]
	forgeSem    chan struct{}
	lints       *lintCache
	listers     *listers

	locksMu sync.Mutex
	locks   map[int64]chan struct{} // one-slot semaphores: the per-workload Sync locks
}

// New returns a Server for cfg.
func New(cfg Config) (*Server, error) {
	if cfg.Store == nil || cfg.Cipher == nil || cfg.OpenForge == nil {
		return nil, errors.New("server: Store, Cipher and OpenForge are required")
	}
	s := &Server{
		store: cfg.Store, cipher: cfg.Cipher, openForge: cfg.OpenForge,
		publicURL: strings.TrimSuffix(cfg.PublicURL, "/"), log: cfg.Logger,
		fetchTimeout: cfg.FetchTimeout, lockWait: cfg.LockWait, syncDeadline: cfg.SyncDeadline, now: cfg.Now,
		cache: newFileCache(maxCachedFiles), locks: map[int64]chan struct{}{},
		headTTL: cfg.HeadTTL, heads: &headCache{m: map[string]head{}},
		headFlights: newFlights[head](), fileFlights: newFlights[cacheEntry](),
		lints: &lintCache{m: map[string]linted{}}, listers: &listers{m: map[[32]byte]lister{}},
	}
	if s.headTTL <= 0 {
		s.headTTL = DefaultHeadTTL
	}
	if cfg.MaxForgeRequests <= 0 {
		cfg.MaxForgeRequests = DefaultMaxForgeRequests
	}
	s.forgeSem = make(chan struct{}, cfg.MaxForgeRequests)
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.fetchTimeout <= 0 {
		s.fetchTimeout = DefaultFetchTimeout
	}
	if s.lockWait <= 0 {
		s.lockWait = DefaultLockWait
	}
	if s.syncDeadline <= 0 {
		s.syncDeadline = DefaultSyncDeadline
	}
	if cfg.WriteTimeout > 0 && s.syncDeadline+auditGrace+answerMargin > cfg.WriteTimeout {
		return nil, fmt.Errorf("server: the Sync deadline %s leaves less than %s under the HTTP write timeout %s for a refusal's audit row and the answer, so a client could be cut off after its change was written; lower SyncDeadline or raise the write timeout",
			s.syncDeadline, auditGrace+answerMargin, cfg.WriteTimeout)
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s, nil
}

// Handler returns the API routes (under /api), /healthz and the web panel (every other path,
// see Panel) on one ServeMux.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	s.Register(mux)
	mux.Handle("/", s.Panel())
	return s.AccessLog(mux)
}

// AccessLog wraps h to log one line per request at info level: method, path, status and
// duration. Never the query string or headers, so no token reaches the log.
func (s *Server) AccessLog(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sr := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(sr, r)
		s.log.LogAttrs(r.Context(), slog.LevelInfo, "request", slog.String("method", r.Method),
			slog.String("path", r.URL.Path), slog.Int("status", sr.status), slog.Duration("duration", time.Since(start)))
	})
}

// statusRecorder remembers the status code a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// afterDeadline returns a context for what a bounded request may still do after its deadline
// (or its client) ended ctx: the audit row of a refused Sync.
// It ends auditGrace after ctx's deadline, or auditGrace from now when ctx has none.
func afterDeadline(ctx context.Context) (context.Context, context.CancelFunc) {
	end := time.Now()
	if d, ok := ctx.Deadline(); ok && d.After(end) {
		end = d
	}
	return context.WithDeadline(context.WithoutCancel(ctx), end.Add(auditGrace))
}

// pastDeadline reports whether ctx ended because the server's SyncDeadline passed (not because
// its client went away).
func pastDeadline(ctx context.Context) bool { return errors.Is(context.Cause(ctx), errDeadline) }

// waitedFor names what a bounded request was waiting for when its context ended, for stopReason.
type waitedFor int

const (
	waitedForLock     waitedFor = iota // the workload's lock, held by another Sync or settings change
	waitedForForge                     // the forge's answer to the fetch
	waitedForDatabase                  // the database write (its lock, held by another writer)
	waitedForServer                    // nothing in particular: the server was slow (a loaded machine)
)

// stopReason says why a request whose context ended while it waited for what wrote nothing:
// its deadline passed (the server's SyncDeadline) or its client gave up. It is the message of
// the 503 and the reason in a refused Sync's audit row.
func (s *Server) stopReason(ctx context.Context, what waitedFor) string {
	if pastDeadline(ctx) {
		busy := "another Sync or settings change of this workload held its lock until"
		switch what {
		case waitedForForge:
			busy = "the forge did not answer until"
		case waitedForDatabase:
			busy = "the database stayed busy (another writer held its write lock) until"
		case waitedForServer:
			busy = "the server was too busy to finish before"
		}
		return fmt.Sprintf("%s this request's %s deadline; retry", busy, s.syncDeadline)
	}
	waiting := "waiting for another Sync of this workload"
	switch what {
	case waitedForForge:
		waiting = "waiting for the forge"
	case waitedForDatabase:
		waiting = "waiting for the database"
	case waitedForServer:
		waiting = "waiting"
	}
	return "the client gave up " + waiting + "; retry"
}

// checkName returns "" when name is an acceptable workload name, else why not. Names that
// clients would read as an id (tinyforge.Client.FindWorkload takes an all-digit value, after
// trimming spaces, as an id) or could not find again (surrounding spaces) are refused.
func checkName(name string) string {
	if strings.TrimSpace(name) == "" || len(name) > 200 {
		return `"name" must be 1 to 200 bytes`
	}
	if strings.TrimSpace(name) != name {
		return `"name" must not start or end with whitespace`
	}
	if digits := strings.TrimLeft(name, "+-"); len(name)-len(digits) <= 1 && digits != "" && strings.Trim(digits, "0123456789") == "" {
		return `"name" must not be only digits: clients read an all-digit workload as an id; add a letter`
	}
	if pos, desc := gitops.HiddenChar(name); pos > 0 {
		return fmt.Sprintf(`"name" must not contain invisible or control characters: %s at character %d (a name that looks like another is a trap)`, desc, pos)
	}
	return ""
}

func checkWord(field, v string) string {
	if v == "" || len(v) > 64 {
		return fmt.Sprintf("%q must be 1 to 64 bytes", field)
	}
	for _, r := range v {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.') {
			return fmt.Sprintf("%q must be a word of letters, digits, '_', '-' or '.'", field)
		}
	}
	return ""
}

// checkRepo validates repo coordinates; the message never quotes the access token.
func checkRepo(r *tinyforge.RepoSettings) (Repo, string) {
	switch r.Provider {
	case "github", "gitea", "gitlab":
	default:
		return Repo{}, `"repo.provider" must be "github", "gitea" or "gitlab"`
	}
	u, err := url.Parse(r.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return Repo{}, `"repo.base_url" must be an http(s) URL without credentials, query or fragment, like https://gitea.example.com`
	}
	for _, f := range []struct{ name, v string }{{"repo.owner", r.Owner}, {"repo.repo", r.Repo}, {"repo.branch", r.Branch}} {
		if f.v == "" || len(f.v) > 255 || strings.ContainsAny(f.v, "\x00\r\n\t ?#\\") || strings.Contains(f.v, "..") {
			return Repo{}, fmt.Sprintf("%q must be 1 to 255 bytes without whitespace, '?', '#', '\\' or '..'", f.name)
		}
	}
	if strings.ContainsAny(r.AccessToken, "\x00\r\n") {
		return Repo{}, `"repo.access_token" must not contain line breaks`
	}
	return Repo{Provider: r.Provider, BaseURL: strings.TrimSuffix(r.BaseURL, "/"), Owner: r.Owner, Name: r.Repo, Branch: r.Branch}, ""
}

// sameRepo reports whether a and b name the same repo on the same forge (the branch may
// differ): the scheme and host of the base URL compare case-insensitively, the rest exactly.
func sameRepo(a, b Repo) bool {
	return a.Provider == b.Provider && a.Owner == b.Owner && a.Name == b.Name && sameBaseURL(a.BaseURL, b.BaseURL)
}

func sameBaseURL(a, b string) bool {
	ua, erra := url.Parse(strings.TrimSuffix(a, "/"))
	ub, errb := url.Parse(strings.TrimSuffix(b, "/"))
	if erra != nil || errb != nil {
		return false
	}
	return strings.EqualFold(ua.Scheme, ub.Scheme) && strings.EqualFold(ua.Host, ub.Host) && ua.EscapedPath() == ub.EscapedPath()
}

// repoChanges lists the audit changes from old to new; a new token shows only as "(replaced)"
// (or "(set)" / "(none)" for the old state), never its value.
func repoChanges(old, new Repo, newToken bool) []tinyforge.Change {
	var out []tinyforge.Change
	for _, f := range []struct{ field, from, to string }{
		{"repo.provider", old.Provider, new.Provider}, {"repo.base_url", old.BaseURL, new.BaseURL},
		{"repo.owner", old.Owner, new.Owner}, {"repo.repo", old.Name, new.Name}, {"repo.branch", old.Branch, new.Branch},
	} {
		if f.from != f.to {
			out = append(out, tinyforge.Change{Field: f.field, From: f.from, To: f.to})
		}
	}
	if newToken {
		from := "(none)"
		if len(old.SealedToken) > 0 {
			from = "(set)"
		}
		out = append(out, tinyforge.Change{Field: "repo.access_token", From: from, To: "(replaced)"})
	}
	return out
}

// errLockTimeout means another Sync or settings change held the workload's lock longer than
// the server's lock wait.
var errLockTimeout = errors.New("lock wait timed out")

// lockWorkload takes workload id's Sync lock and returns its release. It gives up with
// errLockTimeout after the server's lock wait, or with ctx's error when ctx ends first (the
// request's deadline, or its client going away).
func (s *Server) lockWorkload(ctx context.Context, id int64) (func(), error) {
	s.locksMu.Lock()
	sem, ok := s.locks[id]
	if !ok {
		sem = make(chan struct{}, 1)
		s.locks[id] = sem
	}
	s.locksMu.Unlock()
	t := time.NewTimer(s.lockWait)
	defer t.Stop()
	select {
	case sem <- struct{}{}:
		if err := ctx.Err(); err != nil { // both were ready and select chose the lock
			<-sem
			return nil, err
		}
		return func() { <-sem }, nil
	case <-t.C:
		return nil, errLockTimeout
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// lockReason says why lockWorkload failed under ctx, for the client and the audit row.
func (s *Server) lockReason(ctx context.Context, err error) string {
	if errors.Is(err, errLockTimeout) {
		return fmt.Sprintf("another Sync or settings change of this workload held its lock for more than %s; retry", s.lockWait)
	}
	return s.stopReason(ctx, waitedForLock)
}
