package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/tinyforge/tinyforge-check/tinyforge"
)

// The JSON API of docs/tinyforge-api.md over the service layer (service.go, gitops.go): each
// handler decodes its request (a JSON body through withBody), calls one service method and
// encodes its value or its *Error.

// Register adds the API routes and /healthz to mux, so another handler set (the panel pages)
// can share it.
func (s *Server) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /healthz", s.health)
	mux.HandleFunc("GET /api/workloads", s.authed(RoleViewer, false, s.listWorkloads))
	mux.HandleFunc("POST /api/workloads", s.bounded(s.authed(RoleAdmin, false, withBody(s, false, s.createWorkload))))
	mux.HandleFunc("GET /api/workloads/{id}", s.authed(RoleViewer, true, s.getWorkload))
	mux.HandleFunc("PATCH /api/workloads/{id}", s.bounded(s.authed(RoleAdmin, true, withBody(s, false, s.patchWorkload))))
	mux.HandleFunc("GET /api/workloads/{id}/gitops", s.authed(RoleViewer, true, s.getGitOps))
	mux.HandleFunc("PUT /api/workloads/{id}/gitops", s.bounded(s.authed(RoleAdmin, true, withBody(s, false, s.putGitOps))))
	mux.HandleFunc("POST /api/workloads/{id}/gitops/sync", s.bounded(s.authed(RoleAdmin, true, withBody(s, true, s.postSync))))
	mux.HandleFunc("GET /api/workloads/{id}/events", s.authed(RoleAdmin, true, s.getEvents))
	// JSON answers for wrong methods and unknown API paths, instead of ServeMux's plain text.
	for _, p := range []string{"/api/workloads", "/api/workloads/{id}", "/api/workloads/{id}/gitops", "/api/workloads/{id}/gitops/sync", "/api/workloads/{id}/events"} {
		mux.HandleFunc(p, s.methodNotAllowed)
	}
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, newError(KindNotFound, "no such API endpoint; see docs/tinyforge-api.md"))
	})
}

// bounded gives h's request the server's SyncDeadline (see bound) before authentication, so
// that the token check and the body's decoding count too.
func (s *Server) bounded(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := s.bound(r.Context())
		defer cancel()
		h(w, r.WithContext(ctx))
	}
}

func (s *Server) methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	s.writeError(w, newError(KindMethodNotAllowed, "method "+r.Method+" is not allowed here; see docs/tinyforge-api.md"))
}

func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	if err := s.store.db.PingContext(r.Context()); err != nil {
		s.log.Error("health: database unreachable", "err", err)
		s.writeError(w, newError(KindUnavailable, "database unreachable"))
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

type handlerFunc func(w http.ResponseWriter, r *http.Request, c Caller, id int64)

// withBody makes h, a handler of a request whose JSON body is a T, a handlerFunc: the body is
// decoded first (see decode; allowEmpty lets an empty body stand for T's zero value), and a
// body that cannot be is answered with its error instead of calling h.
func withBody[T any](s *Server, allowEmpty bool, h func(w http.ResponseWriter, r *http.Request, c Caller, id int64, req T)) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, c Caller, id int64) {
		var req T
		if err := decode(w, r, &req, allowEmpty); err != nil {
			s.writeError(w, err)
			return
		}
		h(w, r, c, id, req)
	}
}

// authed checks the bearer token (401), the role (403), the {id} (404 when not a positive
// integer) and the token's workload limit (403) before calling h, so that these answers come
// before any about the body. The service methods check role and limit again.
func (s *Server) authed(role string, perWorkload bool, h handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, err := s.caller(w, r)
		if err == nil {
			err = c.needRole(role)
		}
		var id int64
		if err == nil && perWorkload {
			id, err = pathID(r)
		}
		if err == nil && (perWorkload || r.Method != http.MethodGet) {
			err = c.mayReach(id)
		}
		if err != nil {
			s.writeError(w, err)
			return
		}
		h(w, r, c, id)
	}
}

// caller authenticates r's bearer token, setting WWW-Authenticate on a 401.
func (s *Server) caller(w http.ResponseWriter, r *http.Request) (Caller, error) {
	secret, ok := bearer(r.Header.Get("Authorization"))
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer realm="tinyforge"`)
		return Caller{}, newError(KindUnauthorized, "missing bearer token; send Authorization: Bearer <token>")
	}
	c, err := s.authenticate(r.Context(), secret, r.Method, r.URL.Path)
	c.Via = ViaAPI
	var e *Error
	if errors.As(err, &e) && e.Kind == KindUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="tinyforge", error="invalid_token"`)
	}
	return c, err
}

func bearer(h string) (string, bool) {
	scheme, tok, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

// pathID parses the {id} path value: 404 when it is not a positive integer.
func pathID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, newError(KindNotFound, "workload ids are positive integers; look a name up with GET /api/workloads?name=")
	}
	return id, nil
}

func (s *Server) listWorkloads(w http.ResponseWriter, r *http.Request, c Caller, _ int64) {
	name := r.URL.Query().Get("name")
	list, err := s.ListWorkloads(r.Context(), c, name)
	if err != nil {
		s.writeError(w, err)
		return
	}
	// Looked up by name (the action's workload input), each item is the whole workload as GET
	// /api/workloads/{id} answers it, so that a name costs the client one request, not two.
	if name != "" {
		full := make([]tinyforge.Workload, 0, len(list))
		for _, wl := range list {
			full = append(full, s.wire(r, wl))
		}
		writeJSON(w, http.StatusOK, full)
		return
	}
	writeJSON(w, http.StatusOK, summaries(list))
}

