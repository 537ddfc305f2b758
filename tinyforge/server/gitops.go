package server

import (
	"errors"
	"fmt"
	"net/http"
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
	// OutcomeApplied marks an accepted write; refusals are "refused: <reason>".
	OutcomeApplied = "applied"
)

// MaxGitOpsPathBytes is the longest accepted GitOps file path.
const MaxGitOpsPathBytes = 255

// CheckGitOpsPath returns "" when p is an acceptable GitOps file path (docs/tinyforge-api.md: only
// A-Z a-z 0-9 . _ - /, no leading "/", no empty, "." or ".." segment, ending in .yml or .yaml,
// at most 255 bytes), else the rule it breaks. The reason never quotes p.
func CheckGitOpsPath(p string) string {
	switch {
	case p == "":
		return "the path is empty"
	case len(p) > MaxGitOpsPathBytes:
		return fmt.Sprintf("the path is longer than %d bytes", MaxGitOpsPathBytes)
	case strings.HasPrefix(p, "/"):
		return "the path must be relative to the repo root (no leading /)"
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-' || c == '/') {
			return "the path may only contain A-Z a-z 0-9 . _ - /"
		}
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return `the path must not contain an empty, "." or ".." segment`
		}
	}
	if !strings.HasSuffix(p, ".yml") && !strings.HasSuffix(p, ".yaml") {
		return "the path must end in .yml or .yaml"
	}
	return ""
}

func (s *Server) getGitOps(w http.ResponseWriter, r *http.Request, _ caller, id int64) {
	wl, ok := s.load(w, r, id)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, s.view(wl, s.fetch(r.Context(), wl)))
}

// view renders a fetch result as the API's GitOps view, with drift against the live config.
func (s *Server) view(wl *Workload, res fetchResult) tinyforge.GitOpsView {
	v := tinyforge.GitOpsView{
		Enabled: wl.GitOpsEnabled, Path: wl.GitOpsPath, Status: string(res.Status), Message: res.Message,
		Raw: string(res.Raw), CommitSHA: res.CommitSHA, FileSHA: res.FileSHA,
		Drift: []tinyforge.DriftEntry{}, ManagedFields: []string{},
		LastSyncAt: wl.GitOpsLastSyncAt, LastSyncCommitSHA: wl.GitOpsCommitSHA,
	}
	for _, d := range res.Diags {
		v.Diagnostics = append(v.Diagnostics, tinyforge.Diagnostic{Severity: string(d.Severity), Line: d.Line, Column: d.Column, Field: d.Field, Code: d.Code, Message: d.Message})
	}
	if res.Spec == nil {
		return v
	}
	v.ManagedFields = append(v.ManagedFields, res.Spec.ManagedFields()...)
	drift, err := gitops.Drift(res.Spec, wl.SourceType, wl.SourceConfig)
	if err != nil {
		v.Message = "cannot compare with the live config: " + err.Error()
		return v
	}
	for _, d := range drift {
		v.Drift = append(v.Drift, tinyforge.DriftEntry{Field: d.Field, RepoValue: d.RepoValue, LiveValue: d.LiveValue})
	}
	return v
}

// putGitOpsRequest is SetGitOpsRequest with presence: an absent path keeps the stored one, an
// explicit "" is refused like any other invalid path.
type putGitOpsRequest struct {
	Enabled *bool   `json:"enabled"`
	Path    *string `json:"path"`
}

