package server

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tinyforge/tinyforge-check/gitops"
	"github.com/tinyforge/tinyforge-check/tinyforge"
)

// Audit actions and outcomes written to event_log.
const (
	// ActionSync is one Sync attempt, applied or refused.
	ActionSync = "sync"
	// ActionGitOpsSettings is a change of the GitOps enabled flag or path.
	ActionGitOpsSettings = "gitops_settings"
	// ActionRepoSettings is a change of the repo coordinates or access token (PATCH repo).
	ActionRepoSettings = "repo_settings"
	// ActionCreate is a workload's creation: its first source_config and repo settings.
	ActionCreate = "create"
	// ActionSourceConfig is an edit of source_config (PATCH, the panel's edit form).
	ActionSourceConfig = "source_config"
	// OutcomeApplied marks an accepted write; refusals are "refused: <reason>".
	OutcomeApplied = "applied"
)

// View fetches workload id's GitOps file at its branch head and compares it with live.
func (s *Server) View(ctx context.Context, c Caller, id int64) (tinyforge.GitOpsView, error) {
	v, _, err := s.viewOf(ctx, c, id, 0)
	return v, err
}

// viewOf is View with every declared field compared with live (nil unless the file is valid
// and compares), which the view's drift is the unequal part of.
//
// The branch head is read anew unless it was read less than maxAge ago (the workload list
// passes the head TTL).
func (s *Server) viewOf(ctx context.Context, c Caller, id int64, maxAge time.Duration) (tinyforge.GitOpsView, []gitops.Comparison, error) {
	if err := c.permit(RoleViewer, id); err != nil {
		return tinyforge.GitOpsView{}, nil, err
	}
	wl, err := s.read(ctx, id)
	if err != nil {
		return tinyforge.GitOpsView{}, nil, err
	}
	v, comps := s.view(wl, s.fetch(ctx, wl, maxAge))
	if len(v.Drift) > 0 && maxAge == 0 { // the list shows no attribution
		attribute(&v, s.setBy(ctx, id))
	}
	return v, comps, nil
}

// viewAt is viewOf at commit (a full SHA, such as the head of a PR a link names) instead of
// the branch head: what a Sync would change once that commit's file is on the branch. It also
// returns the workload's branch, which that file is not on yet.
func (s *Server) viewAt(ctx context.Context, c Caller, id int64, commit string) (tinyforge.GitOpsView, []gitops.Comparison, string, error) {
	if err := c.permit(RoleViewer, id); err != nil {
		return tinyforge.GitOpsView{}, nil, "", err
	}
	if !gitops.IsSHA(commit, true) {
		return tinyforge.GitOpsView{}, nil, "", newError(KindInvalid, "commit must be a full hexadecimal commit SHA (40 or 64 digits)")
	}
	wl, err := s.read(ctx, id)
	if err != nil {
		return tinyforge.GitOpsView{}, nil, "", err
	}
	v, comps := s.view(wl, s.fetchAt(ctx, wl, strings.ToLower(commit), 0))
	return v, comps, wl.Repo.Branch, nil
}

// view renders a fetch result as the API's GitOps view, with drift against the live config,
// and returns the comparisons the drift comes from (nil when nothing was compared).
func (s *Server) view(wl *Workload, res fetchResult) (tinyforge.GitOpsView, []gitops.Comparison) {
	v := tinyforge.GitOpsView{
		Enabled: wl.GitOpsEnabled, Path: wl.GitOpsPath, Status: string(res.Status), Message: res.Message,
		Raw: string(res.Raw), CommitSHA: res.CommitSHA, FileSHA: res.FileSHA,
		Drift: []tinyforge.DriftEntry{}, ManagedFields: []string{},
		LastSyncAt: wl.GitOpsLastSyncAt, LastSyncCommitSHA: wl.GitOpsCommitSHA,
	}
	if !res.CheckedAt.IsZero() {
		v.CheckedAt = timeString(res.CheckedAt)
	}
	if !res.RateLimitedUntil.IsZero() {
		v.RateLimitedUntil = timeString(res.RateLimitedUntil)
	}
	for _, d := range res.Diags {
		v.Diagnostics = append(v.Diagnostics, tinyforge.Diagnostic{Severity: string(d.Severity), Line: d.Line, Column: d.Column, Field: d.Field, Code: d.Code, Message: d.Message})
	}
	if res.Spec == nil {
		return v, nil
	}
	v.ManagedFields = append(v.ManagedFields, res.Spec.ManagedFields()...)
	comps, err := gitops.Compare(res.Spec, wl.SourceType, wl.SourceConfig)
	if err != nil {
		v.Message = "cannot compare with the live config: " + err.Error()
		return v, nil
	}
	v.Drift = append(v.Drift, gitops.Unequal(comps)...)
	return v, comps
}

