package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/tinyforge/tinyforge-check/tinyforge"
)

// The service layer: every rule of the API (roles, workload limits, validation, the workload
// lock, Sync and its audit rows) lives in the methods of Server below and in gitops.go. They act
// for a Caller and return values or an *Error. The API's handlers (http.go) only decode, call
// and encode; the panel's Backend (panel_adapter.go) calls the same methods directly. Both give
// a call that writes its deadline (bound) before they authenticate its token, and the methods
// do all their waiting and writing under the ctx they are given.

// Caller is who a service call acts for: an authenticated API token (see Server.Authenticate).
type Caller struct {
	Token
	// Via is the way the call came in, for its audit rows: ViaAPI or ViaPanel; "" is ViaAPI.
	Via string
}

// The ways in an audit row names (tinyforge.Event.Via).
const (
	// ViaAPI is a call of the JSON API (docs/tinyforge-api.md).
	ViaAPI = "api"
	// ViaPanel is a form of the web panel.
	ViaPanel = "panel"
)

// actor is how the audit log names the caller; never the secret.
func (c Caller) actor() string { return "token:" + c.Name + "#" + strconv.FormatInt(c.ID, 10) }

// event is the audit row of a change of workload id by the caller (who, role and way in), with
// action and at; the caller adds the changes and the outcome.
func (c Caller) event(id int64, action, at string) tinyforge.Event {
	via := c.Via
	if via == "" {
		via = ViaAPI
	}
	return tinyforge.Event{At: at, Actor: c.actor(), Role: c.Role, Via: via, WorkloadID: id, Action: action}
}

// needRole refuses (403) a caller whose token's role is below role.
func (c Caller) needRole(role string) error {
	if role == RoleAdmin && c.Role != RoleAdmin {
		return newError(KindForbidden, "this needs an admin token; the token's role is "+c.Role)
	}
	return nil
}

// mayReach refuses (403) a caller whose token is limited to another workload than id; id 0
// stands for a workload being created.
func (c Caller) mayReach(id int64) error {
	switch {
	case c.WorkloadID == 0:
		return nil
	case id == 0:
		return newError(KindForbidden, "a token limited to one workload cannot create workloads")
	case c.WorkloadID != id:
		return newError(KindForbidden, "this token is limited to another workload")
	}
	return nil
}

// permit is needRole and mayReach: may the caller act as role on workload id?
func (c Caller) permit(role string, id int64) error {
	if err := c.needRole(role); err != nil {
		return err
	}
	return c.mayReach(id)
}

// ErrorKind classifies an *Error; Status maps it to its HTTP status.
type ErrorKind int

// The kinds of *Error, with the HTTP status each answers.
const (
	KindInvalid          ErrorKind = iota + 1 // 400: the request breaks a rule
	KindUnauthorized                          // 401: no token, or an unknown or revoked one
	KindForbidden                             // 403: the token's role or workload limit
	KindNotFound                              // 404: no such workload (or endpoint)
	KindMethodNotAllowed                      // 405
	KindConflict                              // 409: stale version, status not ok, a pin that no longer matches
	KindTooLarge                              // 413: the request body
	KindUnsupportedMedia                      // 415: a body that is not JSON
	KindUnprocessable                         // 422: valid request, unusable workload or merged config
	KindInternal                              // 500: see the server log
	KindUnavailable                           // 503: the request stopped (deadline, client, lock); nothing changed
)