func (s *Server) putGitOps(w http.ResponseWriter, r *http.Request, c caller, id int64) {
	var req putGitOpsRequest
	if !decode(w, r, &req, false) {
		return
	}
	if req.Enabled == nil {
		writeError(w, http.StatusBadRequest, `"enabled" (true or false) is required`)
		return
	}
	if req.Path != nil {
		if why := CheckGitOpsPath(*req.Path); why != "" {
			writeError(w, http.StatusBadRequest, "invalid GitOps path: "+why)
			return
		}
	}
	if _, ok := s.load(w, r, id); !ok { // no lock is made for a workload that does not exist
		return
	}
	// Under the Sync lock, so a Sync that started before this change cannot write the old
	// file's config after it.
	unlock, ok := s.lockForChange(w, r, id)
	if !ok {
		return
	}
	locked := true
	release := func() {
		if locked {
			locked = false
			unlock()
		}
	}
	defer release()
	wl, ok := s.load(w, r, id)
	if !ok {
		return
	}
	if !gitops.SupportsGitOps(wl.SourceType) {
		writeError(w, http.StatusUnprocessableEntity, fmt.Sprintf("source type %q cannot use GitOps; only dockerfile and static workloads can", wl.SourceType))
		return
	}
	path := wl.GitOpsPath
	if req.Path != nil {
		path = *req.Path
	}
	ev := &tinyforge.Event{At: timeString(s.now()), Actor: c.actor(), WorkloadID: id, Action: ActionGitOpsSettings, Outcome: OutcomeApplied}
	if *req.Enabled != wl.GitOpsEnabled {
		ev.Changes = append(ev.Changes, tinyforge.Change{Field: "gitops.enabled", From: fmt.Sprint(wl.GitOpsEnabled), To: fmt.Sprint(*req.Enabled)})
	}
	if path != wl.GitOpsPath {
		ev.Changes = append(ev.Changes, tinyforge.Change{Field: "gitops.path", From: wl.GitOpsPath, To: path})
	}
	// Nothing changed: no write and no audit row.
	if len(ev.Changes) > 0 {
		// Under the request's deadline (see bounded): committed before it or not at all.
		if err := s.store.SetGitOps(r.Context(), id, *req.Enabled, path, ev); err != nil {
			switch {
			case errors.Is(err, ErrNotFound):
				writeError(w, http.StatusNotFound, fmt.Sprintf("workload %d not found", id))
			case r.Context().Err() != nil:
				writeError(w, http.StatusServiceUnavailable, "nothing changed: "+s.stopReason(r.Context(), waitedForDatabase))
			default:
				s.internal(w, "save GitOps settings", err)
			}
			return
		}
	}
	release()
	wl.GitOpsEnabled, wl.GitOpsPath = *req.Enabled, path
	// The view's fetch ends by the deadline too: past it the view says fetch_failed, and the
	// answer (200: the settings are saved) still reaches the client.
	writeJSON(w, http.StatusOK, s.view(wl, s.fetch(r.Context(), wl)))
}

// settingsChangedReason is why a Sync is refused when the GitOps settings or the repo changed
// between its fetch and its write.
const settingsChangedReason = "the GitOps settings or the repo changed while the file was being fetched; nothing was written, review the view again and Sync"

// syncError is a refused Sync: the HTTP status and the reason for the client and the audit row.
type syncError struct {
	status int
	reason string
}

