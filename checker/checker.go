// Package checker is one check run of tinyforge-check: from the run's inputs, through lint, the
// live config and drift, to a Report, the commit status, the PR comment, the job summary and the
// annotations (docs/design.md, The check). It owns the small interfaces it consumes (LiveSource,
// FileReader, StatusSetter, CommentUpserter, IssueUpserter), spoken in package forge's words;
// providers.Repo implements the forge ones, internal/checkwire wires them and the Tinyforge
// client. Rendering is pure and deterministic: no clock, no environment.
package checker

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"

	"github.com/tinyforge/tinyforge-check/forge"
	"github.com/tinyforge/tinyforge-check/gitops"
)

// ErrNotRegularFile: the path names a symbolic link, device, pipe or other non-regular file,
// which the check never follows or reads (a PR could point it at the runner's secrets). The
// other sentinels the checker tells apart with errors.Is (file not found, file too large,
// forbidden, not found) are package forge's.
var ErrNotRegularFile = errors.New("not a regular file")

// Workload is the live side of a check: what GET /api/workloads/{id} returns, in the checker's
// terms.
type Workload struct {
	// ID is the Tinyforge workload id (ids start at 1).
	ID int64
	// Name is the workload's name.
	Name string
	// SourceType is "dockerfile", "static" or another word.
	SourceType string
	// SourceConfig is the live source_config JSON object.
	SourceConfig json.RawMessage
	// GitOpsEnabled reports whether GitOps is on for the workload.
	GitOpsEnabled bool
	// GitOpsPath is the file path Tinyforge reads; "" means the default.
	GitOpsPath string
	// UIURL is the workload's panel page, {public URL}/apps/{id}; "" when unknown.
	UIURL string
	// SetBy maps a file field to the last audited change in Tinyforge that set its live value
	// (drift attribution); nil when Tinyforge does not say (an older server).
	SetBy map[string]gitops.SetBy
}

// LiveSource reads workloads from Tinyforge. Errors wrap forge.ErrNotFound for a 404 (and, from
// FindWorkload, for an unknown name); any other error makes the verdict error.
type LiveSource interface {
	// GetWorkload returns the workload with this id (GET /api/workloads/{id}).
	GetWorkload(ctx context.Context, id int64) (*Workload, error)
	// FindWorkload returns the workload with this exact name (GET /api/workloads?name=, which
	// may answer with the whole workload, else one more GET by id).
	FindWorkload(ctx context.Context, name string) (*Workload, error)
}

// FileReader reads a file of the repo at a commit through the forge API. It returns an error
// wrapping forge.ErrFileNotFound when the file does not exist at ref, and forge.ErrFileTooLarge
// when it is larger than gitops.MaxFileSize.
type FileReader interface {
	ReadFile(ctx context.Context, ref, path string) ([]byte, error)
}

// StatusSetter sets commit statuses. A 403 is returned wrapping forge.ErrForbidden.
type StatusSetter interface {
	SetStatus(ctx context.Context, st forge.CommitStatus) error
}

// CommentUpserter writes the one sticky comment per (PR, status context). A 403 is returned
// wrapping forge.ErrForbidden.
type CommentUpserter interface {
	UpsertComment(ctx context.Context, req forge.CommentRequest) (forge.CommentResult, error)
}

// CommentPrefetcher is what a CommentUpserter may also offer: start reading the PR's comments
// (and whatever else its upsert reads first, such as the token's identity) at once, without
// waiting, so that those reads share the first round with the Tinyforge and file reads and the
// later UpsertComment of the same PR starts writing. expected is PullRequest.Comments.
type CommentPrefetcher interface {
	PrefetchComments(ctx context.Context, number, expected int)
}

// IssueUpserter keeps the drift issue of scheduled runs.
type IssueUpserter interface {
	UpsertIssue(ctx context.Context, req forge.IssueRequest) (forge.IssueResult, error)
}

// IssuePrefetcher is what an IssueUpserter may also offer: start reading the repo's issues at
// once, so that those reads share the first round with the Tinyforge and file reads.
type IssuePrefetcher interface {
	PrefetchIssues(ctx context.Context)
}

