package checker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"

	"github.com/tinyforge/tinyforge-check/forge"
	"github.com/tinyforge/tinyforge-check/gitops"
	"github.com/tinyforge/tinyforge-check/internal/secret"
)

// SyncPreview says whether a Sync of this file would be accepted (docs/file-format.md, How the file is compared with live).
type SyncPreview struct {
	// Valid reports whether the merged config would pass validation.
	Valid bool
	// Error names the offending key (never its value) when Valid is false.
	Error string
}

// NoticeLevel is the level of a Notice, as the workflow command that prints it.
type NoticeLevel string

// The notice levels.
const (
	LevelNotice  NoticeLevel = "notice"
	LevelWarning NoticeLevel = "warning"
	LevelError   NoticeLevel = "error"
)

// Notice is a message about the run itself (not about a line of the file).
type Notice struct {
	Level   NoticeLevel
	Message string
}

// Report is the outcome of one run: everything the status, comment, summary, annotations and
// outputs are rendered from.
type Report struct {
	// Verdict is the run's outcome.
	Verdict Verdict
	// Reason explains the verdict in one sentence when it is not in_sync or drift.
	Reason string
	// Path is the file's path in the repo.
	Path string
	// SourceType is the source type used for the source-aware rules ("" when unknown).
	SourceType string
	// Workload is the live workload, nil when none was read.
	Workload *Workload
	// Event is the triggering event.
	Event Event
	// StatusContext is the status context used.
	StatusContext string
	// FailOn is the fail-on setting the exit code follows.
	FailOn FailOn
	// Forge is the code host.
	Forge Forge
	// File is the file's bytes, nil when there is no file.
	File []byte
	// FileHidden reports that File is not a .tinyforge.yml document (gitops.IsForeign: it may be
	// any file Tinyforge names, such as a kubeconfig): its one diagnostic is gitops.ForeignFile,
	// and nothing of it is rendered in the comment, the summary or the log.
	FileHidden bool
	// FileSHA is the git blob SHA-1 of File, "" when there is no file.
	FileSHA string
	// Diagnostics are the file's problems, sorted.
	Diagnostics gitops.Diagnostics
	// ManagedFields are the fields the file declares, in schema order.
	ManagedFields []string
	// Rows is the drift table, one row per field declared on this branch (or on the base).
	Rows []Row
	// Drift lists the declared fields that differ from live.
	Drift []gitops.DriftEntry
	// Sync is the Sync preview, nil when not computed.
	Sync *SyncPreview
	// SyncURL is the workload page pinned to this file and commit, "" when unknown.
	SyncURL string
	// TinyforgePath is Tinyforge's GitOps path when it differs from the path input; else "".
	TinyforgePath string
	// BaseHasFile reports, on a PR whose branch has no file, that the base branch has one
	// (the PR removes it).
	BaseHasFile bool
	// Notices are messages about the run (skipped drift, path mismatch, read-only token...).
	Notices []Notice
	// Status is the commit status set (or that would have been set); zero when none.
	Status forge.CommitStatus
	// StatusWritten reports whether Status was written.
	StatusWritten bool
	// Comment is what the comment upsert did; Action "" when none was attempted.
	Comment forge.CommentResult
	// Issue is what the drift-issue upsert did; Action "" when none was attempted.
	Issue forge.IssueResult
	// Merged lists the pull requests a push merged whose comment the run updated.
	Merged []MergedPR
	// PublishFailed reports that writing the status or the comment failed for a reason other
	// than a read-only token.
	PublishFailed bool
}

// Valid reports whether a file exists and has no error diagnostic.
func (r *Report) Valid() bool {
	return r.File != nil && !r.Diagnostics.HasErrors()
}

// ExitCode is the process exit code of the run (docs/design.md, The check). A failed status or comment write
// counts as an error.
func (r *Report) ExitCode() int {
	code := ExitCode(r.Verdict, r.FailOn)
	if code == ExitOK && r.PublishFailed && r.FailOn.Error {
		return ExitError
	}
	return code
}