func (s *Server) getWorkload(w http.ResponseWriter, r *http.Request, c Caller, id int64) {
	wl, err := s.Workload(r.Context(), c, id)
	s.answerWorkload(w, r, http.StatusOK, wl, err)
}

func (s *Server) createWorkload(w http.ResponseWriter, r *http.Request, c Caller, _ int64, req tinyforge.CreateWorkloadRequest) {
	wl, err := s.CreateWorkload(r.Context(), c, req)
	s.answerWorkload(w, r, http.StatusCreated, wl, err)
}

func (s *Server) patchWorkload(w http.ResponseWriter, r *http.Request, c Caller, id int64, req tinyforge.UpdateWorkloadRequest) {
	wl, err := s.UpdateWorkload(r.Context(), c, id, req)
	s.answerWorkload(w, r, http.StatusOK, wl, err)
}

func (s *Server) getGitOps(w http.ResponseWriter, r *http.Request, c Caller, id int64) {
	v, err := s.View(r.Context(), c, id)
	s.answer(w, http.StatusOK, v, err)
}

func (s *Server) putGitOps(w http.ResponseWriter, r *http.Request, c Caller, id int64, req GitOpsChange) {
	v, err := s.SetGitOps(r.Context(), c, id, req)
	s.answer(w, http.StatusOK, v, err)
}

func (s *Server) postSync(w http.ResponseWriter, r *http.Request, c Caller, id int64, req tinyforge.SyncRequest) {
	res, err := s.Sync(r.Context(), c, id, req)
	s.answer(w, http.StatusOK, res, err)
}

func (s *Server) getEvents(w http.ResponseWriter, r *http.Request, c Caller, id int64) {
	evs, err := s.Events(r.Context(), c, id)
	s.answer(w, http.StatusOK, evs, err)
}

// answer writes v with status, or err's answer when err is not nil.
func (s *Server) answer(w http.ResponseWriter, status int, v any, err error) {
	if err != nil {
		s.writeError(w, err)
		return
	}
	writeJSON(w, status, v)
}

// answerWorkload is answer for a workload, in the API's shape.
func (s *Server) answerWorkload(w http.ResponseWriter, r *http.Request, status int, wl *Workload, err error) {
	if err != nil {
		s.writeError(w, err)
		return
	}
	writeJSON(w, status, s.wire(r, wl))
}

func settings(wl *Workload) tinyforge.GitOpsSettings {
	return tinyforge.GitOpsSettings{Enabled: wl.GitOpsEnabled, Path: wl.GitOpsPath, LastSyncAt: wl.GitOpsLastSyncAt,
		CommitSHA: wl.GitOpsCommitSHA, FileSHA: wl.GitOpsFileSHA}
}

// summaries is the API's list of workloads.
func summaries(list []*Workload) []tinyforge.WorkloadSummary {
	out := make([]tinyforge.WorkloadSummary, 0, len(list))
	for _, wl := range list {
		out = append(out, tinyforge.WorkloadSummary{ID: wl.ID, Name: wl.Name, SourceType: wl.SourceType, GitOps: settings(wl)})
	}
	return out
}

func (s *Server) wire(r *http.Request, wl *Workload) tinyforge.Workload {
	return wireAt(s.baseURL(r), wl)
}

// wireAt is the API's shape of wl, its ui_url under base.
func wireAt(base string, wl *Workload) tinyforge.Workload {
	return tinyforge.Workload{ID: wl.ID, Name: wl.Name, SourceType: wl.SourceType, SourceConfig: wl.SourceConfig,
		Version: wl.Version, GitOps: settings(wl), UIURL: base + "/apps/" + strconv.FormatInt(wl.ID, 10), SetBy: wl.SetBy}
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

// writeError answers err: an *Error with its kind's status and message, anything else (never
// expected) as a 500 without details.
func (s *Server) writeError(w http.ResponseWriter, err error) {
	var e *Error
	if !errors.As(err, &e) {
		s.log.Error("unclassified error", "err", err)
		e = &Error{Kind: KindInternal, Message: "the request failed; see the server log"}
	}
	writeJSON(w, e.Kind.Status(), tinyforge.ErrorBody{Error: e.Message})
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

// decode reads a JSON body of at most MaxRequestBytes into v: a 415, 413 or 400 when it cannot.
// allowEmpty accepts an empty body (v keeps its zero value).
func decode(w http.ResponseWriter, r *http.Request, v any, allowEmpty bool) error {
	// A body in another declared type (a form, text/plain) is refused rather than read as JSON;
	// a body without a Content-Type is read as JSON.
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			return newError(KindUnsupportedMedia, fmt.Sprintf("the body is %.60q; send it as application/json", ct))
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxRequestBytes))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return newError(KindTooLarge, fmt.Sprintf("request body larger than %d bytes", MaxRequestBytes))
	}
	if err != nil {
		return newError(KindInvalid, "could not read the request body")
	}
	if allowEmpty && strings.TrimSpace(string(body)) == "" {
		return nil
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return newError(KindInvalid, "request body is not the expected JSON: "+jsonProblem(err))
	}
	if dec.More() {
		return newError(KindInvalid, "request body has data after the JSON object")
	}
	return nil
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
