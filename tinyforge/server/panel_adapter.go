package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/tinyforge/tinyforge-check/gitops"
	"github.com/tinyforge/tinyforge-check/tinyforge"
	"github.com/tinyforge/tinyforge-check/tinyforge/server/panel"
)

// Panel returns the web panel (package panel) over this server: mount it at "/" beside the
// API, as Handler does. Its cookies are Secure when PublicURL is https.
func (s *Server) Panel() http.Handler {
	api := http.NewServeMux()
	s.Register(api)
	return panel.New(panel.Config{
		Backend: &panelBackend{store: s.store, api: api},
		Secure:  strings.HasPrefix(strings.ToLower(s.publicURL), "https://"),
		Now:     s.now,
		Logger:  s.log,
	})
}

// panelBackend is the panel's Backend over this server. Sign-in checks the token in the store;
// every other call goes through the API handlers in process with the signed-in token, so the
// panel gets exactly the API's roles, workload limits, per-workload Sync lock and audit rows.
type panelBackend struct {
	store *Store
	api   http.Handler
}

// panelOrigin is the base URL of in-process API calls; no request ever leaves the process.
const panelOrigin = "http://tinyforge.internal"

func (b *panelBackend) Authenticate(ctx context.Context, token string) (panel.Principal, error) {
	t, err := b.store.Authenticate(ctx, token)
	if errors.Is(err, ErrBadToken) {
		return panel.Principal{}, &tinyforge.APIError{Method: http.MethodPost, Path: "/login", StatusCode: http.StatusUnauthorized, Message: "unknown or revoked token"}
	}
	if err != nil {
		return panel.Principal{}, err
	}
	return panel.Principal{Name: t.Name, Role: t.Role, WorkloadID: t.WorkloadID, Credential: token}, nil
}

// client is a tinyforge.Client that calls the API handlers in process as p.
func (b *panelBackend) client(p panel.Principal) (*tinyforge.Client, error) {
	return tinyforge.NewClient(panelOrigin, p.Credential, &http.Client{Transport: inProcess{b.api}})
}

func (b *panelBackend) ListWorkloads(ctx context.Context, p panel.Principal) ([]tinyforge.WorkloadSummary, error) {
	c, err := b.client(p)
	if err != nil {
		return nil, err
	}
	return c.ListWorkloads(ctx, "")
}

func (b *panelBackend) Workload(ctx context.Context, p panel.Principal, id int64) (*tinyforge.Workload, error) {
	c, err := b.client(p)
	if err != nil {
		return nil, err
	}
	return c.GetWorkload(ctx, id)
}

// GitOps is GET /api/workloads/{id}/gitops plus every declared field compared with live (the
// same gitops.Compare the API's drift comes from), for the drift view's normalization column.
func (b *panelBackend) GitOps(ctx context.Context, p panel.Principal, id int64) (*panel.View, error) {
	c, err := b.client(p)
	if err != nil {
		return nil, err
	}
	v, err := c.GetGitOps(ctx, id)
	if err != nil {
		return nil, err
	}
	out := &panel.View{GitOpsView: *v}
	if v.Status != string(gitops.StatusOK) {
		return out, nil
	}
	wl, err := c.GetWorkload(ctx, id)
	if err != nil {
		return nil, err
	}
	if spec, _ := gitops.Lint([]byte(v.Raw), wl.SourceType); spec != nil {
		out.Comparisons, _ = gitops.Compare(spec, wl.SourceType, wl.SourceConfig)
	}
	return out, nil
}

func (b *panelBackend) SetGitOps(ctx context.Context, p panel.Principal, id int64, req tinyforge.SetGitOpsRequest) error {
	c, err := b.client(p)
	if err != nil {
		return err
	}
	_, err = c.SetGitOps(ctx, id, req)
	return err
}

func (b *panelBackend) Sync(ctx context.Context, p panel.Principal, id int64, req tinyforge.SyncRequest) (*tinyforge.SyncResult, error) {
	c, err := b.client(p)
	if err != nil {
		return nil, err
	}
	return c.Sync(ctx, id, req)
}

func (b *panelBackend) UpdateSourceConfig(ctx context.Context, p panel.Principal, id int64, cfg json.RawMessage, version int64) error {
	c, err := b.client(p)
	if err != nil {
		return err
	}
	_, err = c.UpdateWorkload(ctx, id, tinyforge.UpdateWorkloadRequest{SourceConfig: cfg, Version: &version})
	return err
}

// inProcess is an http.RoundTripper that serves requests with a handler in this process.
type inProcess struct{ h http.Handler }

func (t inProcess) RoundTrip(r *http.Request) (*http.Response, error) {
	w := &recorder{header: http.Header{}, status: http.StatusOK}
	t.h.ServeHTTP(w, r)
	return &http.Response{
		Status: http.StatusText(w.status), StatusCode: w.status, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: w.header, Body: io.NopCloser(bytes.NewReader(w.body.Bytes())), ContentLength: int64(w.body.Len()), Request: r,
	}, nil
}

// recorder is the http.ResponseWriter of an in-process call.
type recorder struct {
	header      http.Header
	status      int
	wroteHeader bool
	body        bytes.Buffer
}

func (w *recorder) Header() http.Header { return w.header }

func (w *recorder) WriteHeader(code int) {
	if !w.wroteHeader {
		w.status, w.wroteHeader = code, true
	}
}

func (w *recorder) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.body.Write(p)
}