func (r *Report) notice(level NoticeLevel, format string, args ...any) {
	r.Notices = append(r.Notices, Notice{Level: level, Message: fmt.Sprintf(format, args...)})
}

// Run performs one check: it resolves the workload, reads and lints the file, computes drift
// and the Sync preview, then sets the commit status and writes the PR comment. Operational
// failures become the error verdict in the Report; Run returns an error only for inputs that
// make no sense (a usage error: exit code 2).
func (c *Checker) Run(ctx context.Context, in Inputs) (*Report, error) {
	if in.Path != "" {
		p := strings.TrimPrefix(in.Path, "./")
		if !fs.ValidPath(p) || p == "." {
			return nil, fmt.Errorf("path %q: give a path relative to the repo root, without \"..\" segments", gitops.Truncate(in.Path, 80))
		}
		in.Path = p
	}
	if c.Live != nil && strings.TrimSpace(in.Workload) == "" {
		return nil, errors.New("workload: missing: give the Tinyforge workload's id or name")
	}
	if in.Comment == "" {
		in.Comment = CommentAuto
	}
	if in.StatusContext == "" {
		in.StatusContext = DefaultStatusContext
	}
	r := &Report{Event: in.Event, StatusContext: in.StatusContext, FailOn: in.FailOn, Forge: in.Forge}
	// Reads started ahead of need and never used (a speculative file read when Tinyforge names
	// another path) end with the run.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	merged := c.startMerged(ctx, in)
	c.evaluate(ctx, in, r)
	redactReport(r, in.Secrets)
	c.publish(ctx, in, r, merged)
	redactReport(r, in.Secrets)
	return r, nil
}

// notFoundError is a message that already says what was not found, once; it matches
// forge.ErrNotFound.
type notFoundError string

func (e notFoundError) Error() string        { return string(e) }
func (e notFoundError) Is(target error) bool { return target == forge.ErrNotFound }

// headSHA is the reviewed commit: the PR head on PR events (never a test-merge commit), else
// the event's commit.
func (ev Event) headSHA() string {
	if ev.PR != nil && ev.PR.HeadSHA != "" {
		return ev.PR.HeadSHA
	}
	return ev.CommitSHA
}

// number is the PR's number, 0 without a PR.
func (pr *PullRequest) number() int {
	if pr == nil {
		return 0
	}
	return pr.Number
}

// redactReport removes secrets from every text that can carry an error message.
func redactReport(r *Report, secrets []string) {
	r.Reason = secret.Redact(r.Reason, secrets...)
	for i := range r.Notices {
		r.Notices[i].Message = secret.Redact(r.Notices[i].Message, secrets...)
	}
	if r.Sync != nil {
		r.Sync.Error = secret.Redact(r.Sync.Error, secrets...)
	}
}

