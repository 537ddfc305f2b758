// Package server is the reference Tinyforge GitOps server of docs/tinyforge-api.md: the API handlers, the
// SQLite store, token auth, repo-token encryption, the forge fetch with its commit-SHA cache,
// and the audited, per-workload-locked Sync.
package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strconv"
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
}

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
		cache: newFileCache(512), locks: map[int64]chan struct{}{},
	}
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

// Register adds the API routes and /healthz to mux, so another handler set (the panel pages)
// can share it.
func (s *Server) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /healthz", s.health)
	mux.HandleFunc("GET /api/workloads", s.authed(RoleViewer, false, s.listWorkloads))
	mux.HandleFunc("POST /api/workloads", s.bounded(s.authed(RoleAdmin, false, s.createWorkload)))
	mux.HandleFunc("GET /api/workloads/{id}", s.authed(RoleViewer, true, s.getWorkload))
	mux.HandleFunc("PATCH /api/workloads/{id}", s.bounded(s.authed(RoleAdmin, true, s.patchWorkload)))
	mux.HandleFunc("GET /api/workloads/{id}/gitops", s.authed(RoleViewer, true, s.getGitOps))
	mux.HandleFunc("PUT /api/workloads/{id}/gitops", s.bounded(s.authed(RoleAdmin, true, s.putGitOps)))
	mux.HandleFunc("POST /api/workloads/{id}/gitops/sync", s.bounded(s.authed(RoleAdmin, true, s.postSync)))
	mux.HandleFunc("GET /api/workloads/{id}/events", s.authed(RoleAdmin, true, s.getEvents))
	// JSON answers for wrong methods and unknown API paths, instead of ServeMux's plain text.
	for _, p := range []string{"/api/workloads", "/api/workloads/{id}", "/api/workloads/{id}/gitops", "/api/workloads/{id}/gitops/sync", "/api/workloads/{id}/events"} {
		mux.HandleFunc(p, methodNotAllowed)
	}
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such API endpoint; see docs/tinyforge-api.md")
	})
}

// bounded gives h's request a context that ends at the server's SyncDeadline (cause
// errDeadline), counted from now, before authentication: the handlers of requests that write
// do all their waiting and writing under it, so that their answer leaves before the HTTP
// server's write timeout cuts the client off.
func (s *Server) bounded(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeoutCause(r.Context(), s.syncDeadline, errDeadline)
		defer cancel()
		h(w, r.WithContext(ctx))
	}
}

// afterDeadline returns a context for what a bounded request may still do after its deadline
// (or its client) ended ctx: the audit row of a refused Sync, reading back a committed change.
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

func methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	writeError(w, http.StatusMethodNotAllowed, "method "+r.Method+" is not allowed here; see docs/tinyforge-api.md")
}

func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	if err := s.store.db.PingContext(r.Context()); err != nil {
		s.log.Error("health: database unreachable", "err", err)
		writeError(w, http.StatusServiceUnavailable, "database unreachable")
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// caller is the authenticated token of a request.
type caller struct {
	Token
}

// actor is how the audit log names the caller; never the secret.
func (c caller) actor() string { return "token:" + c.Name + "#" + strconv.FormatInt(c.ID, 10) }

type handlerFunc func(w http.ResponseWriter, r *http.Request, c caller, id int64)

// authed checks the bearer token (401), the role (403), the {id} (404 when not a positive
// integer) and the token's workload limit (403) before calling h.
func (s *Server) authed(role string, perWorkload bool, h handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		secret, ok := bearer(r.Header.Get("Authorization"))
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="tinyforge"`)
			writeError(w, http.StatusUnauthorized, "missing bearer token; send Authorization: Bearer <token>")
			return
		}
		tok, err := s.store.Authenticate(r.Context(), secret)
		if errors.Is(err, ErrBadToken) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="tinyforge", error="invalid_token"`)
			writeError(w, http.StatusUnauthorized, "unknown or revoked token; create one with `tinyforge-server token create`")
			return
		}
		if err != nil && r.Context().Err() != nil {
			// No token, no audit row: the log keeps the attempt.
			s.log.Warn("a request ended before its token was checked; nothing was done", "method", r.Method, "path", r.URL.Path, "cause", context.Cause(r.Context()))
			writeError(w, http.StatusServiceUnavailable, "the request ended (its deadline passed or its client went away) before its token was checked; nothing was done, retry")
			return
		}
		if err != nil {
			s.internal(w, "authenticate", err)
			return
		}
		if role == RoleAdmin && tok.Role != RoleAdmin {
			writeError(w, http.StatusForbidden, "this needs an admin token; the token's role is "+tok.Role)
			return
		}
		var id int64
		if perWorkload {
			id, err = strconv.ParseInt(r.PathValue("id"), 10, 64)
			if err != nil || id <= 0 {
				writeError(w, http.StatusNotFound, "workload ids are positive integers; look a name up with GET /api/workloads?name=")
				return
			}
			if tok.WorkloadID != 0 && tok.WorkloadID != id {
				writeError(w, http.StatusForbidden, "this token is limited to another workload")
				return
			}
		} else if tok.WorkloadID != 0 && r.Method != http.MethodGet {
			writeError(w, http.StatusForbidden, "a token limited to one workload cannot create workloads")
			return
		}
		h(w, r, caller{tok}, id)
	}
}

