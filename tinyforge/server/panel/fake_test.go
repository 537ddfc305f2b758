package panel

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/tinyforge/tinyforge-check/gitops"
	"github.com/tinyforge/tinyforge-check/tinyforge"
)

// Tokens of the fake backend. canaryToken is the admin's secret; tests check it never leaks.
const (
	viewerToken  = "tfk_viewer_secret"
	adminToken   = "tfk_admin_CANARY_9f2c1e"
	limitedToken = "tfk_limited_secret"
)

// The fake's commits and files. fileSHA is derived from the raw text like the real server does.
const (
	headCommit  = "1111111111111111111111111111111111111111"
	otherCommit = "2222222222222222222222222222222222222222"
	okRaw       = "version: 1\ndeploy:\n  port: 8080\n  healthcheck: /healthz\n  deploy_strategy: rolling\n"
	invalidRaw  = "version: 1\ndeploy:\n  prot: 8080\n"
	xssName     = `<script>alert("name")</script>`
	syncedRaw   = "version: 1\ndeploy:\n  port: 8080\n  healthcheck: /healthz\n"
	xssRaw      = "version: 1\n# </code></pre><script>alert('file')</script>\ndeploy:\n  deploy_strategy: rolling\n"
)

// fakeWorkload is a workload plus what its forge serves.
type fakeWorkload struct {
	wl tinyforge.Workload
	// status is the fetch outcome the fake forge produces when GitOps is enabled; ok and
	// invalid take the file from raw.
	status  gitops.FetchStatus
	message string
	raw     string
	commit  string
	// proposed holds files at commits that are not the branch head (a PR's head), by commit,
	// for GitOpsAt.
	proposed map[string]string
}

// fakeBackend is an in-memory Backend that behaves like the API: it enforces roles and
// workload limits itself, answers with *tinyforge.APIError, computes drift with the gitops
// package and applies a pinned Sync with MergeAndValidate. It records every call.
type fakeBackend struct {
	mu        sync.Mutex
	tokens    map[string]Principal
	workloads map[int64]*fakeWorkload
	calls     []string
	// authCalls counts Authenticate calls, to prove the rate limit stops them.
	authCalls int
	// leakMessage, when set, is returned as a 502 API error message (to test redaction).
	leakMessage string
	// gitopsErr makes GitOps of a workload fail with that error.
	gitopsErr map[int64]error
	// gitopsWait, when set, runs at the start of every GitOps call, outside the lock, so calls
	// can overlap (to measure the list's concurrency and deadline).
	gitopsWait func(ctx context.Context, id int64)
	// inFlight and maxInFlight count GitOps calls running at once.
	inFlight, maxInFlight int
}

func newFakeBackend() *fakeBackend {
	f := &fakeBackend{
		tokens: map[string]Principal{
			viewerToken:  {Name: "dev", Role: RoleViewer, Credential: viewerToken},
			adminToken:   {Name: "ops", Role: RoleAdmin, Credential: adminToken},
			limitedToken: {Name: "ci", Role: RoleAdmin, WorkloadID: 2, Credential: limitedToken},
		},
		workloads: map[int64]*fakeWorkload{},
	}
	add := func(name, sourceType, cfg string, enabled bool, status gitops.FetchStatus, message, raw string) {
		id := int64(len(f.workloads) + 1)
		f.workloads[id] = &fakeWorkload{
			wl: tinyforge.Workload{ID: id, Name: name, SourceType: sourceType, SourceConfig: json.RawMessage(cfg), Version: 1,
				GitOps: tinyforge.GitOpsSettings{Enabled: enabled, Path: gitops.DefaultPath}},
			status: status, message: message, raw: raw, commit: headCommit,
		}
	}
	add("api", "dockerfile", `{"port":"8080","healthcheck":"/","dockerfile_path":"Dockerfile"}`, true, gitops.StatusOK, "", okRaw)
	add("site", "static", `{"build_command":"make"}`, false, gitops.StatusOK, "", "version: 1\n")
	add("nofile", "dockerfile", `{"port":80}`, true, gitops.StatusNoFile, ".tinyforge.yml does not exist at the branch head; add it or change the path", "")
	add("broken", "dockerfile", `{"port":80}`, true, gitops.StatusFetchFailed, "the forge answered 502 Bad Gateway; retry later", "")
	add("bad", "dockerfile", `{"port":80}`, true, gitops.StatusInvalid, "", invalidRaw)
	add(xssName, "dockerfile", `{"deploy_strategy":"recreate","note":"<img src=x onerror=alert(1)>"}`, true, gitops.StatusOK, "", xssRaw)
	add("worker", "buildpack", `{}`, false, gitops.StatusOK, "", "")
	add("synced", "dockerfile", `{"port":8080,"healthcheck":"/healthz"}`, true, gitops.StatusOK, "", syncedRaw)
	return f
}