// evaluate fills the report's verdict, file, diagnostics and drift, in a pipeline: resolve the
// workload, choose the path, read this branch's file, lint it, compare it with live, build the
// drift table. Every read it needs starts in one round: the workload, this branch's file and the
// base branch's file at the path the inputs imply, and (through CommentPrefetcher or
// IssuePrefetcher) what publishing will read. Only when Tinyforge names another GitOps path are
// the files read once more, at that path. The first failure decides the verdict.
func (c *Checker) evaluate(ctx context.Context, in Inputs, r *Report) {
	files := &fileReads{files: c.Files}
	guess := in.Path
	if guess == "" {
		guess = gitops.DefaultPath
	}
	c.prefetch(ctx, in)
	head := c.startFiles(ctx, in.Event, guess, files)

	w := c.resolve(ctx, in, r)
	lintType := r.useSourceType(in.SourceType, w)
	if r.refusedPath(in.Path, w) {
		return
	}
	r.Path, r.TinyforgePath = choosePath(in.Path, w)
	if r.TinyforgePath != "" {
		r.notice(LevelWarning, "the path input %q differs from the GitOps path %q set in Tinyforge: Tinyforge syncs %q", r.Path, r.TinyforgePath, r.TinyforgePath)
	}
	if r.Path != guess { // Tinyforge syncs another file: read that one (one more round)
		head = c.startFiles(ctx, in.Event, r.Path, files)
	}

	data, err := head.wait(ctx)
	if r.File, r.FileSHA, r.Diagnostics, err = headFile(data, err); err != nil {
		r.fail(VerdictError, "could not read %s: %v", r.Path, err)
		return
	}
	spec := r.lint(data, lintType)
	if w != nil && w.UIURL != "" {
		r.SyncURL = gitops.PinnedPRURL(w.UIURL, r.FileSHA, in.Event.headSHA(), in.Event.PR.number())
	}
	if r.Verdict, r.Reason = settled(r, w); r.Verdict != "" {
		if r.Verdict == VerdictNoFile && c.baseHasFile(ctx, in.Event.PR, r.Path, files) {
			r.BaseHasFile, r.Reason = true, fmt.Sprintf("this PR removes %s", r.Path)
		}
		return
	}
	c.compare(ctx, in.Event.PR, r, spec, w, files)
}

// refusedPath reports, as the error verdict, a GitOps path set in Tinyforge that breaks the rule
// the reference server applies when it is set (gitops.CheckPath): the check reads no such path,
// nor quotes it. path is the path input.
func (r *Report) refusedPath(path string, w *Workload) bool {
	if w == nil || w.GitOpsPath == "" {
		return false
	}
	why := gitops.CheckPath(w.GitOpsPath)
	if why == "" {
		return false
	}
	r.Path, _ = choosePath(path, nil)
	r.fail(VerdictError, "the GitOps path set in Tinyforge for this workload is not one Tinyforge accepts (%s), so the check reads no file: set a .yml or .yaml path in the repo in Tinyforge", why)
	return true
}

// lint lints this branch's file (nil: none) into the report and returns its Spec, nil unless it
// is valid. A file that is not a .tinyforge.yml document (gitops.IsForeign) gets the one
// diagnostic gitops.ForeignFile and is marked FileHidden, so nothing of it is rendered.
func (r *Report) lint(data []byte, lintType string) *gitops.Spec {
	if data == nil {
		return nil
	}
	spec, diags := gitops.Lint(data, lintType)
	if gitops.IsForeign(data, diags) {
		spec, diags, r.FileHidden = nil, gitops.Diagnostics{gitops.ForeignFile()}, true
	}
	r.Diagnostics, r.ManagedFields = diags, spec.ManagedFields()
	return spec
}

// compare compares the linted file with the live workload: the drift, the Sync preview, the
// drift table (reading the base branch's file on a PR) and the verdict, drift or in sync.
func (c *Checker) compare(ctx context.Context, pr *PullRequest, r *Report, spec *gitops.Spec, w *Workload, files *fileReads) {
	comps, err := gitops.Compare(spec, r.SourceType, w.SourceConfig)
	if err != nil {
		r.Verdict, r.Reason = VerdictError, fmt.Sprintf("could not compare with the live config: %v", err)
		return
	}
	r.Drift, r.Sync = gitops.Unequal(comps), previewSync(spec, w.SourceConfig)
	base, err := c.readBase(ctx, pr, r.Path, w.SourceConfig, files)
	if err != nil {
		r.notice(LevelWarning, "could not read the base branch's %s: %v", r.Path, err)
	}
	r.Rows = rows(comps, base)
	r.Verdict = VerdictInSync
	if len(r.Drift) > 0 {
		r.Verdict = VerdictDrift
	}
}

