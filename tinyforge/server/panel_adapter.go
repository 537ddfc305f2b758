package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tinyforge/tinyforge-check/gitops"
	"github.com/tinyforge/tinyforge-check/tinyforge"
	"github.com/tinyforge/tinyforge-check/tinyforge/server/panel"
)

// Panel returns the web panel (package panel) over this server: mount it at "/" beside the
// API, as Handler does. Its cookies are Secure when PublicURL is https.
func (s *Server) Panel() http.Handler {
	return panel.New(panel.Config{
		Backend: panelBackend{s},
		Secure:  strings.HasPrefix(strings.ToLower(s.publicURL), "https://"),
		Now:     s.now,
		Logger:  s.log,
	})
}

// panelBackend is the panel's Backend over this server's service layer: every call checks the
// signed-in token again (a revoked token ends the session at its next call) and then calls the
// same method as the API's handler, so the panel gets exactly the API's roles, workload limits,
// deadline, per-workload Sync lock, audit rows and messages.
type panelBackend struct{ s *Server }

func (b panelBackend) Authenticate(ctx context.Context, token string) (panel.Principal, error) {
	t, err := b.s.store.Authenticate(ctx, token)
	if errors.Is(err, ErrBadToken) {
		return panel.Principal{}, &tinyforge.APIError{Method: http.MethodPost, Path: "/login", StatusCode: http.StatusUnauthorized, Message: "unknown or revoked token"}
	}
	if err != nil {
		return panel.Principal{}, err
	}
	return panel.Principal{Name: t.Name, Role: t.Role, WorkloadID: t.WorkloadID, Credential: token}, nil
}

// call authenticates p and runs fn as its Caller, returning fn's error as the API would have
// answered method path. A call that writes (bounded) runs under the SyncDeadline from before
// the token check, as the API's do.
func (b panelBackend) call(ctx context.Context, p panel.Principal, method, path string, bounded bool, fn func(context.Context, Caller) error) error {
	if bounded {
		var cancel context.CancelFunc
		ctx, cancel = b.s.bound(ctx)
		defer cancel()
	}
	c, err := b.s.authenticate(ctx, p.Credential, method, path)
	c.Via = ViaPanel
	if err == nil {
		err = fn(ctx, c)
	}
	return apiError(method, path, p.Credential, err)
}

// apiError is err as the panel expects it (see panel.Backend): a service *Error becomes the
// *tinyforge.APIError a tinyforge.Client gets from the API, with the same status and the same
// message (tinyforge.NewAPIError: on one line, at most 500 bytes, credential redacted).
func apiError(method, path, credential string, err error) error {
	var e *Error
	if !errors.As(err, &e) {
		return err
	}
	return tinyforge.NewAPIError(method, path, e.Kind.Status(), e.Message, credential)
}

func workloadPath(id int64, suffix string) string {
	return "/api/workloads/" + strconv.FormatInt(id, 10) + suffix
}

