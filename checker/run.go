package checker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/tinyforge/tinyforge-check/gitops"
	"github.com/tinyforge/tinyforge-check/internal/secret"
)

// Tag says, for one declared field of a PR, how this branch relates to the base branch and live.
type Tag string

// The row tags.
const (
	// TagInSync: this branch equals live.
	TagInSync Tag = "in sync"
	// TagChanged: this PR changes the field, to a value that differs from live.
	TagChanged Tag = "changed by this PR"
	// TagDrifted: the base branch already declared this value and live differs.
	TagDrifted Tag = "already drifted"
	// TagReverts: the base branch differed from live and this PR brings it back to live.
	TagReverts Tag = "PR reverts drift"
	// TagDiffers: outside a PR, the file differs from live.
	TagDiffers Tag = "differs from live"
	// TagUnmanaged: the base branch declared the field and this PR removes it.
	TagUnmanaged Tag = "no longer managed by this PR"
)

// Placeholder values in rows.
const (
	// NotDeclared: the file does not declare the field.
	NotDeclared = "(not declared)"
	// NoBaseFile: the base branch has no file.
	NoBaseFile = "(no file)"
	// BaseInvalid: the base branch's file is invalid.
	BaseInvalid = "(invalid file)"
	// BaseUnavailable: the base branch's file could not be read.
	BaseUnavailable = "(unavailable)"
)

// Row is one declared field of the drift table.
type Row struct {
	// Field is the dotted path, e.g. "deploy.port".
	Field string
	// Base is the base branch's value on a PR (or a placeholder); "" outside a PR.
	Base string
	// Head is this branch's (or commit's) value, or NotDeclared.
	Head string
	// Live is the live value, gitops.Unset when missing.
	Live string
	// Drift reports whether Head differs from Live; false for an undeclared Head.
	Drift bool
	// Tag relates the three values.
	Tag Tag
}

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
	Status Status
	// StatusWritten reports whether Status was written.
	StatusWritten bool
	// Comment is what the comment upsert did; Action "" when none was attempted.
	Comment CommentResult
	// Issue is what the drift-issue upsert did; Action "" when none was attempted.
	Issue IssueResult
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
			return nil, fmt.Errorf("path %q: give a path relative to the repo root, without \"..\" segments", truncateRunes(in.Path, 80))
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
	c.evaluate(ctx, in, r)
	redactReport(r, in.Secrets)
	c.publish(ctx, in, r)
	redactReport(r, in.Secrets)
	return r, nil
}

// notFoundError is a message that already says what was not found, once; it matches
// ErrNotFound.
type notFoundError string

func (e notFoundError) Error() string        { return string(e) }
func (e notFoundError) Is(target error) bool { return target == ErrNotFound }