// GitOpsChange is the body of PUT /api/workloads/{id}/gitops: SetGitOpsRequest with presence.
// An absent path keeps the stored one; an explicit "" is refused like any other invalid path.
type GitOpsChange struct {
	Enabled *bool   `json:"enabled"`
	Path    *string `json:"path"`
}

// check refuses (400) a change without "enabled" or with an invalid path.
func (req GitOpsChange) check() error {
	if req.Enabled == nil {
		return newError(KindInvalid, `"enabled" (true or false) is required`)
	}
	if req.Path != nil {
		if why := gitops.CheckPath(*req.Path); why != "" { // the rule the check applies too
			return newError(KindInvalid, "invalid GitOps path: "+why)
		}
	}
	return nil
}

// SetGitOps enables or disables GitOps and sets the file path of workload id (admin), under the
// workload's lock and ctx's deadline (the SyncDeadline, see bound), with an audit row when
// something changed. It returns the view with the new settings; its fetch ends by the deadline
// too, so past it the view says fetch_failed and the answer (the settings are saved) still
// reaches the client.
func (s *Server) SetGitOps(ctx context.Context, c Caller, id int64, req GitOpsChange) (tinyforge.GitOpsView, error) {
	wl, err := s.changeGitOps(ctx, c, id, req)
	if err != nil {
		return tinyforge.GitOpsView{}, err
	}
	v, _ := s.view(wl, s.fetch(ctx, wl, 0))
	return v, nil
}

// changeGitOps is SetGitOps without the view: the settings saved under the workload's lock,
// and the workload as saved. The panel, which shows the workload page (and its own view) next,
// uses it so that a save does not also wait on a forge fetch nobody reads.
func (s *Server) changeGitOps(ctx context.Context, c Caller, id int64, req GitOpsChange) (*Workload, error) {
	if err := c.permit(RoleAdmin, id); err != nil {
		return nil, err
	}
	if err := req.check(); err != nil {
		return nil, err
	}
	wl, unlock, err := s.lockedLoad(ctx, id)
	if err != nil {
		return nil, changeRefused(err)
	}
	defer unlock()
	if err := s.saveGitOps(ctx, c, wl, req); err != nil {
		return nil, err
	}
	return wl, nil
}

// saveGitOps writes req's settings of wl, read under its lock, and sets them in wl. Nothing
// changed: no write and no audit row.
func (s *Server) saveGitOps(ctx context.Context, c Caller, wl *Workload, req GitOpsChange) error {
	if !gitops.SupportsGitOps(wl.SourceType) {
		return newError(KindUnprocessable, fmt.Sprintf("source type %q cannot use GitOps; only dockerfile and static workloads can", wl.SourceType))
	}
	enabled, path := *req.Enabled, wl.GitOpsPath
	if req.Path != nil {
		path = *req.Path
	}
	e := c.event(wl.ID, ActionGitOpsSettings, timeString(s.now()))
	e.Outcome = OutcomeApplied
	ev := &e
	if enabled != wl.GitOpsEnabled {
		ev.Changes = append(ev.Changes, tinyforge.Change{Field: "gitops.enabled", From: fmt.Sprint(wl.GitOpsEnabled), To: fmt.Sprint(enabled)})
	}
	if path != wl.GitOpsPath {
		ev.Changes = append(ev.Changes, tinyforge.Change{Field: "gitops.path", From: wl.GitOpsPath, To: path})
	}
	if len(ev.Changes) > 0 {
		// Under the request's deadline: committed before it or not at all.
		err := s.store.SetGitOps(ctx, wl.ID, enabled, path, ev)
		switch {
		case errors.Is(err, ErrNotFound):
			return notFound(wl.ID)
		case err != nil && ctx.Err() != nil:
			return newError(KindUnavailable, "nothing changed: "+s.stopReason(ctx, waitedForDatabase))
		case err != nil:
			return s.internal("save GitOps settings", err)
		}
		s.lateCommit(ctx, "GitOps settings change", wl.ID)
	}
	wl.GitOpsEnabled, wl.GitOpsPath = enabled, path
	return nil
}