// fail sets the verdict and its reason unless an earlier step already set one: the first
// failure is the one reported.
func (r *Report) fail(v Verdict, format string, args ...any) {
	if r.Verdict == "" {
		r.Verdict, r.Reason = v, fmt.Sprintf(format, args...)
	}
}

// prefetch starts the reads publishing will begin with (the PR's comments, or the repo's
// issues), so that they share the first round with the Tinyforge and file reads.
func (c *Checker) prefetch(ctx context.Context, in Inputs) {
	pr := in.Event.PR
	if pr != nil && c.Comments != nil && in.Comment != CommentNever {
		if p, ok := c.Comments.(CommentPrefetcher); ok {
			p.PrefetchComments(ctx, pr.Number, pr.Comments)
		}
	}
	if pr == nil && c.Issues != nil && in.ReportMode() == ReportIssue {
		if p, ok := c.Issues.(IssuePrefetcher); ok {
			p.PrefetchIssues(ctx)
		}
	}
}

// startFiles starts reading this branch's file at path and, on a PR with a known base, the
// base branch's; it returns this branch's read.
func (c *Checker) startFiles(ctx context.Context, ev Event, path string, files *fileReads) *fileRead {
	head := c.startHead(ctx, ev, path, files)
	if ev.PR != nil && ev.PR.BaseSHA != "" {
		files.start(ctx, ev.PR.BaseSHA, path)
	}
	return head
}

// resolve reads the live workload into the report when there are Tinyforge credentials, and
// returns it; nil when there are none (a notice says the run lints only) or reading it failed
// (the error verdict).
func (c *Checker) resolve(ctx context.Context, in Inputs, r *Report) *Workload {
	if c.Live == nil {
		reason := in.LiveMissingReason
		if reason == "" {
			reason = "no Tinyforge credentials were given"
		}
		r.notice(LevelNotice, "drift not checked: %s; linting only", reason)
		return nil
	}
	w, err := c.resolveWorkload(ctx, strings.TrimSpace(in.Workload), in.WorkloadSetting)
	switch {
	case errors.Is(err, forge.ErrNotFound):
		r.fail(VerdictError, "%s", err) // already says which workload, once
		return nil
	case err != nil:
		r.fail(VerdictError, "could not read workload %q from Tinyforge: %v", gitops.Truncate(in.Workload, 80), err)
		return nil
	}
	r.Workload = w
	return w
}

// useSourceType sets the report's source type, the live workload's or else the input's, and
// returns the one the file is linted for: "" when that type cannot use GitOps (the verdict is
// then invalid), so that only the rules of every source type apply.
func (r *Report) useSourceType(input string, w *Workload) (lintType string) {
	r.SourceType = input
	if w != nil {
		r.SourceType = w.SourceType
	}
	if r.SourceType != "" && !gitops.SupportsGitOps(r.SourceType) {
		r.fail(VerdictInvalid, "source type %q cannot use GitOps: only dockerfile and static workloads can read their config from the repo", gitops.Truncate(r.SourceType, 40))
		return ""
	}
	return r.SourceType
}

// choosePath is the file the check reads: the path input, else Tinyforge's GitOps path, else
// gitops.DefaultPath. tinyforgePath is Tinyforge's GitOps path when the path input names
// another file, else "".
func choosePath(input string, w *Workload) (path, tinyforgePath string) {
	path = input
	if w != nil && w.GitOpsPath != "" {
		switch {
		case path == "":
			path = w.GitOpsPath
		case path != w.GitOpsPath:
			tinyforgePath = w.GitOpsPath
		}
	}
	if path == "" {
		path = gitops.DefaultPath
	}
	return path, tinyforgePath
}

