package checker

import (
	"fmt"
	"strings"

	"github.com/tinyforge/tinyforge-check/forge"
	"github.com/tinyforge/tinyforge-check/gitops"
)

// Verdict is the outcome of one check run (docs/design.md, The check). The zero value is not a verdict.
type Verdict string

// The verdicts of docs/design.md (The check).
const (
	// VerdictInSync: the file is valid and every declared field equals live.
	VerdictInSync Verdict = "in_sync"
	// VerdictDrift: the file is valid and at least one declared field differs from live.
	VerdictDrift Verdict = "drift"
	// VerdictInvalid: the file breaks a rule, or the workload's source type cannot use GitOps.
	VerdictInvalid Verdict = "invalid"
	// VerdictNoFile: there is no file at the path.
	VerdictNoFile Verdict = "no_file"
	// VerdictDisabled: GitOps is disabled for the workload in Tinyforge.
	VerdictDisabled Verdict = "disabled"
	// VerdictSkipped: lint only; there were no Tinyforge credentials (e.g. a fork PR).
	VerdictSkipped Verdict = "skipped"
	// VerdictError: the check could not finish (Tinyforge or the forge unreachable, 401/403/404).
	VerdictError Verdict = "error"
)

// Exit codes of the CLI and the action (docs/design.md, The check).
const (
	// ExitOK: no fail-on condition happened.
	ExitOK = 0
	// ExitFailed: invalid/no_file with "invalid" in fail-on, or drift with "drift" in fail-on.
	ExitFailed = 1
	// ExitUsage: a usage error (bad flag or input value).
	ExitUsage = 2
	// ExitError: the check could not finish, with "error" in fail-on.
	ExitError = 3
)

// FailOn is the set of conditions that make the run fail (the fail-on input). The zero value
// fails on nothing; DefaultFailOn is what an empty input means.
type FailOn struct {
	// Invalid fails the run on the invalid and no_file verdicts.
	Invalid bool
	// Drift fails the run on the drift verdict.
	Drift bool
	// Error fails the run on the error verdict.
	Error bool
}

// DefaultFailOn is the fail-on default, "invalid,error".
var DefaultFailOn = FailOn{Invalid: true, Error: true}

// ParseFailOn parses the fail-on input: a comma-separated list of invalid, drift and error, or
// "none". Blank means DefaultFailOn.
func ParseFailOn(s string) (FailOn, error) {
	if strings.TrimSpace(s) == "" {
		return DefaultFailOn, nil
	}
	var f FailOn
	for _, w := range strings.Split(s, ",") {
		switch strings.ToLower(strings.TrimSpace(w)) {
		case "invalid":
			f.Invalid = true
		case "drift":
			f.Drift = true
		case "error":
			f.Error = true
		case "none", "":
		default:
			return FailOn{}, fmt.Errorf("fail-on: unknown condition %q: use a comma-separated list of invalid, drift, error, or none", gitops.Truncate(w, 40))
		}
	}
	return f, nil
}

// String returns the canonical input form, e.g. "invalid,error", or "none".
func (f FailOn) String() string {
	var parts []string
	if f.Invalid {
		parts = append(parts, "invalid")
	}
	if f.Drift {
		parts = append(parts, "drift")
	}
	if f.Error {
		parts = append(parts, "error")
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ",")
}

// Fails reports whether the verdict is a fail-on condition.
func (f FailOn) Fails(v Verdict) bool {
	switch v {
	case VerdictInvalid, VerdictNoFile:
		return f.Invalid
	case VerdictDrift:
		return f.Drift
	case VerdictError:
		return f.Error
	}
	return false
}

// ExitCode returns the process exit code for a verdict under f (docs/design.md, The check): a condition not in
// fail-on is reported but exits 0.
func ExitCode(v Verdict, f FailOn) int {
	if !f.Fails(v) {
		return ExitOK
	}
	if v == VerdictError {
		return ExitError
	}
	return ExitFailed
}

// CommentMode is the comment input. The zero value behaves as CommentAuto.
type CommentMode string

// The comment modes.
const (
	// CommentAuto posts a first comment only when there is something to report, and keeps an
	// existing one up to date.
	CommentAuto CommentMode = "auto"
	// CommentAlways posts or updates the comment on every PR run.
	CommentAlways CommentMode = "always"
	// CommentNever never writes a comment.
	CommentNever CommentMode = "never"
)

// ReportMode is the report input: what a run without a pull request (a push, a schedule, a
// manual dispatch) reports. The zero value means ReportIssue on schedule and workflow_dispatch
// runs and ReportStatus on others.
type ReportMode string

// The report modes.
const (
	// ReportIssue keeps one issue per workload and status context open while live differs.
	ReportIssue ReportMode = "issue"
	// ReportStatus sets a commit status on the checked commit.
	ReportStatus ReportMode = "status"
	// ReportNone only logs (and writes the step outputs and summary).
	ReportNone ReportMode = "none"
)

// ParseReportMode parses the report input; blank means the event's default.
func ParseReportMode(s string) (ReportMode, error) {
	switch m := ReportMode(strings.ToLower(strings.TrimSpace(s))); m {
	case "", ReportIssue, ReportStatus, ReportNone:
		return m, nil
	}
	return "", fmt.Errorf("report %q: use issue, status or none", s)
}

// ParseCommentMode parses the comment input; blank means CommentAuto.
func ParseCommentMode(s string) (CommentMode, error) {
	switch m := CommentMode(strings.ToLower(strings.TrimSpace(s))); m {
	case "":
		return CommentAuto, nil
	case CommentAuto, CommentAlways, CommentNever:
		return m, nil
	}
	return "", fmt.Errorf("comment: unknown mode %q: use auto, always or never", gitops.Truncate(s, 40))
}

// Forge names the code host the run reports to. The zero value is no forge (the CLI).
type Forge string

// The forges of docs/forges.md.
const (
	ForgeGitHub Forge = "github"
	ForgeGitea  Forge = "gitea"
	ForgeGitLab Forge = "gitlab"
)

// StatusState maps a verdict to a commit status state (docs/design.md, The check): in_sync success; drift
// success on GitHub and GitLab, warning on Gitea/Forgejo, failure when fail-on includes drift;
// invalid and no_file failure; disabled and skipped success; error error.
func StatusState(v Verdict, host Forge, f FailOn) forge.State {
	switch v {
	case VerdictInSync, VerdictDisabled, VerdictSkipped:
		return forge.StateSuccess
	case VerdictDrift:
		if f.Drift {
			return forge.StateFailure
		}
		if host == ForgeGitea {
			return forge.StateWarning
		}
		return forge.StateSuccess
	case VerdictInvalid, VerdictNoFile:
		return forge.StateFailure
	}
	return forge.StateError
}

// DefaultStatusContext is the status-context default.
const DefaultStatusContext = "tinyforge/gitops"