// settingsChangedReason is why a Sync is refused when the GitOps settings or the repo changed
// between its fetch and its write.
const settingsChangedReason = "the GitOps settings or the repo changed while the file was being fetched; nothing was written, review the view again and Sync"

// Sync applies workload id's file at its branch head (admin), pinned to the reviewed commit and
// file when req names them. It runs under ctx's deadline (the SyncDeadline, see bound), which
// ends the wait for the workload's lock, the fetch and the database write alike: the Sync is
// committed before the deadline or not at all, and past it the answer is 503 with nothing
// written (ctx also ends when the client goes away). Every attempt
// leaves an audit row (but one for a workload that does not exist, or a failed read): the
// refusals' rows are written with their own short context (afterDeadline), and a 503's row that
// the database does not take in time is logged instead.
func (s *Server) Sync(ctx context.Context, c Caller, id int64, req tinyforge.SyncRequest) (tinyforge.SyncResult, error) {
	if err := c.permit(RoleAdmin, id); err != nil {
		return tinyforge.SyncResult{}, err
	}
	auditCtx, cancelAudit := afterDeadline(ctx)
	defer cancelAudit()
	run := &syncRun{s: s, ctx: ctx, auditCtx: auditCtx, ev: c.event(id, ActionSync, "")}
	wl, unlock, err := s.lockedLoad(ctx, id)
	if err != nil {
		return tinyforge.SyncResult{}, run.stoppedEarly(err)
	}
	defer unlock()
	res := s.fetch(ctx, wl, 0)
	run.ev.CommitSHA, run.ev.FileSHA = res.CommitSHA, res.FileSHA
	if err := run.stopped(waitedForForge); err != nil {
		return tinyforge.SyncResult{}, err
	}
	if err := run.checkPins(wl, res, req); err != nil {
		return tinyforge.SyncResult{}, err
	}
	return run.commit(wl, res)
}

// syncRun is one Sync attempt: its contexts and its audit row.
type syncRun struct {
	s        *Server
	ctx      context.Context // the request's, under the deadline
	auditCtx context.Context // a refusal's audit row's: auditGrace past the deadline
	ev       tinyforge.Event
}

// refuse writes the audit row of a Sync refused with kind for reason and returns its error.
func (r *syncRun) refuse(kind ErrorKind, reason string) error {
	r.ev.At = timeString(r.s.now())
	r.ev.Outcome = "refused: " + reason
	if err := r.s.store.AddEvent(r.auditCtx, &r.ev); err != nil {
		if kind != KindUnavailable {
			return r.s.internal("write the audit row of a refused Sync", err)
		}
		// The database that made this Sync miss its deadline may not take its audit row
		// either: the log keeps it, and the client still gets its answer in time.
		r.s.log.Error("the audit row of a Sync refused for its deadline could not be written; it is only in this log",
			"workload", r.ev.WorkloadID, "actor", r.ev.Actor, "outcome", r.ev.Outcome, "err", err)
	}
	return newError(kind, "Sync refused: "+reason)
}

// stopped refuses the Sync with 503 when its context ended (deadline or client) while it
// waited for what; nil when it did not.
func (r *syncRun) stopped(what waitedFor) error {
	if r.ctx.Err() == nil {
		return nil
	}
	return r.refuse(KindUnavailable, r.s.stopReason(r.ctx, what))
}

// stoppedEarly words a failed lockedLoad: a stop is an audited 503, a 404 (no such workload)
// or 500 has no audit row.
func (r *syncRun) stoppedEarly(err error) error {
	var se *stopError
	if errors.As(err, &se) {
		return r.refuse(KindUnavailable, se.reason)
	}
	return err
}

// checkPins refuses (409, audited) a fetch whose status is not ok, or whose commit or file is
// not the reviewed one.
func (r *syncRun) checkPins(wl *Workload, res fetchResult, req tinyforge.SyncRequest) error {
	switch {
	case res.Status != gitops.StatusOK:
		return r.refuse(KindConflict, fmt.Sprintf("GitOps status is %s, not ok: %s", res.Status, res.Message))
	case req.CommitSHA != "" && !strings.EqualFold(req.CommitSHA, res.CommitSHA):
		return r.refuse(KindConflict, fmt.Sprintf("the reviewed commit %s is no longer the head of branch %q (now %s); review the new commit and Sync again", gitops.ShortSHA(req.CommitSHA), wl.Repo.Branch, gitops.ShortSHA(res.CommitSHA)))
	case req.FileSHA != "" && !strings.EqualFold(req.FileSHA, res.FileSHA):
		return r.refuse(KindConflict, fmt.Sprintf("the reviewed file %s differs from %s at %s (file %s); review the new file and Sync again", gitops.ShortSHA(req.FileSHA), wl.GitOpsPath, gitops.ShortSHA(res.CommitSHA), gitops.ShortSHA(res.FileSHA)))
	}
	return nil
}