// Status is the HTTP status of k: the only place a kind becomes a status code.
func (k ErrorKind) Status() int {
	switch k {
	case KindInvalid:
		return http.StatusBadRequest
	case KindUnauthorized:
		return http.StatusUnauthorized
	case KindForbidden:
		return http.StatusForbidden
	case KindNotFound:
		return http.StatusNotFound
	case KindMethodNotAllowed:
		return http.StatusMethodNotAllowed
	case KindConflict:
		return http.StatusConflict
	case KindTooLarge:
		return http.StatusRequestEntityTooLarge
	case KindUnsupportedMedia:
		return http.StatusUnsupportedMediaType
	case KindUnprocessable:
		return http.StatusUnprocessableEntity
	case KindUnavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// Error is a refused or failed service call: its kind and the message for the user, which
// never holds a secret.
type Error struct {
	Kind    ErrorKind
	Message string
}

func (e *Error) Error() string { return e.Message }

func newError(kind ErrorKind, msg string) error { return &Error{Kind: kind, Message: msg} }

func notFound(id int64) error {
	return newError(KindNotFound, fmt.Sprintf("workload %d not found", id))
}

// internal logs err (which never holds a secret: tokens stay in headers and sealed columns)
// and returns a 500 without details.
func (s *Server) internal(what string, err error) error {
	s.log.Error(what, "err", err)
	return newError(KindInternal, what+" failed; see the server log")
}

// stopError is a request that stopped before it changed anything: its context ended (its
// deadline or its client) or another change held the workload's lock too long. Each caller
// words it: a change as "nothing changed", a Sync as an audited refusal.
type stopError struct {
	// reason says why, for the client and a refused Sync's audit row.
	reason string
	// unread means it stopped while reading the workload.
	unread bool
}

func (e *stopError) Error() string { return e.reason }

// changeRefused turns a stopError into the 503 of a request that is not a Sync; other errors
// pass unchanged.
func changeRefused(err error) error {
	var se *stopError
	switch {
	case !errors.As(err, &se):
		return err
	case se.unread:
		return newError(KindUnavailable, "nothing changed: the request ended (its deadline passed or its client went away) before the workload was read; retry")
	}
	return newError(KindUnavailable, "nothing changed: "+se.reason)
}

// bound gives ctx the server's SyncDeadline (cause errDeadline), counted from now: the calls
// that write do all their waiting and writing under it, so that their answer leaves before the
// HTTP server's write timeout cuts the client off. The API's write routes (bounded) and the
// panel's write calls (panelBackend.call) bound their request before its token is checked.
func (s *Server) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeoutCause(ctx, s.syncDeadline, errDeadline)
}

// Authenticate returns the Caller of an API token's secret: 401 when it is unknown or revoked,
// 503 when ctx ended before it was checked.
func (s *Server) Authenticate(ctx context.Context, secret string) (Caller, error) {
	tok, err := s.store.Authenticate(ctx, secret)
	switch {
	case errors.Is(err, ErrBadToken):
		return Caller{}, newError(KindUnauthorized, "unknown or revoked token; create one with `tinyforge-server token create`")
	case err != nil && ctx.Err() != nil:
		// No token, no audit row: authenticate logs the attempt.
		return Caller{}, newError(KindUnavailable, "the request ended (its deadline passed or its client went away) before its token was checked; nothing was done, retry")
	case err != nil:
		return Caller{}, s.internal("authenticate", err)
	}
	return Caller{Token: tok}, nil
}

// authenticate is Authenticate for a request of method path (the API's, or the panel call that
// stands for it). A request that ended before its token was checked has no token, so no audit
// row: the log keeps the attempt.
func (s *Server) authenticate(ctx context.Context, secret, method, path string) (Caller, error) {
	c, err := s.Authenticate(ctx, secret)
	var e *Error
	if errors.As(err, &e) && e.Kind == KindUnavailable {
		s.log.Warn("a request ended before its token was checked; nothing was done", "method", method, "path", path, "cause", context.Cause(ctx))
	}
	return c, err
}

// load reads workload id: a 404, a stopError (ctx ended: its deadline or its client) or a 500
// when it cannot.
func (s *Server) load(ctx context.Context, id int64) (*Workload, error) {
	wl, err := s.store.GetWorkload(ctx, id)
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, notFound(id)
	case err != nil && ctx.Err() != nil:
		return nil, &stopError{reason: s.stopReason(ctx, waitedForServer), unread: true}
	case err != nil:
		return nil, s.internal("read workload", err)
	}
	return wl, nil
}

// read is load for a request that changes nothing.
func (s *Server) read(ctx context.Context, id int64) (*Workload, error) {
	wl, err := s.load(ctx, id)
	return wl, changeRefused(err)
}