func (b panelBackend) ListWorkloads(ctx context.Context, p panel.Principal) ([]tinyforge.WorkloadSummary, error) {
	var out []tinyforge.WorkloadSummary
	err := b.call(ctx, p, http.MethodGet, "/api/workloads", false, func(ctx context.Context, c Caller) error {
		list, err := b.s.ListWorkloads(ctx, c, "")
		out = summaries(list)
		if err == nil {
			b.s.listers.put(p.Credential, c, list, time.Now())
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (b panelBackend) Workload(ctx context.Context, p panel.Principal, id int64) (*tinyforge.Workload, error) {
	var out tinyforge.Workload
	err := b.call(ctx, p, http.MethodGet, workloadPath(id, ""), false, func(ctx context.Context, c Caller) error {
		wl, err := b.s.Workload(ctx, c, id)
		if err == nil {
			out = wireAt(b.s.publicURL, wl)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// GitOps is the API's GitOps view plus every declared field compared with live (the
// comparisons the view's drift is the unequal part of), for the drift view's normalization
// column.
func (b panelBackend) GitOps(ctx context.Context, p panel.Principal, id int64) (*panel.View, error) {
	return b.gitOps(ctx, p, id, 0)
}

// ListGitOps is GitOps for the workload list's status column: a branch head read less than the
// head TTL ago is reused, so reloads of the list cost the forge nothing within it. The list's
// rows act for the caller its ListWorkloads checked a moment before (listerTTL), and compare
// with the workload as that call read it, instead of checking the token and reading the
// workload once more per row.
func (b panelBackend) ListGitOps(ctx context.Context, p panel.Principal, id int64) (*panel.View, error) {
	c, wl, ok := b.s.listers.get(p.Credential, id, time.Now())
	if !ok {
		return b.gitOps(ctx, p, id, b.s.headTTL)
	}
	var v tinyforge.GitOpsView
	var comps []gitops.Comparison
	var err error
	if wl == nil {
		v, comps, err = b.s.viewOf(ctx, c, id, b.s.headTTL) // permits as below
	} else if err = c.permit(RoleViewer, id); err == nil {
		v, comps = b.s.view(wl, b.s.fetch(ctx, wl, b.s.headTTL))
	}
	if err != nil {
		return nil, apiError(http.MethodGet, workloadPath(id, "/gitops"), p.Credential, err)
	}
	return panelView(v, comps, ""), nil
}

// gitOps is GitOps with a branch head read less than maxAge ago reused (see viewOf).
func (b panelBackend) gitOps(ctx context.Context, p panel.Principal, id int64, maxAge time.Duration) (*panel.View, error) {
	return b.view(ctx, p, id, func(ctx context.Context, c Caller) (tinyforge.GitOpsView, []gitops.Comparison, string, error) {
		v, comps, err := b.s.viewOf(ctx, c, id, maxAge)
		return v, comps, "", err
	})
}

// GitOpsAt is GitOps at commit, the head of the PR a link names, with the workload's branch.
func (b panelBackend) GitOpsAt(ctx context.Context, p panel.Principal, id int64, commit string) (*panel.View, error) {
	return b.view(ctx, p, id, func(ctx context.Context, c Caller) (tinyforge.GitOpsView, []gitops.Comparison, string, error) {
		return b.s.viewAt(ctx, c, id, commit)
	})
}

// view makes the panel's View of workload id from read, called as the API's GET
// /api/workloads/{id}/gitops would be: the view, its comparisons when the file was read and
// linted (Status ok), and the branch when read names one ("" otherwise).
func (b panelBackend) view(ctx context.Context, p panel.Principal, id int64, read func(context.Context, Caller) (tinyforge.GitOpsView, []gitops.Comparison, string, error)) (*panel.View, error) {
	var out *panel.View
	err := b.call(ctx, p, http.MethodGet, workloadPath(id, "/gitops"), false, func(ctx context.Context, c Caller) error {
		v, comps, branch, err := read(ctx, c)
		out = panelView(v, comps, branch)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// panelView is the panel's View of v with branch: comps only when the file was read and
// linted (Status ok).
func panelView(v tinyforge.GitOpsView, comps []gitops.Comparison, branch string) *panel.View {
	out := &panel.View{GitOpsView: v, Branch: branch}
	if v.Status == string(gitops.StatusOK) {
		out.Comparisons = comps
	}
	return out
}

func (b panelBackend) SetGitOps(ctx context.Context, p panel.Principal, id int64, req tinyforge.SetGitOpsRequest) error {
	return b.call(ctx, p, http.MethodPut, workloadPath(id, "/gitops"), true, func(ctx context.Context, c Caller) error {
		_, err := b.s.changeGitOps(ctx, c, id, GitOpsChange{Enabled: &req.Enabled, Path: &req.Path})
		return err
	})
}

func (b panelBackend) Sync(ctx context.Context, p panel.Principal, id int64, req tinyforge.SyncRequest) (*tinyforge.SyncResult, error) {
	var out tinyforge.SyncResult
	err := b.call(ctx, p, http.MethodPost, workloadPath(id, "/gitops/sync"), true, func(ctx context.Context, c Caller) error {
		var err error
		out, err = b.s.Sync(ctx, c, id, req)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

func (b panelBackend) UpdateSourceConfig(ctx context.Context, p panel.Principal, id int64, cfg json.RawMessage, version int64) error {
	return b.call(ctx, p, http.MethodPatch, workloadPath(id, ""), true, func(ctx context.Context, c Caller) error {
		_, err := b.s.UpdateWorkload(ctx, c, id, tinyforge.UpdateWorkloadRequest{SourceConfig: cfg, Version: &version})
		return err
	})
}