func bearer(h string) (string, bool) {
	scheme, tok, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

func (s *Server) listWorkloads(w http.ResponseWriter, r *http.Request, c caller, _ int64) {
	list, err := s.store.ListWorkloads(r.Context(), r.URL.Query().Get("name"), c.WorkloadID)
	if err != nil {
		s.internal(w, "list workloads", err)
		return
	}
	// Looked up by name (the action's workload input), each item is the whole workload as GET
	// /api/workloads/{id} answers it, so that a name costs the client one request, not two.
	if r.URL.Query().Get("name") != "" {
		full := make([]tinyforge.Workload, 0, len(list))
		for _, wl := range list {
			full = append(full, s.wire(r, wl))
		}
		writeJSON(w, http.StatusOK, full)
		return
	}
	out := make([]tinyforge.WorkloadSummary, 0, len(list))
	for _, wl := range list {
		out = append(out, tinyforge.WorkloadSummary{ID: wl.ID, Name: wl.Name, SourceType: wl.SourceType, GitOps: settings(wl)})
	}
	writeJSON(w, http.StatusOK, out)
}

func settings(wl *Workload) tinyforge.GitOpsSettings {
	return tinyforge.GitOpsSettings{Enabled: wl.GitOpsEnabled, Path: wl.GitOpsPath, LastSyncAt: wl.GitOpsLastSyncAt,
		CommitSHA: wl.GitOpsCommitSHA, FileSHA: wl.GitOpsFileSHA}
}

func (s *Server) wire(r *http.Request, wl *Workload) tinyforge.Workload {
	return tinyforge.Workload{ID: wl.ID, Name: wl.Name, SourceType: wl.SourceType, SourceConfig: wl.SourceConfig,
		Version: wl.Version, GitOps: settings(wl), UIURL: s.baseURL(r) + "/apps/" + strconv.FormatInt(wl.ID, 10)}
}

func (s *Server) baseURL(r *http.Request) string {
	if s.publicURL != "" {
		return s.publicURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func (s *Server) getWorkload(w http.ResponseWriter, r *http.Request, _ caller, id int64) {
	wl, ok := s.load(w, r, id)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, s.wire(r, wl))
}

// load reads workload id, answering 404, 503 (the request's context ended: its deadline or
// its client) or 500 itself when it cannot.
func (s *Server) load(w http.ResponseWriter, r *http.Request, id int64) (*Workload, bool) {
	wl, err := s.store.GetWorkload(r.Context(), id)
	switch {
	case errors.Is(err, ErrNotFound):
		writeError(w, http.StatusNotFound, fmt.Sprintf("workload %d not found", id))
		return nil, false
	case err != nil && r.Context().Err() != nil:
		writeError(w, http.StatusServiceUnavailable, "nothing changed: the request ended (its deadline passed or its client went away) before the workload was read; retry")
		return nil, false
	case err != nil:
		s.internal(w, "read workload", err)
		return nil, false
	}
	return wl, true
}

// answerWorkload answers 200 with workload id after a committed change. The read-back does not
// end with the request's deadline (the change is written; the answer must say so): it has
// auditGrace more.
func (s *Server) answerWorkload(w http.ResponseWriter, r *http.Request, id int64) {
	ctx, cancel := afterDeadline(r.Context())
	defer cancel()
	wl, err := s.store.GetWorkload(ctx, id)
	if err != nil {
		s.log.Error("read back a saved workload", "workload", id, "err", err)
		writeError(w, http.StatusInternalServerError, "the change was saved, but reading the workload back failed; reload it to see the saved state")
		return
	}
	writeJSON(w, http.StatusOK, s.wire(r, wl))
}

func (s *Server) createWorkload(w http.ResponseWriter, r *http.Request, c caller, _ int64) {
	var req tinyforge.CreateWorkloadRequest
	if !decode(w, r, &req, false) {
		return
	}
	if msg := checkName(req.Name); msg != "" {
		writeError(w, http.StatusBadRequest, msg)
		return
	}
	if msg := checkWord("source_type", req.SourceType); msg != "" {
		writeError(w, http.StatusBadRequest, msg)
		return
	}
	nw := NewWorkload{Name: req.Name, SourceType: req.SourceType, SourceConfig: req.SourceConfig}
	var seal func(int64) ([]byte, error)
	if req.Repo != nil {
		repo, msg := checkRepo(req.Repo)
		if msg != "" {
			writeError(w, http.StatusBadRequest, msg)
			return
		}
		nw.Repo = repo
		if tok := req.Repo.AccessToken; tok != "" {
			seal = func(id int64) ([]byte, error) { return s.cipher.Seal(id, tok) }
		}
	}
	wl, err := s.store.CreateWorkload(r.Context(), nw, seal)
	switch {
	case errors.Is(err, ErrNotObject):
		writeError(w, http.StatusBadRequest, err.Error())
		return
	case errors.Is(err, ErrNameTaken):
		writeError(w, http.StatusConflict, err.Error())
		return
	case err != nil && r.Context().Err() != nil:
		writeError(w, http.StatusServiceUnavailable, "nothing created: "+s.stopReason(r.Context(), waitedForDatabase))
		return
	case err != nil:
		s.internal(w, "create workload", err)
		return
	}
	writeJSON(w, http.StatusCreated, s.wire(r, wl))
}

func (s *Server) patchWorkload(w http.ResponseWriter, r *http.Request, c caller, id int64) {
	var req tinyforge.UpdateWorkloadRequest
	if !decode(w, r, &req, false) {
		return
	}
	if req.SourceConfig == nil && req.Repo == nil {
		writeError(w, http.StatusBadRequest, `nothing to change; send "source_config" with "version", and/or "repo"`)
		return
	}
	var u Update
	if req.SourceConfig != nil {
		if req.Version == nil {
			writeError(w, http.StatusBadRequest, `"source_config" needs the "version" it was read at`)
			return
		}
		u.SourceConfig, u.Version = req.SourceConfig, *req.Version
	}
	if req.Repo != nil {
		repo, msg := checkRepo(req.Repo)
		if msg != "" {
			writeError(w, http.StatusBadRequest, msg)
			return
		}
		if _, ok := s.load(w, r, id); !ok { // no lock is made for a workload that does not exist
			return
		}
		// Under the Sync lock, so a Sync that started before this change cannot write the
		// old repo's config after it.
		unlock, ok := s.lockForChange(w, r, id)
		if !ok {
			return
		}
		defer unlock()
		wl, ok := s.load(w, r, id)
		if !ok {
			return
		}
		tok := req.Repo.AccessToken
		// The stored token was given for the old repo: never hand it to another host or repo.
		if tok == "" && len(wl.Repo.SealedToken) > 0 && !sameRepo(wl.Repo, repo) {
			writeError(w, http.StatusBadRequest, `the stored access token belongs to the old repo: give access_token again when you change the repo's host or name (provider, base_url, owner or repo); only a branch change keeps it`)
			return
		}
		u.Repo = &repo
		if tok != "" {
			u.Seal = func(id int64) ([]byte, error) { return s.cipher.Seal(id, tok) }
		}
		if changes := repoChanges(wl.Repo, repo, tok != ""); len(changes) > 0 {
			u.Event = &tinyforge.Event{At: timeString(s.now()), Actor: c.actor(), WorkloadID: id, Action: ActionRepoSettings,
				Changes: changes, Outcome: OutcomeApplied}
		}
	}
	err := s.store.UpdateWorkload(r.Context(), id, u)
	switch {
	case errors.Is(err, ErrNotFound):
		writeError(w, http.StatusNotFound, fmt.Sprintf("workload %d not found", id))
		return
	case errors.Is(err, ErrNotObject):
		writeError(w, http.StatusBadRequest, err.Error())
		return
	case errors.Is(err, ErrVersionConflict):
		writeError(w, http.StatusConflict, err.Error())
		return
	case err != nil && r.Context().Err() != nil:
		writeError(w, http.StatusServiceUnavailable, "nothing changed: "+s.stopReason(r.Context(), waitedForDatabase))
		return
	case err != nil:
		s.internal(w, "update workload", err)
		return
	}
	s.answerWorkload(w, r, id)
}

func (s *Server) getEvents(w http.ResponseWriter, r *http.Request, _ caller, id int64) {
	if _, ok := s.load(w, r, id); !ok {
		return
	}
	evs, err := s.store.Events(r.Context(), id, 0)
	if err != nil {
		s.internal(w, "read events", err)
		return
	}
	writeJSON(w, http.StatusOK, evs)
}

// internal logs err (which never holds a secret: tokens stay in headers and sealed columns)
// and answers 500 without details.
func (s *Server) internal(w http.ResponseWriter, what string, err error) {
	s.log.Error(what, "err", err)
	writeError(w, http.StatusInternalServerError, what+" failed; see the server log")
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	// No HTML escaping: the answer is JSON with nosniff, never a page, and escaping turns each
	// <, > and & into six bytes, so a config the server accepts (1 MiB) could answer over the
	// clients' 4 MiB cap (issue 14 F5).
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, tinyforge.ErrorBody{Error: msg})
}

// decode reads a JSON body of at most MaxRequestBytes into v, answering 413 or 400 itself.
// allowEmpty accepts an empty body (v keeps its zero value).
func decode(w http.ResponseWriter, r *http.Request, v any, allowEmpty bool) bool {
	// A body in another declared type (a form, text/plain) is refused rather than read as JSON;
	// a body without a Content-Type is read as JSON.
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			writeError(w, http.StatusUnsupportedMediaType, fmt.Sprintf("the body is %.60q; send it as application/json", ct))
			return false
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxRequestBytes))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body larger than %d bytes", MaxRequestBytes))
		return false
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, "could not read the request body")
		return false
	}
	if allowEmpty && strings.TrimSpace(string(body)) == "" {
		return true
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, "request body is not the expected JSON: "+jsonProblem(err))
		return false
	}
	if dec.More() {
		writeError(w, http.StatusBadRequest, "request body has data after the JSON object")
		return false
	}
	return true
}

// jsonProblem describes a decode error without quoting the body (which may hold a token).
func jsonProblem(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("syntax error at byte %d", se.Offset)
	case errors.As(err, &te):
		return fmt.Sprintf("field %q must be %s", te.Field, te.Type)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		f := strings.TrimPrefix(err.Error(), "json: unknown field ")
		if len(f) > 66 {
			f = f[:64] + `…"`
		}
		return "unknown field " + f
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return "body is empty or truncated"
	}
	return "malformed JSON"
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

// lockForChange is lockWorkload for PUT gitops and PATCH repo: on failure it answers 503 itself.
func (s *Server) lockForChange(w http.ResponseWriter, r *http.Request, id int64) (func(), bool) {
	unlock, err := s.lockWorkload(r.Context(), id)
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, "nothing changed: "+s.lockReason(r.Context(), err))
		return nil, false
	}
	return unlock, true
}