// postSync runs one Sync under the request's deadline (bounded: Config.SyncDeadline from the
// handler's start), which ends the wait for the workload's lock, the fetch and the database
// write alike: the Sync is committed before the deadline or not at all, and past it the answer
// is 503 with nothing written. Every attempt leaves an audit row: the refusals' rows are
// written with their own short context (afterDeadline), and a 503's row that the database does
// not take in time is logged instead.
func (s *Server) postSync(w http.ResponseWriter, r *http.Request, c caller, id int64) {
	ctx := r.Context() // ends at the deadline, or when the client goes away
	var req tinyforge.SyncRequest
	if !decode(w, r, &req, true) {
		return
	}
	auditCtx, cancelAudit := afterDeadline(ctx)
	defer cancelAudit()
	ev := tinyforge.Event{Actor: c.actor(), WorkloadID: id, Action: ActionSync}
	refuse := func(se syncError) {
		ev.At = timeString(s.now())
		ev.Outcome = "refused: " + se.reason
		if err := s.store.AddEvent(auditCtx, &ev); err != nil {
			if se.status != http.StatusServiceUnavailable {
				s.internal(w, "write the audit row of a refused Sync", err)
				return
			}
			// The database that made this Sync miss its deadline may not take its audit row
			// either: the log keeps it, and the client still gets its answer in time.
			s.log.Error("the audit row of a Sync refused for its deadline could not be written; it is only in this log",
				"workload", id, "actor", ev.Actor, "outcome", ev.Outcome, "err", err)
		}
		writeError(w, se.status, "Sync refused: "+se.reason)
	}
	// stopped refuses the Sync with 503 when its context ended (deadline or client) while it
	// waited for what, and reports whether it did.
	stopped := func(what waitedFor) bool {
		if ctx.Err() == nil {
			return false
		}
		refuse(syncError{http.StatusServiceUnavailable, s.stopReason(ctx, what)})
		return true
	}
	// load reads the workload, answering 404 (no audit row: there is no such workload), 503
	// (audited) or 500 itself when it cannot.
	load := func() (*Workload, bool) {
		wl, err := s.store.GetWorkload(ctx, id)
		switch {
		case errors.Is(err, ErrNotFound):
			writeError(w, http.StatusNotFound, fmt.Sprintf("workload %d not found", id))
			return nil, false
		case err != nil && stopped(waitedForServer):
			return nil, false
		case err != nil:
			s.internal(w, "read workload", err)
			return nil, false
		}
		return wl, true
	}

	if _, ok := load(); !ok { // no lock is made for a workload that does not exist
		return
	}
	unlock, err := s.lockWorkload(ctx, id)
	if err != nil {
		refuse(syncError{http.StatusServiceUnavailable, s.lockReason(ctx, err)})
		return
	}
	defer unlock()
	wl, ok := load() // again, under the lock: settings may have changed meanwhile
	if !ok {
		return
	}

	res := s.fetch(ctx, wl)
	ev.CommitSHA, ev.FileSHA = res.CommitSHA, res.FileSHA
	if stopped(waitedForForge) {
		return
	}
	if res.Status != gitops.StatusOK {
		refuse(syncError{http.StatusConflict, fmt.Sprintf("GitOps status is %s, not ok: %s", res.Status, res.Message)})
		return
	}
	if req.CommitSHA != "" && !strings.EqualFold(req.CommitSHA, res.CommitSHA) {
		refuse(syncError{http.StatusConflict, fmt.Sprintf("the reviewed commit %s is no longer the head of branch %q (now %s); review the new commit and Sync again", gitops.ShortSHA(req.CommitSHA), wl.Repo.Branch, gitops.ShortSHA(res.CommitSHA))})
		return
	}
	if req.FileSHA != "" && !strings.EqualFold(req.FileSHA, res.FileSHA) {
		refuse(syncError{http.StatusConflict, fmt.Sprintf("the reviewed file %s differs from %s at %s (file %s); review the new file and Sync again", gitops.ShortSHA(req.FileSHA), wl.GitOpsPath, gitops.ShortSHA(res.CommitSHA), gitops.ShortSHA(res.FileSHA))})
		return
	}

	plan := gitops.BuildPlan(res.Spec)
	at := timeString(s.now())
	var applied []tinyforge.Change
	var invalid error
	changed := false
	// The write runs under ctx: its wait for the database, its statements and its COMMIT end
	// at the deadline, so a Sync whose answer could not reach the client is never applied.
	_, err = s.store.CommitSync(ctx, id, func(cur *Workload) (SyncDecision, error) {
		d := SyncDecision{Event: ev}
		d.Event.At = at
		// Another process (or a writer that skipped the lock) may have disabled GitOps or
		// repointed it since the fetch: then the fetched file is not the workload's file.
		if !cur.GitOpsEnabled || cur.GitOpsPath != wl.GitOpsPath || !sameRepo(cur.Repo, wl.Repo) || cur.Repo.Branch != wl.Repo.Branch {
			changed = true
			d.Event.Outcome = "refused: " + settingsChangedReason
			return d, nil
		}
		live := cur.SourceConfig
		merged, err := gitops.MergeAndValidate(live, plan, gitops.ValidateSourceConfig)
		if err != nil {
			invalid = err
			d.Event.Outcome = "refused: merged source_config is invalid: " + err.Error()
			return d, nil
		}
		drift, err := gitops.Drift(res.Spec, wl.SourceType, live)
		if err != nil {
			return d, fmt.Errorf("compare with live config: %w", err)
		}
		applied = []tinyforge.Change{}
		for _, ch := range gitops.Changes(drift) {
			applied = append(applied, tinyforge.Change{Field: ch.Field, From: ch.From, To: ch.To})
		}
		d.NewConfig, d.CommitSHA, d.SyncAt = merged, res.CommitSHA, at
		d.Event.Changes, d.Event.Outcome = applied, OutcomeApplied
		return d, nil
	})
	if err != nil && stopped(waitedForDatabase) {
		return
	}
	if err != nil {
		s.log.Error("sync not applied", "workload", id, "err", err)
		writeError(w, http.StatusInternalServerError, "Sync not applied: the config and its audit row could not be written together; nothing changed, see the server log")
		return
	}
	if d, ok := ctx.Deadline(); ok && time.Now().After(d) {
		// The driver interrupts a COMMIT when ctx ends, but one nearly done may still finish:
		// the answer then uses the margin kept under the write timeout (see New).
		s.log.Warn("a Sync was committed just after its deadline", "workload", id, "late", time.Since(d))
	}
	if changed {
		writeError(w, http.StatusConflict, "Sync refused: "+settingsChangedReason)
		return
	}
	if invalid != nil {
		writeError(w, http.StatusUnprocessableEntity, "Sync refused: the merged source_config is invalid ("+invalid.Error()+"); nothing was written, fix the file or the live config")
		return
	}
	writeJSON(w, http.StatusOK, tinyforge.SyncResult{Applied: applied, CommitSHA: res.CommitSHA, FileSHA: res.FileSHA, LastSyncAt: at})
}