func apiErr(status int, format string, args ...any) error {
	return &tinyforge.APIError{StatusCode: status, Message: fmt.Sprintf(format, args...)}
}

func (f *fakeBackend) record(format string, args ...any) {
	f.calls = append(f.calls, fmt.Sprintf(format, args...))
}

// Calls returns the recorded calls (Authenticate excluded).
func (f *fakeBackend) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

func (f *fakeBackend) Authenticate(_ context.Context, token string) (Principal, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.authCalls++
	p, ok := f.tokens[token]
	if !ok {
		return Principal{}, apiErr(http.StatusUnauthorized, "unknown or revoked token")
	}
	return p, nil
}

// principal re-checks the credential (a revoked token ends the session) and the limits.
func (f *fakeBackend) check(p Principal, id int64, admin bool) (*fakeWorkload, error) {
	cur, ok := f.tokens[p.Credential]
	if !ok {
		return nil, apiErr(http.StatusUnauthorized, "unknown or revoked token")
	}
	if admin && cur.Role != RoleAdmin {
		return nil, apiErr(http.StatusForbidden, "this needs an admin token; the token's role is %s", cur.Role)
	}
	if id == 0 {
		return nil, nil
	}
	if cur.WorkloadID != 0 && cur.WorkloadID != id {
		return nil, apiErr(http.StatusForbidden, "this token is limited to another workload")
	}
	w, ok := f.workloads[id]
	if !ok {
		return nil, apiErr(http.StatusNotFound, "workload %d not found", id)
	}
	return w, nil
}

func (f *fakeBackend) ListWorkloads(_ context.Context, p Principal) ([]tinyforge.WorkloadSummary, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, err := f.check(p, 0, false); err != nil {
		return nil, err
	}
	var out []tinyforge.WorkloadSummary
	for id := int64(1); id <= int64(len(f.workloads)); id++ {
		if p.WorkloadID != 0 && p.WorkloadID != id {
			continue
		}
		w := f.workloads[id].wl
		out = append(out, tinyforge.WorkloadSummary{ID: w.ID, Name: w.Name, SourceType: w.SourceType, GitOps: w.GitOps})
	}
	return out, nil
}

func (f *fakeBackend) Workload(_ context.Context, p Principal, id int64) (*tinyforge.Workload, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	w, err := f.check(p, id, false)
	if err != nil {
		return nil, err
	}
	wl := w.wl
	wl.SourceConfig = append(json.RawMessage(nil), w.wl.SourceConfig...)
	return &wl, nil
}