// headSHA is the reviewed commit: the PR head on PR events (never a test-merge commit), else
// the event's commit.
func (ev Event) headSHA() string {
	if ev.PR != nil && ev.PR.HeadSHA != "" {
		return ev.PR.HeadSHA
	}
	return ev.CommitSHA
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

// evaluate fills the report's verdict, file, diagnostics and drift. Every read it needs starts
// in one round: the workload, this branch's file and the base branch's file at the path the
// inputs imply, and (through CommentPrefetcher) the PR's comments. Only when Tinyforge names
// another GitOps path are the files read once more, at that path.
func (c *Checker) evaluate(ctx context.Context, in Inputs, r *Report) {
	files := &fileReads{files: c.Files}
	guess := in.Path
	if guess == "" {
		guess = gitops.DefaultPath
	}
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
	head := c.startHead(ctx, in.Event, guess, files)
	if pr != nil && pr.BaseSHA != "" {
		files.start(ctx, pr.BaseSHA, guess)
	}

	var w *Workload
	liveFailed := false
	if c.Live != nil {
		var err error
		w, err = c.resolveWorkload(ctx, strings.TrimSpace(in.Workload), in.WorkloadSetting)
		if err != nil {
			liveFailed = true
			r.Verdict = VerdictError
			r.Reason = fmt.Sprintf("could not read workload %q from Tinyforge: %v", truncateRunes(in.Workload, 80), err)
			if errors.Is(err, ErrNotFound) {
				r.Reason = err.Error() // already says which workload, once
			}
		} else {
			r.Workload = w
		}
	} else {
		reason := in.LiveMissingReason
		if reason == "" {
			reason = "no Tinyforge credentials were given"
		}
		r.notice(LevelNotice, "drift not checked: %s; linting only", reason)
	}

	r.SourceType = in.SourceType
	if w != nil {
		r.SourceType = w.SourceType
	}
	lintType := r.SourceType
	if r.SourceType != "" && !gitops.SupportsGitOps(r.SourceType) {
		lintType = ""
		if r.Verdict == "" {
			r.Verdict = VerdictInvalid
			r.Reason = fmt.Sprintf("source type %q cannot use GitOps: only dockerfile and static workloads can read their config from the repo", truncateRunes(r.SourceType, 40))
		}
	}

	r.Path = in.Path
	if w != nil && w.GitOpsPath != "" {
		if r.Path == "" {
			r.Path = w.GitOpsPath
		} else if r.Path != w.GitOpsPath {
			r.TinyforgePath = w.GitOpsPath
			r.notice(LevelWarning, "the path input %q differs from the GitOps path %q set in Tinyforge: Tinyforge syncs %q", r.Path, w.GitOpsPath, w.GitOpsPath)
		}
	}
	if r.Path == "" {
		r.Path = gitops.DefaultPath
	}
	if r.Path != guess { // Tinyforge syncs another file: read that one (one more round)
		head = c.startHead(ctx, in.Event, r.Path, files)
		if pr != nil && pr.BaseSHA != "" {
			files.start(ctx, pr.BaseSHA, r.Path)
		}
	}

	data, err := head.wait(ctx)
	switch {
	case errors.Is(err, ErrFileNotFound):
	case errors.Is(err, ErrFileTooLarge):
		r.File = []byte{}
		r.Diagnostics = gitops.Diagnostics{{Severity: gitops.SeverityError, Code: "file-too-large",
			Message: fmt.Sprintf("the file is larger than the limit of %d bytes (64 KiB)", gitops.MaxFileSize)}}
	case errors.Is(err, ErrNotRegularFile):
		r.File = []byte{}
		r.Diagnostics = gitops.Diagnostics{gitops.NotRegularFile()}
	case err != nil:
		if r.Verdict == "" {
			r.Verdict = VerdictError
			r.Reason = fmt.Sprintf("could not read %s: %v", r.Path, err)
		}
		return
	default:
		r.File = data
		r.FileSHA = gitops.FileSHA(data)
	}
	var spec *gitops.Spec
	if data != nil {
		spec, r.Diagnostics = gitops.Lint(data, lintType)
		r.ManagedFields = spec.ManagedFields()
	}
	if w != nil && w.UIURL != "" {
		r.SyncURL = pinnedURL(w.UIURL, r.FileSHA, in.Event.headSHA())
	}

	switch {
	case r.Verdict != "":
		return // error from Tinyforge, or a source type that cannot use GitOps
	case r.Diagnostics.HasErrors():
		r.Verdict = VerdictInvalid
		r.Reason = fmt.Sprintf("%s has %s", r.Path, plural(len(r.Diagnostics.Errors()), "error", "errors"))
		return
	case w != nil && !w.GitOpsEnabled:
		r.Verdict = VerdictDisabled
		r.Reason = "GitOps is disabled for this workload in Tinyforge: the file is not read, so there is nothing to compare"
		return
	case r.File == nil:
		r.Verdict = VerdictNoFile
		r.Reason = fmt.Sprintf("there is no %s at this commit", r.Path)
		if pr != nil && pr.BaseSHA != "" && c.Files != nil {
			if _, err := files.start(ctx, pr.BaseSHA, r.Path).wait(ctx); err == nil {
				r.BaseHasFile = true
				r.Reason = fmt.Sprintf("this PR removes %s", r.Path)
			}
		}
		return
	case liveFailed || w == nil:
		r.Verdict = VerdictSkipped
		r.Reason = "the file is valid; drift was not checked because there are no Tinyforge credentials"
		return
	}

	comps, err := gitops.Compare(spec, r.SourceType, w.SourceConfig)
	if err != nil {
		r.Verdict = VerdictError
		r.Reason = fmt.Sprintf("could not compare with the live config: %v", err)
		return
	}
	for _, cp := range comps {
		if !cp.Equal {
			r.Drift = append(r.Drift, gitops.DriftEntry{Field: cp.Field, RepoValue: cp.RepoValue, LiveValue: cp.LiveValue})
		}
	}
	if _, err := gitops.PreviewSync(spec, w.SourceConfig); err != nil {
		r.Sync = &SyncPreview{Error: err.Error()}
	} else {
		r.Sync = &SyncPreview{Valid: true}
	}
	r.Rows = c.rows(ctx, in.Event, r, comps, w, files)
	if len(r.Drift) > 0 {
		r.Verdict = VerdictDrift
	} else {
		r.Verdict = VerdictInSync
	}
}

// resolveWorkload finds the workload by id, then by name. When there is none it says so in one
// sentence naming setting (how the user gave the workload), and matches ErrNotFound.
func (c *Checker) resolveWorkload(ctx context.Context, ref, setting string) (*Workload, error) {
	if id, err := strconv.ParseInt(ref, 10, 64); err == nil && id > 0 {
		w, err := c.Live.GetWorkload(ctx, id)
		if err == nil || !errors.Is(err, ErrNotFound) {
			return w, err
		}
	}
	w, err := c.Live.FindWorkload(ctx, ref)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			if setting == "" {
				setting = "the workload input"
			}
			return nil, notFoundError(fmt.Sprintf("Tinyforge has no workload %q that this token can read: check %s (an id or a name) and the token's workload limit",
				truncateRunes(ref, 80), setting))
		}
		return nil, err
	}
	return w, nil
}