// lockedLoad is the prelude of every change of a workload: it reads the workload (no lock is
// made for one that does not exist), takes its lock (so that a Sync that started before the
// change cannot write the old settings' config after it), waiting at most the lock wait and
// never past ctx, and reads the workload again under the lock, since another change may have
// come first. It returns the workload and the lock's release; its errors are load's, or a
// stopError when the lock was not taken.
func (s *Server) lockedLoad(ctx context.Context, id int64) (*Workload, func(), error) {
	if _, err := s.load(ctx, id); err != nil {
		return nil, nil, err
	}
	unlock, err := s.lockWorkload(ctx, id)
	if err != nil {
		return nil, nil, &stopError{reason: s.lockReason(ctx, err)}
	}
	wl, err := s.load(ctx, id)
	if err != nil {
		unlock()
		return nil, nil, err
	}
	return wl, unlock, nil
}

// ListWorkloads returns the workloads the caller may see, all or those named name.
func (s *Server) ListWorkloads(ctx context.Context, c Caller, name string) ([]*Workload, error) {
	if err := c.needRole(RoleViewer); err != nil {
		return nil, err
	}
	list, err := s.store.ListWorkloads(ctx, name, c.WorkloadID)
	if err != nil {
		return nil, s.internal("list workloads", err)
	}
	if name != "" { // answered as whole workloads
		for _, wl := range list {
			wl.SetBy = s.setBy(ctx, wl.ID)
		}
	}
	return list, nil
}

// Workload returns workload id, with its drift attribution.
func (s *Server) Workload(ctx context.Context, c Caller, id int64) (*Workload, error) {
	if err := c.permit(RoleViewer, id); err != nil {
		return nil, err
	}
	wl, err := s.read(ctx, id)
	if err == nil {
		wl.SetBy = s.setBy(ctx, id)
	}
	return wl, err
}

// Events returns workload id's audit rows, newest first (admin).
func (s *Server) Events(ctx context.Context, c Caller, id int64) ([]tinyforge.Event, error) {
	if err := c.permit(RoleAdmin, id); err != nil {
		return nil, err
	}
	if _, err := s.read(ctx, id); err != nil {
		return nil, err
	}
	evs, err := s.store.Events(ctx, id, 0)
	if err != nil {
		return nil, s.internal("read events", err)
	}
	return evs, nil
}

// CreateWorkload creates a workload (admin, not limited to one workload), under ctx's
// deadline (the SyncDeadline, see bound), with its audit row (every source_config key and repo
// setting it starts with) in the same transaction.
func (s *Server) CreateWorkload(ctx context.Context, c Caller, req tinyforge.CreateWorkloadRequest) (*Workload, error) {
	if err := c.permit(RoleAdmin, 0); err != nil {
		return nil, err
	}
	nw, seal, err := s.newWorkload(req)
	if err != nil {
		return nil, err
	}
	ev := c.event(0, ActionCreate, timeString(s.now()))
	ev.Changes = append(configChanges(nil, nw.SourceConfig), repoChanges(Repo{}, nw.Repo, seal != nil)...)
	ev.Outcome = OutcomeApplied
	nw.Event = &ev
	wl, err := s.store.CreateWorkload(ctx, nw, seal)
	switch {
	case errors.Is(err, ErrNotObject):
		return nil, newError(KindInvalid, err.Error())
	case errors.Is(err, ErrNameTaken):
		return nil, newError(KindConflict, err.Error())
	case err != nil && ctx.Err() != nil:
		return nil, newError(KindUnavailable, "nothing created: "+s.stopReason(ctx, waitedForDatabase))
	case err != nil:
		return nil, s.internal("create workload", err)
	}
	s.lateCommit(ctx, "workload creation", wl.ID)
	return wl, nil
}

// newWorkload checks a create request (400) and returns what to store.
func (s *Server) newWorkload(req tinyforge.CreateWorkloadRequest) (NewWorkload, func(int64) ([]byte, error), error) {
	if msg := checkName(req.Name); msg != "" {
		return NewWorkload{}, nil, newError(KindInvalid, msg)
	}
	if msg := checkWord("source_type", req.SourceType); msg != "" {
		return NewWorkload{}, nil, newError(KindInvalid, msg)
	}
	nw := NewWorkload{Name: req.Name, SourceType: req.SourceType, SourceConfig: req.SourceConfig}
	if req.Repo == nil {
		return nw, nil, nil
	}
	repo, msg := checkRepo(req.Repo)
	if msg != "" {
		return NewWorkload{}, nil, newError(KindInvalid, msg)
	}
	nw.Repo = repo
	return nw, s.sealer(req.Repo.AccessToken), nil
}

