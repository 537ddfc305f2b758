package checker

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/tinyforge/tinyforge-check/forge"
	"github.com/tinyforge/tinyforge-check/gitops"
	"github.com/tinyforge/tinyforge-check/internal/secret"
)

// ReportMode is what a run without a pull request reports: Report, or when blank, an issue on
// schedule and workflow_dispatch runs and a commit status on others. Pull request runs always
// set the status and write the comment; merge group runs always set the status, whatever Report.
func (in Inputs) ReportMode() ReportMode {
	switch {
	case in.Event.Name == EventMergeGroup:
		return ReportStatus // the merge queue waits for the status
	case in.Report != "":
		return in.Report
	case in.Event.Name == EventSchedule || in.Event.Name == EventWorkflowDispatch:
		return ReportIssue
	}
	return ReportStatus
}

// publish sets the commit status, writes the PR comment, keeps the drift issue and updates the
// comments of the PRs a push merged (merged, nil when not looked up), all at once: none depends
// on another (the comment's body never mentions the status's outcome). Their notices are added
// in a fixed order: status, comment, issue, merged PRs.
func (c *Checker) publish(ctx context.Context, in Inputs, r *Report, merged *mergedRead) {
	sha := in.Event.headSHA()
	r.Status = forge.CommitStatus{SHA: sha, State: StatusState(r.Verdict, in.Forge, in.FailOn), Context: in.StatusContext,
		Description: r.Description(), TargetURL: r.SyncURL}
	setStatus := c.Status != nil && sha != "" && (in.Event.PR != nil || in.ReportMode() == ReportStatus)
	ireq, keepIssue := c.issueRequest(in, r)
	creq, upsert := c.commentRequest(in, r)

	var wg sync.WaitGroup
	start := func(do bool, write func()) {
		if do {
			wg.Go(write)
		}
	}
	var ires forge.IssueResult
	var cres forge.CommentResult
	var issueErr, statusErr, commentErr error
	start(keepIssue, func() { ires, issueErr = c.Issues.UpsertIssue(ctx, ireq) })
	start(setStatus, func() { statusErr = c.Status.SetStatus(ctx, r.Status) })
	start(upsert, func() { cres, commentErr = c.Comments.UpsertComment(ctx, creq) })
	var mres mergedResult
	start(merged != nil, func() { mres = c.updateMerged(ctx, in, r, merged) })
	wg.Wait()

	if setStatus {
		r.statusSet(statusErr)
	}
	if upsert {
		r.commentWritten(cres, commentErr)
	}
	if keepIssue {
		r.issueKept(ires, issueErr)
	}
	r.mergedUpdated(mres)
}

// readOnly is why a write refused with forge.ErrForbidden failed, for the status and the comment.
const readOnly = "the token is read-only (a fork PR gets a read-only token); see the job summary"

// statusSet records how setting the commit status went.
func (r *Report) statusSet(err error) {
	if err == nil {
		r.StatusWritten = true
		return
	}
	r.writeFailed("set the commit status", readOnly, err)
}

// commentWritten records how writing the PR comment went.
func (r *Report) commentWritten(res forge.CommentResult, err error) {
	if err == nil {
		r.Comment = res
		if res.Action == forge.CommentSkipped && res.URL != "" && res.Reason != "" {
			r.notice(LevelNotice, "the PR comment was left as it is: %s", res.Reason)
		}
		return
	}
	if r.writeFailed("write the PR comment", readOnly, err) {
		r.Comment = forge.CommentResult{Action: forge.CommentSkipped, Reason: "the token is read-only"}
	}
}

// issueKept records how keeping the drift issue went.
func (r *Report) issueKept(res forge.IssueResult, err error) {
	if err == nil {
		r.Issue = res
		if res.Reason != "" {
			r.notice(LevelNotice, "drift issue %s: %s", res.Action, res.Reason)
		}
		return
	}
	if r.writeFailed("keep the drift issue", "the token may not write issues; give it issues: write (GitHub) or the write:issue scope (Gitea, Forgejo), or set report: status", err) {
		r.Issue = forge.IssueResult{Action: forge.IssueSkipped, Reason: "the token may not write issues"}
	}
}