// startHead starts reading this branch's file: through the forge API at the PR head under
// pull_request_target (never the PR's code), else from the workspace checkout.
func (c *Checker) startHead(ctx context.Context, ev Event, path string, files *fileReads) *fileRead {
	if ev.Name == EventPullRequestTarget {
		if c.Files == nil || ev.PR == nil || ev.PR.HeadSHA == "" {
			return doneRead(nil, errors.New("pull_request_target needs the forge API and the PR head commit to read the PR's file: give the token input"))
		}
		return files.start(ctx, ev.PR.HeadSHA, path)
	}
	if c.Workspace != nil {
		return doneRead(readWorkspace(c.Workspace, path))
	}
	if c.Files != nil && ev.CommitSHA != "" {
		return files.start(ctx, ev.CommitSHA, path)
	}
	return doneRead(nil, errors.New("no workspace and no forge API to read the file from: check out the repo first"))
}

// fileRead is one file read started ahead of its use; done is closed when data and err are set.
type fileRead struct {
	done chan struct{}
	data []byte
	err  error
}

// doneRead is a fileRead that has already finished.
func doneRead(data []byte, err error) *fileRead {
	fr := &fileRead{done: make(chan struct{}), data: data, err: err}
	close(fr.done)
	return fr
}

// wait returns the read's result, or ctx's error if ctx ends first.
func (fr *fileRead) wait(ctx context.Context) ([]byte, error) {
	select {
	case <-fr.done:
		return fr.data, fr.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// fileReads starts each (ref, path) read through the forge API once, in the background, so
// reads that do not depend on each other share one round trip. The zero value with files set is
// ready; a nil files answers every read with an error.
type fileReads struct {
	files FileReader
	mu    sync.Mutex
	reads map[[2]string]*fileRead
}

// start begins reading path at ref unless that read already began, and returns it.
func (f *fileReads) start(ctx context.Context, ref, path string) *fileRead {
	if f.files == nil {
		return doneRead(nil, errors.New("no forge API to read the file from: give the token input"))
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	key := [2]string{ref, path}
	if fr, ok := f.reads[key]; ok {
		return fr
	}
	if f.reads == nil {
		f.reads = map[[2]string]*fileRead{}
	}
	fr := &fileRead{done: make(chan struct{})}
	f.reads[key] = fr
	go func() {
		defer close(fr.done)
		fr.data, fr.err = f.files.ReadFile(ctx, ref, path)
	}()
	return fr
}

func readWorkspace(fsys fs.FS, path string) ([]byte, error) {
	// Lstat before opening: a symlink (perhaps to /proc/self/environ) is never followed, and a
	// pipe or device is never opened (opening a FIFO would block).
	st, err := fs.Lstat(fsys, path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", path, ErrFileNotFound)
	}
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		return nil, fmt.Errorf("%s is a directory: point the path input at the YAML file", path)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: %w", path, ErrNotRegularFile)
	}
	f, err := fsys.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", path, ErrFileNotFound)
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// One byte past the limit lets gitops.Lint report the size.
	data, err := io.ReadAll(io.LimitReader(f, gitops.MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if data == nil {
		data = []byte{}
	}
	return data, nil
}

// rows builds the drift table; on PRs it reads the base branch's file for the base column.
func (c *Checker) rows(ctx context.Context, ev Event, r *Report, head []gitops.Comparison, w *Workload, files *fileReads) []Row {
	headBy := map[string]gitops.Comparison{}
	for _, cp := range head {
		headBy[cp.Field] = cp
	}
	if ev.PR == nil {
		rows := make([]Row, 0, len(head))
		for _, cp := range head {
			tag := TagInSync
			if !cp.Equal {
				tag = TagDiffers
			}
			rows = append(rows, Row{Field: cp.Field, Head: cp.RepoValue, Live: cp.LiveValue, Drift: !cp.Equal, Tag: tag})
		}
		return rows
	}

	basePlaceholder := ""
	baseBy := map[string]gitops.Comparison{}
	switch {
	case c.Files == nil || ev.PR.BaseSHA == "":
		basePlaceholder = BaseUnavailable
	default:
		data, err := files.start(ctx, ev.PR.BaseSHA, r.Path).wait(ctx)
		switch {
		case errors.Is(err, ErrFileNotFound):
			basePlaceholder = NoBaseFile
		case err != nil:
			basePlaceholder = BaseUnavailable
			r.notice(LevelWarning, "could not read the base branch's %s: %v", r.Path, err)
		default:
			spec, _ := gitops.Lint(data, "")
			if spec == nil {
				basePlaceholder = BaseInvalid
				break
			}
			comps, err := gitops.Compare(spec, "", w.SourceConfig)
			if err != nil {
				basePlaceholder = BaseUnavailable
				break
			}
			for _, cp := range comps {
				baseBy[cp.Field] = cp
			}
		}
	}

	var rows []Row
	for _, f := range []string{gitops.FieldPort, gitops.FieldHealthcheck, gitops.FieldDeployStrategy} {
		h, inHead := headBy[f]
		b, inBase := baseBy[f]
		if !inHead && !inBase {
			continue
		}
		row := Row{Field: f, Head: NotDeclared, Base: NotDeclared}
		if basePlaceholder != "" {
			row.Base = basePlaceholder
		} else if inBase {
			row.Base = b.RepoValue
		}
		if !inHead {
			row.Live = b.LiveValue
			row.Tag = TagUnmanaged
			rows = append(rows, row)
			continue
		}
		row.Head, row.Live, row.Drift = h.RepoValue, h.LiveValue, !h.Equal
		switch {
		case basePlaceholder != "" && basePlaceholder != NoBaseFile:
			row.Tag = map[bool]Tag{true: TagInSync, false: TagDiffers}[h.Equal]
		case inBase && b.RepoValue == h.RepoValue:
			row.Tag = map[bool]Tag{true: TagInSync, false: TagDrifted}[h.Equal]
		case h.Equal && inBase && !b.Equal:
			row.Tag = TagReverts
		case h.Equal:
			row.Tag = TagInSync
		default:
			row.Tag = TagChanged
		}
		rows = append(rows, row)
	}
	return rows
}

// pinnedURL is the UI page pinned to the reviewed file and commit (docs/tinyforge-api.md):
// {ui_url}?file=<file_sha>&commit=<sha>#gitops. Only http(s) pages are linked.
func pinnedURL(ui, fileSHA, commit string) string {
	u, err := url.Parse(ui)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Fragment != "" || u.RawQuery != "" {
		return ""
	}
	var q []string
	if fileSHA != "" {
		q = append(q, "file="+url.QueryEscape(fileSHA))
	}
	if commit != "" {
		q = append(q, "commit="+url.QueryEscape(commit))
	}
	s := u.String()
	if len(q) > 0 {
		s += "?" + strings.Join(q, "&")
	}
	return s + "#gitops"
}

// ReportMode is what a run without a pull request reports: Report, or when blank, an issue on
// schedule and workflow_dispatch runs and a commit status on others. Pull request runs always
// set the status and write the comment.
func (in Inputs) ReportMode() ReportMode {
	switch {
	case in.Report != "":
		return in.Report
	case in.Event.Name == EventSchedule || in.Event.Name == EventWorkflowDispatch:
		return ReportIssue
	}
	return ReportStatus
}

// publish sets the commit status, writes the PR comment and keeps the drift issue, all at once:
// none depends on another (the comment's body never mentions the status's outcome). Their
// notices are added in a fixed order: status, comment, issue.
func (c *Checker) publish(ctx context.Context, in Inputs, r *Report) {
	sha := in.Event.headSHA()
	r.Status = Status{SHA: sha, State: StatusState(r.Verdict, in.Forge, in.FailOn), Context: in.StatusContext,
		Description: r.Description(), TargetURL: r.SyncURL}
	var wg sync.WaitGroup
	mode := in.ReportMode()
	setStatus := c.Status != nil && sha != "" && (in.Event.PR != nil || mode == ReportStatus)
	ireq, keepIssue := c.issueRequest(in, r)
	var ires IssueResult
	var issueErr error
	if keepIssue {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ires, issueErr = c.Issues.UpsertIssue(ctx, ireq)
		}()
	}
	var statusErr error
	if setStatus {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statusErr = c.Status.SetStatus(ctx, r.Status)
		}()
	}
	req, upsert := c.commentRequest(in, r)
	var res CommentResult
	var commentErr error
	if upsert {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, commentErr = c.Comments.UpsertComment(ctx, req)
		}()
	}
	wg.Wait()

	if setStatus {
		switch err := statusErr; {
		case err == nil:
			r.StatusWritten = true
		case errors.Is(err, ErrForbidden):
			r.notice(LevelNotice, "could not set the commit status: the token is read-only (a fork PR gets a read-only token); see the job summary")
		default:
			r.PublishFailed = true
			r.notice(LevelError, "could not set the commit status: %v", err)
		}
	}
	if upsert {
		switch err := commentErr; {
		case err == nil:
			r.Comment = res
		case errors.Is(err, ErrForbidden):
			r.Comment = CommentResult{Action: CommentSkipped, Reason: "the token is read-only"}
			r.notice(LevelNotice, "could not write the PR comment: the token is read-only (a fork PR gets a read-only token); see the job summary")
		default:
			r.PublishFailed = true
			r.notice(LevelError, "could not write the PR comment: %v", err)
		}
	}
	if keepIssue {
		switch err := issueErr; {
		case err == nil:
			r.Issue = ires
			if ires.Reason != "" {
				r.notice(LevelNotice, "drift issue %s: %s", ires.Action, ires.Reason)
			}
		case errors.Is(err, ErrForbidden):
			r.Issue = IssueResult{Action: "skipped", Reason: "the token may not write issues"}
			r.notice(LevelNotice, "could not keep the drift issue: the token may not write issues; give it issues: write (GitHub) or the write:issue scope (Gitea, Forgejo), or set report: status")
		default:
			r.PublishFailed = true
			r.notice(LevelError, "could not keep the drift issue: %v", err)
		}
	}
}

// issueRequest is the drift issue this run keeps, and whether it keeps one: on runs without a
// pull request whose report is issue, once the workload is known. Drift and an invalid file
// keep the issue open; in sync closes it; any other verdict (no file, GitOps off, no
// credentials, an error) leaves it as it is.
func (c *Checker) issueRequest(in Inputs, r *Report) (IssueRequest, bool) {
	if in.Event.PR != nil || c.Issues == nil || in.ReportMode() != ReportIssue || r.Workload == nil {
		return IssueRequest{}, false
	}
	req := IssueRequest{Context: in.StatusContext, Workload: r.Workload.ID, RunID: in.RunID, Labels: in.IssueLabels}
	name := escapeInline(r.Workload.Name, 80)
	switch r.Verdict {
	case VerdictDrift, VerdictInvalid:
		req.Open = true
		req.Title = truncateRunes(fmt.Sprintf("Tinyforge: %s drifts from live (%s)", plainTitle(r.Workload.Name), in.StatusContext), 200)
		if r.Verdict == VerdictInvalid {
			req.Title = truncateRunes(fmt.Sprintf("Tinyforge: %s of %s is invalid (%s)", plainTitle(r.Path), plainTitle(r.Workload.Name), in.StatusContext), 200)
		}
		comment := secret.Redact(RenderComment(r), in.Secrets...)
		what := fmt.Sprintf("the checked file and the live config of workload %s differ", name)
		if r.Verdict == VerdictInvalid {
			what = fmt.Sprintf("the checked file of workload %s is invalid", name)
		}
		req.Body = func(since time.Time) string {
			return fmt.Sprintf("**Since %s** %s. This issue is kept by a scheduled tinyforge-check run: "+
				"it is edited while that lasts, and closed when live matches again.\n\n%s",
				since.UTC().Format("2006-01-02 15:04 UTC"), what, comment)
		}
	case VerdictInSync:
		req.CloseComment = fmt.Sprintf("Live matches the file again (commit %s): closing.", short(in.Event.headSHA()))
	default:
		r.notice(LevelNotice, "drift issue left as it is: the verdict is %s", r.Verdict)
		return IssueRequest{}, false
	}
	return req, true
}

// plainTitle is s for an issue title: one line without control or invisible characters, at
// most 80 characters.
func plainTitle(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || gitops.IsHidden(r) {
			return ' '
		}
		return r
	}, s)
	return truncateRunes(strings.Join(strings.Fields(s), " "), 80)
}

// commentRequest is the sticky comment this run writes, and whether it writes one at all.
func (c *Checker) commentRequest(in Inputs, r *Report) (CommentRequest, bool) {
	pr := in.Event.PR
	if pr == nil || c.Comments == nil || in.Comment == CommentNever {
		return CommentRequest{}, false
	}
	updateOnly := false
	if in.Comment == CommentAuto {
		switch r.Verdict {
		case VerdictError:
			return CommentRequest{}, false // keep the last real report rather than replace it with an outage
		case VerdictInSync, VerdictDisabled, VerdictSkipped:
			updateOnly = true
		}
	}
	return CommentRequest{Number: pr.Number, Context: in.StatusContext, RunID: in.RunID,
		Body: secret.Redact(RenderComment(r), in.Secrets...), UpdateOnly: updateOnly}, true
}

// Description is the commit status description: at most MaxDescription characters, with the
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
	return truncateRunes(s, MaxDescription)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// truncateRunes cuts s to at most n runes, ending with "…" when cut.
func truncateRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	if n <= 0 {
		return ""
	}
	return string([]rune(s)[:n-1]) + "…"
}