// commit merges the fetched file into the live config and writes it with its audit row in one
// transaction, under the request's deadline: its wait for the database, its statements and its
// COMMIT end at the deadline, so a Sync whose answer could not reach the client is never
// applied.
func (r *syncRun) commit(wl *Workload, res fetchResult) (tinyforge.SyncResult, error) {
	d := &syncDecider{wl: wl, res: res, plan: gitops.BuildPlan(res.Spec), at: timeString(r.s.now()), ev: r.ev}
	_, err := r.s.store.CommitSync(r.ctx, wl.ID, d.decide)
	if err != nil {
		if err := r.stopped(waitedForDatabase); err != nil {
			return tinyforge.SyncResult{}, err
		}
		r.s.log.Error("sync not applied", "workload", wl.ID, "err", err)
		return tinyforge.SyncResult{}, newError(KindInternal, "Sync not applied: the config and its audit row could not be written together; nothing changed, see the server log")
	}
	r.s.lateCommit(r.ctx, "Sync", wl.ID)
	if d.changed {
		return tinyforge.SyncResult{}, newError(KindConflict, "Sync refused: "+settingsChangedReason)
	}
	if d.invalid != nil {
		return tinyforge.SyncResult{}, newError(KindUnprocessable, "Sync refused: the merged source_config is invalid ("+d.invalid.Error()+"); nothing was written, fix the file or the live config")
	}
	return tinyforge.SyncResult{Applied: d.applied, CommitSHA: res.CommitSHA, FileSHA: res.FileSHA, LastSyncAt: d.at}, nil
}

// lateCommit logs a change (what, of workload id) committed after ctx's deadline: the driver
// interrupts a COMMIT when ctx ends, but one nearly done may still finish, and its answer then
// uses the margin kept under the write timeout (see New). Every write under the deadline calls
// it once committed.
func (s *Server) lateCommit(ctx context.Context, what string, id int64) {
	if d, ok := ctx.Deadline(); ok && time.Now().After(d) {
		s.log.Warn("a "+what+" was committed just after its deadline", "workload", id, "late", time.Since(d))
	}
}

// syncDecider decides, inside the Sync's transaction, what to write for the live workload.
type syncDecider struct {
	wl   *Workload // as read under the lock, before the fetch
	res  fetchResult
	plan gitops.Plan
	at   string
	ev   tinyforge.Event
	// What it decided: the settings changed meanwhile, the merged config is invalid, or the
	// changes applied.
	changed bool
	invalid error
	applied []tinyforge.Change
}

func (d *syncDecider) decide(cur *Workload) (SyncDecision, error) {
	dec := SyncDecision{Event: d.ev}
	dec.Event.At = d.at
	// Another process (or a writer that skipped the lock) may have disabled GitOps or
	// repointed it since the fetch: then the fetched file is not the workload's file.
	if !cur.GitOpsEnabled || cur.GitOpsPath != d.wl.GitOpsPath || !sameRepo(cur.Repo, d.wl.Repo) || cur.Repo.Branch != d.wl.Repo.Branch {
		d.changed = true
		dec.Event.Outcome = "refused: " + settingsChangedReason
		return dec, nil
	}
	live := cur.SourceConfig
	merged, err := gitops.MergeAndValidate(live, d.plan, gitops.ValidateSourceConfig)
	if err != nil {
		d.invalid = err
		dec.Event.Outcome = "refused: merged source_config is invalid: " + err.Error()
		return dec, nil
	}
	drift, err := gitops.Drift(d.res.Spec, d.wl.SourceType, live)
	if err != nil {
		return dec, fmt.Errorf("compare with live config: %w", err)
	}
	d.applied = gitops.Changes(drift)
	dec.NewConfig, dec.CommitSHA, dec.SyncAt = merged, d.res.CommitSHA, d.at
	dec.Event.Changes, dec.Event.Outcome = d.applied, OutcomeApplied
	return dec, nil
}