// view computes the GitOps view like the server: fetch status, lint, compare with live.
func (w *fakeWorkload) view() (*View, *gitops.Spec) {
	v := &View{GitOpsView: tinyforge.GitOpsView{Enabled: w.wl.GitOps.Enabled, Path: w.wl.GitOps.Path,
		Drift: []tinyforge.DriftEntry{}, ManagedFields: []string{},
		LastSyncAt: w.wl.GitOps.LastSyncAt, LastSyncCommitSHA: w.wl.GitOps.CommitSHA}}
	switch {
	case !gitops.SupportsGitOps(w.wl.SourceType):
		v.Status, v.Message = string(gitops.StatusDisabled), "source type cannot use GitOps"
		return v, nil
	case !w.wl.GitOps.Enabled:
		v.Status, v.Message = string(gitops.StatusDisabled), "GitOps is disabled for this workload"
		return v, nil
	case w.status == gitops.StatusNoFile || w.status == gitops.StatusFetchFailed:
		v.Status, v.Message, v.CommitSHA = string(w.status), w.message, w.commit
		return v, nil
	}
	v.Raw, v.CommitSHA, v.FileSHA = w.raw, w.commit, gitops.FileSHA([]byte(w.raw))
	spec, diags := gitops.Lint([]byte(w.raw), w.wl.SourceType)
	for _, d := range diags {
		v.Diagnostics = append(v.Diagnostics, tinyforge.Diagnostic{Severity: string(d.Severity), Line: d.Line, Column: d.Column, Field: d.Field, Code: d.Code, Message: d.Message})
	}
	if spec == nil {
		v.Status, v.Message = string(gitops.StatusInvalid), fmt.Sprintf("%s has %d problem(s)", w.wl.GitOps.Path, len(diags.Errors()))
		return v, nil
	}
	v.Status = string(gitops.StatusOK)
	v.ManagedFields = append(v.ManagedFields, spec.ManagedFields()...)
	cmp, err := gitops.Compare(spec, w.wl.SourceType, w.wl.SourceConfig)
	if err != nil {
		v.Message = err.Error()
		return v, spec
	}
	v.Comparisons = cmp
	for _, c := range cmp {
		if !c.Equal {
			v.Drift = append(v.Drift, tinyforge.DriftEntry{Field: c.Field, RepoValue: c.RepoValue, LiveValue: c.LiveValue})
		}
	}
	return v, spec
}

func (f *fakeBackend) GitOps(ctx context.Context, p Principal, id int64) (*View, error) {
	f.mu.Lock()
	wait := f.gitopsWait
	f.inFlight++
	f.maxInFlight = max(f.maxInFlight, f.inFlight)
	f.mu.Unlock()
	if wait != nil {
		wait(ctx, id)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.inFlight--
	if err := f.gitopsErr[id]; err != nil {
		return nil, err
	}
	if f.leakMessage != "" {
		return nil, apiErr(http.StatusBadGateway, "%s", f.leakMessage)
	}
	w, err := f.check(p, id, false)
	if err != nil {
		return nil, err
	}
	v, _ := w.view()
	return v, nil
}

// GitOpsAt is GitOps at a commit of the workload's proposed files; another commit has no file.
func (f *fakeBackend) GitOpsAt(_ context.Context, p Principal, id int64, commit string) (*View, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("GitOpsAt %d %s", id, commit)
	w, err := f.check(p, id, false)
	if err != nil {
		return nil, err
	}
	at := *w
	raw, ok := w.proposed[commit]
	at.raw, at.commit = raw, commit
	if !ok {
		at.status, at.message = gitops.StatusNoFile, "no file at "+commit
	}
	v, _ := at.view()
	v.Branch = "main"
	return v, nil
}

func (f *fakeBackend) SetGitOps(_ context.Context, p Principal, id int64, req tinyforge.SetGitOpsRequest) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("SetGitOps %d enabled=%t path=%q", id, req.Enabled, req.Path)
	w, err := f.check(p, id, true)
	if err != nil {
		return err
	}
	if !gitops.SupportsGitOps(w.wl.SourceType) {
		return apiErr(http.StatusUnprocessableEntity, "source type %q cannot use GitOps", w.wl.SourceType)
	}
	if req.Path != "" && (!strings.HasSuffix(req.Path, ".yml") && !strings.HasSuffix(req.Path, ".yaml") || strings.Contains(req.Path, "..")) {
		return apiErr(http.StatusBadRequest, "invalid GitOps path: the path must end in .yml or .yaml")
	}
	w.wl.GitOps.Enabled = req.Enabled
	if req.Path != "" {
		w.wl.GitOps.Path = req.Path
	}
	return nil
}