// settled is the verdict a run reaches without comparing with live, and its reason; "" when
// the run goes on to compare. An earlier verdict (an error from Tinyforge, a source type that
// cannot use GitOps) stands; then an invalid file, GitOps off, no file, and no live workload
// (lint only), in that order.
func settled(r *Report, w *Workload) (Verdict, string) {
	switch {
	case r.Verdict != "":
		return r.Verdict, r.Reason
	case r.Diagnostics.HasErrors():
		return VerdictInvalid, fmt.Sprintf("%s has %s", r.Path, plural(len(r.Diagnostics.Errors()), "error", "errors"))
	case w != nil && !w.GitOpsEnabled:
		return VerdictDisabled, "GitOps is disabled for this workload in Tinyforge: the file is not read, so there is nothing to compare"
	case r.File == nil:
		return VerdictNoFile, fmt.Sprintf("there is no %s at this commit", r.Path)
	case w == nil:
		return VerdictSkipped, "the file is valid; drift was not checked because there are no Tinyforge credentials"
	}
	return "", ""
}

// baseHasFile reports whether a PR's base branch has the file at path (so a branch without it
// removes it); false outside a PR or when the base cannot be read.
func (c *Checker) baseHasFile(ctx context.Context, pr *PullRequest, path string, files *fileReads) bool {
	if pr == nil || pr.BaseSHA == "" || c.Files == nil {
		return false
	}
	_, err := files.start(ctx, pr.BaseSHA, path).wait(ctx)
	return err == nil
}

// previewSync says whether Tinyforge would accept a Sync of the file onto the live config.
func previewSync(spec *gitops.Spec, live json.RawMessage) *SyncPreview {
	if _, err := gitops.PreviewSync(spec, live); err != nil {
		return &SyncPreview{Error: err.Error()}
	}
	return &SyncPreview{Valid: true}
}

// resolveWorkload finds the workload by id, then by name. When there is none it says so in one
// sentence naming setting (how the user gave the workload), and matches forge.ErrNotFound.
func (c *Checker) resolveWorkload(ctx context.Context, ref, setting string) (*Workload, error) {
	if id, err := strconv.ParseInt(ref, 10, 64); err == nil && id > 0 {
		w, err := c.Live.GetWorkload(ctx, id)
		if err == nil || !errors.Is(err, forge.ErrNotFound) {
			return w, err
		}
	}
	w, err := c.Live.FindWorkload(ctx, ref)
	if err != nil {
		if errors.Is(err, forge.ErrNotFound) {
			if setting == "" {
				setting = "the workload input"
			}
			return nil, notFoundError(fmt.Sprintf("Tinyforge has no workload %q that this token can read: check %s (an id or a name) and the token's workload limit",
				gitops.Truncate(ref, 80), setting))
		}
		return nil, err
	}
	return w, nil
}

// Description is the commit status description: at most forge.MaxDescription characters, with the
// counts.
func (r *Report) Description() string {
	var s string
	switch r.Verdict {
	case VerdictInSync:
		if n := len(r.ManagedFields); n == 0 {
			s = "In sync: the file declares no field"
		} else {
			s = fmt.Sprintf("In sync: %s match live", plural(n, "declared field", "declared fields"))
		}
	case VerdictDrift:
		n := len(r.Drift)
		verb := "differs"
		if n != 1 {
			verb = "differ"
		}
		s = fmt.Sprintf("%s %s from live: Sync required", plural(n, "field", "fields"), verb)
	case VerdictInvalid:
		if n := len(r.Diagnostics.Errors()); n > 0 {
			s = fmt.Sprintf("%s in %s: fix the file", plural(n, "error", "errors"), r.Path)
		} else {
			s = fmt.Sprintf("Source type %s cannot use GitOps", r.SourceType)
		}
	case VerdictNoFile:
		s = fmt.Sprintf("No %s at this commit", r.Path)
	case VerdictDisabled:
		s = "GitOps is disabled for this workload in Tinyforge: nothing to compare"
	case VerdictSkipped:
		s = "File valid; drift not checked: no Tinyforge credentials (fork PR?)"
	default:
		s = "Check could not finish: see the job log"
	}
	return gitops.Truncate(s, forge.MaxDescription)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}