// writeFailed records a write to the forge that failed with err, what naming the write ("set
// the commit status"): a refusal (forge.ErrForbidden) is a notice saying forbidden, which the
// caller records as a skip, and anything else an error that fails the publish. It reports
// whether err was a refusal.
func (r *Report) writeFailed(what, forbidden string, err error) bool {
	if errors.Is(err, forge.ErrIdentityUnknown) {
		r.PublishFailed = true
		r.notice(LevelError, "could not %s: %v; set the token-login input to the login the token writes as "+
			"(APP-SLUG[bot] for a GitHub App installation token): the check never guesses whose comments and issues are its own", what, err)
		return false
	}
	if errors.Is(err, forge.ErrForbidden) {
		r.notice(LevelNotice, "could not %s: %s", what, forbidden)
		return true
	}
	r.PublishFailed = true
	r.notice(LevelError, "could not %s: %v", what, err)
	return false
}

// issueRequest is the drift issue this run keeps, and whether it keeps one: on runs without a
// pull request whose report is issue, once the workload is known. Drift and an invalid file
// keep the issue open; in sync closes it; any other verdict (no file, GitOps off, no
// credentials, an error) leaves it as it is.
func (c *Checker) issueRequest(in Inputs, r *Report) (forge.IssueRequest, bool) {
	if in.Event.PR != nil || c.Issues == nil || in.ReportMode() != ReportIssue || r.Workload == nil {
		return forge.IssueRequest{}, false
	}
	req := forge.IssueRequest{Context: in.StatusContext, Workload: r.Workload.ID, RunID: in.RunID, Labels: in.IssueLabels}
	name := escapeInline(r.Workload.Name, 80)
	switch r.Verdict {
	case VerdictDrift, VerdictInvalid:
		title := fmt.Sprintf("%s drifts from live", plainTitle(r.Workload.Name))
		what := fmt.Sprintf("the checked file and the live config of workload %s differ", name)
		if r.Verdict == VerdictInvalid {
			title = fmt.Sprintf("%s of %s is invalid", plainTitle(r.Path), plainTitle(r.Workload.Name))
			what = fmt.Sprintf("the checked file of workload %s is invalid", name)
		}
		req.Open = true
		req.Title = gitops.Truncate(fmt.Sprintf("Tinyforge: %s (%s)", title, in.StatusContext), 200)
		comment := secret.Redact(RenderComment(r), in.Secrets...)
		req.Body = func(since time.Time) string {
			return fmt.Sprintf("**Since %s** %s. This issue is kept by a scheduled tinyforge-check run: "+
				"it is edited while that lasts, and closed when live matches again.\n\n%s",
				since.UTC().Format("2006-01-02 15:04 UTC"), what, comment)
		}
	case VerdictInSync:
		req.CloseComment = fmt.Sprintf("Live matches the file again (commit %s): closing.", gitops.ShortSHA(in.Event.headSHA()))
	default:
		r.notice(LevelNotice, "drift issue left as it is: the verdict is %s", r.Verdict)
		return forge.IssueRequest{}, false
	}
	return req, true
}

// plainTitle is s for an issue title: one line without control or invisible characters
// (gitops.IsHidden covers both), at most 80 characters.
func plainTitle(s string) string {
	s = strings.Map(func(r rune) rune {
		if gitops.IsHidden(r) {
			return ' '
		}
		return r
	}, s)
	return gitops.Truncate(strings.Join(strings.Fields(s), " "), 80)
}

// commentRequest is the sticky comment this run writes, and whether it writes one at all.
func (c *Checker) commentRequest(in Inputs, r *Report) (forge.CommentRequest, bool) {
	pr := in.Event.PR
	if pr == nil || c.Comments == nil || in.Comment == CommentNever {
		return forge.CommentRequest{}, false
	}
	updateOnly := false
	if in.Comment == CommentAuto {
		switch r.Verdict {
		case VerdictError:
			return forge.CommentRequest{}, false // keep the last real report rather than replace it with an outage
		case VerdictInSync, VerdictDisabled, VerdictSkipped:
			updateOnly = true
		}
	}
	return forge.CommentRequest{Number: pr.Number, Context: in.StatusContext, RunID: in.RunID,
		Body: secret.Redact(RenderComment(r), in.Secrets...), UpdateOnly: updateOnly}, true
}