func (f *fakeBackend) Sync(_ context.Context, p Principal, id int64, req tinyforge.SyncRequest) (*tinyforge.SyncResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("Sync %d commit=%s file=%s", id, req.CommitSHA, req.FileSHA)
	w, err := f.check(p, id, true)
	if err != nil {
		return nil, err
	}
	v, spec := w.view()
	if v.Status != string(gitops.StatusOK) {
		return nil, apiErr(http.StatusConflict, "Sync refused: GitOps status is %s, not ok", v.Status)
	}
	if req.CommitSHA != v.CommitSHA || req.FileSHA != v.FileSHA {
		return nil, apiErr(http.StatusConflict, "Sync refused: the reviewed file %s differs from the fetched file %s", gitops.ShortSHA(req.FileSHA), gitops.ShortSHA(v.FileSHA))
	}
	merged, err := gitops.PreviewSync(spec, w.wl.SourceConfig)
	if err != nil {
		return nil, apiErr(http.StatusUnprocessableEntity, "Sync refused: %v", err)
	}
	res := &tinyforge.SyncResult{Applied: []tinyforge.Change{}, CommitSHA: v.CommitSHA, FileSHA: v.FileSHA, LastSyncAt: "2026-11-28T01:00:00Z"}
	for _, d := range v.Drift {
		res.Applied = append(res.Applied, tinyforge.Change{Field: d.Field, From: d.LiveValue, To: d.RepoValue})
	}
	w.wl.SourceConfig = merged
	w.wl.Version++
	w.wl.GitOps.LastSyncAt, w.wl.GitOps.CommitSHA, w.wl.GitOps.FileSHA = res.LastSyncAt, res.CommitSHA, res.FileSHA
	return res, nil
}

func (f *fakeBackend) UpdateSourceConfig(_ context.Context, p Principal, id int64, cfg json.RawMessage, version int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("UpdateSourceConfig %d version=%d %s", id, version, cfg)
	w, err := f.check(p, id, true)
	if err != nil {
		return err
	}
	if version != w.wl.Version {
		return apiErr(http.StatusConflict, "version %d is stale; the current version is %d", version, w.wl.Version)
	}
	if err := gitops.ValidateSourceConfig(cfg); err != nil {
		return apiErr(http.StatusBadRequest, "%v", err)
	}
	w.wl.SourceConfig = cfg
	w.wl.Version++
	return nil
}

// addWorkloads adds n GitOps-managed workloads whose file is valid and in sync with live.
func (f *fakeBackend) addWorkloads(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for range n {
		id := int64(len(f.workloads) + 1)
		f.workloads[id] = &fakeWorkload{
			wl: tinyforge.Workload{ID: id, Name: fmt.Sprintf("w%d", id), SourceType: "dockerfile", SourceConfig: json.RawMessage(`{"port":8080,"healthcheck":"/healthz"}`), Version: 1,
				GitOps: tinyforge.GitOpsSettings{Enabled: true, Path: gitops.DefaultPath}},
			status: gitops.StatusOK, raw: syncedRaw, commit: headCommit,
		}
	}
}

// moveHead makes the forge's branch head a new commit with new file content.
func (f *fakeBackend) moveHead(id int64, commit, raw string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.workloads[id].commit, f.workloads[id].raw = commit, raw
}

// live returns a workload's source_config.
func (f *fakeBackend) live(id int64) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return string(f.workloads[id].wl.SourceConfig)
}

// ListGitOps is GitOps: the fake keeps no cache of its own.
func (f *fakeBackend) ListGitOps(ctx context.Context, p Principal, id int64) (*View, error) {
	return f.GitOps(ctx, p, id)
}
