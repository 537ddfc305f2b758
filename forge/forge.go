// Package forge is the vocabulary the checker and the forge providers share: the commit status,
// the sticky comment and the drift issue a check writes, their results, the size limits the
// forges impose, and the sentinel errors both sides test with errors.Is. It holds data and
// constants only and imports nothing but the standard library, so checker, providers and
// tinyforge can all depend on it (docs/design.md, Layout).
package forge

import (
	"errors"
	"time"
)

// Sentinel errors a forge (or Tinyforge) call wraps so that callers can tell the cases apart
// with errors.Is; the wrapping error carries the details (path, ref, HTTP status).
var (
	// ErrFileNotFound: the file (or the ref) does not exist at that commit.
	ErrFileNotFound = errors.New("file not found")
	// ErrFileTooLarge: the file is larger than the download cap (gitops.MaxFileSize for a
	// check).
	ErrFileTooLarge = errors.New("file too large")
	// ErrForbidden: the token may not do this (a 403 that is not a rate limit), typically the
	// read-only token of a fork PR: the check reports a notice rather than failing.
	ErrForbidden = errors.New("forbidden")
	// ErrRateLimited: the forge refused the request for a rate limit (GitHub's 403 or 429 with
	// Retry-After or X-RateLimit-Remaining: 0, Gitea's and GitLab's 429), still after the
	// client's retries. Ask again later, not at once; the error may say when (providers.APIError).
	ErrRateLimited = errors.New("rate limited")
	// ErrNotFound: the repository, PR, branch, commit or Tinyforge workload does not exist, or
	// the token cannot see it.
	ErrNotFound = errors.New("not found")
	// ErrIdentityUnknown: the forge will not say which login the token writes as (GitHub
	// answers a GitHub App installation token 403 on GET /user) and none was given, so the
	// check cannot tell its own comments and issues from anyone else's: it writes neither
	// rather than guess.
	ErrIdentityUnknown = errors.New("the token's identity is unknown")
)

// MaxDescription is the longest commit-status description, in characters (runes), every
// supported forge accepts (GitHub answers 422 above it). Longer descriptions are truncated
// with an ellipsis rather than rejected.
const MaxDescription = 140

// MaxCommentBody is the longest comment body, in characters (runes) including the marker line,
// GitHub accepts (65,536); providers refuse longer bodies before any request is made.
const MaxCommentBody = 65536

// State is the check's own commit-status state; each provider maps it onto its forge's words
// (docs/forges.md: GitHub and GitLab have no warning state). The zero value is invalid.
type State string

// The check's states (docs/design.md, The check).
const (
	StatePending State = "pending"
	StateSuccess State = "success"
	StateWarning State = "warning" // Gitea/Forgejo only; success on GitHub and GitLab
	StateFailure State = "failure"
	StateError   State = "error"
)

// CommitStatus is one commit status to set. The zero value sets nothing (SHA is required).
type CommitStatus struct {
	// SHA is the full commit id the status goes on: a PR's head, or the pushed commit.
	SHA string
	// State is the status state.
	State State
	// Context names the status, e.g. "tinyforge/gitops".
	Context string
	// Description is at most MaxDescription characters; providers truncate longer ones.
	Description string
	// TargetURL is the pinned Sync link, or "" for none.
	TargetURL string
}

// CommentRequest asks for the sticky comment of one status context on one pull (merge)
// request. The provider finds the comment by the hidden marker carrying Context (only among
// comments of its own identity), edits it in place, never overwrites one whose marker has a
// higher run id, and makes no write when Body equals the existing body without its marker line.
type CommentRequest struct {
	// Number is the PR number (GitLab: the merge request iid).
	Number int
	// Context is the status context the comment belongs to.
	Context string
	// RunID orders runs and is carried in the marker; 0 when unknown.
	RunID int64
	// Body is the comment without its marker line; it should be deterministic so that an
	// unchanged rerun makes no write.
	Body string
	// UpdateOnly refreshes an existing sticky comment but never creates one: with no comment of
	// ours on the PR, nothing is written and the result is CommentSkipped.
	UpdateOnly bool
}

// CommentAction says what a comment upsert did; "" when none was attempted.
type CommentAction string

// The outcomes of a comment upsert.
const (
	CommentCreated   CommentAction = "created"
	CommentUpdated   CommentAction = "updated"
	CommentUnchanged CommentAction = "unchanged"
	CommentSkipped   CommentAction = "skipped"
)

// CommentResult reports what a comment upsert did. The zero value: nothing was attempted.
type CommentResult struct {
	// Action is created, updated, unchanged or skipped.
	Action CommentAction
	// URL is the comment's web address when there is a comment, else "".
	URL string
	// Reason explains a skip, e.g. "a newer run owns the comment".
	Reason string
}

// IssueRequest asks for the one drift issue of a status context and workload in a repo: open
// (created, reopened or edited) while Open, closed with CloseComment once it is not.
type IssueRequest struct {
	// Context is the status context, e.g. "tinyforge/gitops".
	Context string
	// Workload is the Tinyforge workload's id: one issue per context and workload.
	Workload int64
	// RunID orders runs: an issue whose marker carries a higher run id is never overwritten.
	RunID int64
	// Open says live differs from the file (drift, or an invalid file): the issue must be open.
	Open bool
	// Title is the issue's title while Open.
	Title string
	// Body renders the issue's body (without the marker line) for a drift that began at since
	// (kept from the open issue); it must be deterministic so that an unchanged run makes no
	// write.
	Body func(since time.Time) string
	// CloseComment is posted on the issue when it is closed.
	CloseComment string
	// Labels are put on an issue this run creates (Gitea and Forgejo: labels that exist in the
	// repo; others are reported in the result's Reason).
	Labels []string
	// Now is the clock for since; nil means time.Now.
	Now func() time.Time
}

// IssueAction says what an issue upsert did; "" when none was attempted.
type IssueAction string

// The outcomes of an issue upsert.
const (
	IssueOpened    IssueAction = "opened"
	IssueReopened  IssueAction = "reopened"
	IssueUpdated   IssueAction = "updated"
	IssueUnchanged IssueAction = "unchanged"
	IssueClosed    IssueAction = "closed"
	// IssueNone: live matches and no issue is open; nothing to do.
	IssueNone    IssueAction = "none"
	IssueSkipped IssueAction = "skipped"
)

// IssueResult reports what an issue upsert did. The zero value: nothing was attempted.
type IssueResult struct {
	// Action is opened, reopened, updated, unchanged, closed, none or skipped.
	Action IssueAction
	// Number is the issue's number when there is one, else 0.
	Number int
	// URL is the issue's web address when there is one, else "".
	URL string
	// Since is when the drift the open issue reports began; zero when no issue is open.
	Since time.Time
	// Reason explains a skip or a label that could not be set.
	Reason string
}