// Checker runs checks. Every dependency may be nil: without Live the run is lint only (verdict
// skipped), without Status or Comments nothing is written, without Files a run without a
// Workspace, or under pull_request_target, cannot read the file (verdict error) and a PR's base
// column says "(unavailable)". The zero value has nowhere to read the file from: set Workspace
// for a local run, or Files for a CI run, which reads the file at the commit it reports on.
type Checker struct {
	// Workspace is a local checkout, rooted at the repo, read as it is (the lint and drift
	// commands); nil for CI runs (the action), which read the committed file through Files so
	// that no file an earlier step wrote is ever read or shown.
	Workspace fs.FS
	// Live reads the workload from Tinyforge; nil when there are no Tinyforge credentials.
	Live LiveSource
	// Files reads files at a commit through the forge API.
	Files FileReader
	// Status sets the commit status.
	Status StatusSetter
	// Comments writes the sticky PR comment.
	Comments CommentUpserter
	// Issues keeps the drift issue of runs without a pull request (Inputs.Report issue).
	Issues IssueUpserter
}

// The event names the checker distinguishes; any other name is treated like push.
const (
	EventPullRequest       = "pull_request"
	EventPullRequestTarget = "pull_request_target"
	EventPush              = "push"
	EventWorkflowDispatch  = "workflow_dispatch"
	// EventSchedule is a scheduled run (GitHub, Gitea and Forgejo Actions; a GitLab pipeline
	// whose source is schedule).
	EventSchedule = "schedule"
	// EventMergeRequest is a GitLab merge request pipeline.
	EventMergeRequest = "merge_request"
	// EventMergeGroup is a run for a group of pull requests in GitHub's merge queue: the check
	// reports a commit status on the group's head commit (the queue waits for it when the
	// status context is required) and writes no comment and no issue, whatever Inputs.Report.
	EventMergeGroup = "merge_group"
)

// Event is what triggered the run.
type Event struct {
	// Name is the event name, e.g. "pull_request"; "" for a local run.
	Name string
	// CommitSHA is the commit the check is about: the PR head on PR events, else the pushed or
	// checked-out commit. "" for a local run (then no status is set).
	CommitSHA string
	// PR is set on pull request (and merge request) events.
	PR *PullRequest
	// MergeGroup is the merge group's branch on merge_group events, without refs/heads/
	// (e.g. gh-readonly-queue/main/pr-42-SHA); "" on other events or when the payload lacks it.
	MergeGroup string
}

// PullRequest is the PR a run is about.
type PullRequest struct {
	// Number is the PR number.
	Number int
	// HeadSHA is the PR branch's head commit; the status goes there.
	HeadSHA string
	// BaseSHA is the base branch commit the PR compares against; "" when unknown.
	BaseSHA string
	// Fork reports whether the head lives in another repository.
	Fork bool
	// Comments is how many comments the event payload says the PR has (pull_request.comments
	// on GitHub and Gitea); 0 when unknown. It lets the comment pages be read in parallel.
	Comments int
}

// Inputs are one run's settings, already read from the environment by the caller.
type Inputs struct {
	// Path is the path input; "" means Tinyforge's GitOps path, else gitops.DefaultPath.
	Path string
	// Workload is the workload's id or name; required when Checker.Live is set.
	Workload string
	// WorkloadSetting names where the user gave Workload, in the words of the interface used,
	// for messages: "the workload input" (the action; the default when empty) or "--workload".
	WorkloadSetting string
	// SourceType is the source type for an offline lint, used when there is no live workload.
	SourceType string
	// FailOn is the fail-on input.
	FailOn FailOn
	// Comment is the comment input.
	Comment CommentMode
	// Report is the report input, for runs without a pull request; "" is the event's default
	// (Inputs.ReportMode).
	Report ReportMode
	// IssueLabels go on a drift issue the run opens.
	IssueLabels []string
	// StatusContext is the status context; "" means DefaultStatusContext.
	StatusContext string
	// Forge is the code host, for the status state mapping.
	Forge Forge
	// Event is what triggered the run.
	Event Event
	// RunID is carried in the comment marker; later runs have higher ids.
	RunID int64
	// LiveMissingReason explains why Checker.Live is nil (e.g. "no tinyforge-token: a fork PR
	// gets no secrets"); used in the skipped notice.
	LiveMissingReason string
	// Secrets are values (tokens) that must never appear in the report: every occurrence in an
	// error text is replaced by "***" before anything is rendered or written.
	Secrets []string
}