// sealer returns the function that seals tok for a workload, or nil when tok is "".
func (s *Server) sealer(tok string) func(int64) ([]byte, error) {
	if tok == "" {
		return nil
	}
	return func(id int64) ([]byte, error) { return s.cipher.Seal(id, tok) }
}

// UpdateWorkload applies the edit form (source_config at a version) and/or new repo settings
// to workload id (admin), under ctx's deadline (the SyncDeadline, see bound), and returns the
// workload as saved. A repo change is made under the workload's lock; each change (the
// source_config keys, the repo settings) is audited in the same transaction.
func (s *Server) UpdateWorkload(ctx context.Context, c Caller, id int64, req tinyforge.UpdateWorkloadRequest) (*Workload, error) {
	if err := c.permit(RoleAdmin, id); err != nil {
		return nil, err
	}
	u, err := checkUpdate(req)
	if err != nil {
		return nil, err
	}
	if u.SourceConfig != nil {
		ev := c.event(id, ActionSourceConfig, timeString(s.now()))
		ev.Outcome = OutcomeApplied
		u.ConfigEvent = &ev
	}
	if req.Repo != nil {
		wl, unlock, err := s.lockedLoad(ctx, id)
		if err != nil {
			return nil, changeRefused(err)
		}
		defer unlock()
		if err := s.repoUpdate(&u, c, wl, req.Repo.AccessToken); err != nil {
			return nil, err
		}
	}
	return s.saveUpdate(ctx, id, u)
}

// checkUpdate checks a PATCH request (400) and returns its Update, the repo's coordinates
// (not its token) included.
func checkUpdate(req tinyforge.UpdateWorkloadRequest) (Update, error) {
	var u Update
	if req.SourceConfig == nil && req.Repo == nil {
		return u, newError(KindInvalid, `nothing to change; send "source_config" with "version", and/or "repo"`)
	}
	if req.SourceConfig != nil {
		if req.Version == nil {
			return u, newError(KindInvalid, `"source_config" needs the "version" it was read at`)
		}
		u.SourceConfig, u.Version = req.SourceConfig, *req.Version
	}
	if req.Repo != nil {
		repo, msg := checkRepo(req.Repo)
		if msg != "" {
			return u, newError(KindInvalid, msg)
		}
		u.Repo = &repo
	}
	return u, nil
}

// repoUpdate completes u's repo change of wl, read under its lock: the token's seal and the
// audit row.
func (s *Server) repoUpdate(u *Update, c Caller, wl *Workload, tok string) error {
	// The stored token was given for the old repo: never hand it to another host or repo.
	if tok == "" && len(wl.Repo.SealedToken) > 0 && !sameRepo(wl.Repo, *u.Repo) {
		return newError(KindInvalid, `the stored access token belongs to the old repo: give access_token again when you change the repo's host or name (provider, base_url, owner or repo); only a branch change keeps it`)
	}
	u.Seal = s.sealer(tok)
	if changes := repoChanges(wl.Repo, *u.Repo, tok != ""); len(changes) > 0 {
		ev := c.event(wl.ID, ActionRepoSettings, timeString(s.now()))
		ev.Changes, ev.Outcome = changes, OutcomeApplied
		u.Event = &ev
	}
	return nil
}

// saveUpdate writes u under ctx and returns the workload as saved.
func (s *Server) saveUpdate(ctx context.Context, id int64, u Update) (*Workload, error) {
	wl, err := s.store.UpdateWorkload(ctx, id, u)
	switch {
	case err == nil:
		s.lateCommit(ctx, "workload update", id)
		return wl, nil
	case errors.Is(err, ErrNotFound):
		return nil, notFound(id)
	case errors.Is(err, ErrNotObject):
		return nil, newError(KindInvalid, err.Error())
	case errors.Is(err, ErrVersionConflict):
		return nil, newError(KindConflict, err.Error())
	case ctx.Err() != nil:
		return nil, newError(KindUnavailable, "nothing changed: "+s.stopReason(ctx, waitedForDatabase))
	}
	return nil, s.internal("update workload", err)
}
