// Package providers talks to the forges a check reports to: GitHub and GitHub
// Enterprise (go-github), Gitea and Forgejo (the Gitea SDK) and GitLab (its REST
// API). Each forge has one concrete type offering the same four operations: set
// a commit status, upsert the sticky PR comment, download a file at a ref and
// resolve a branch head. The package also builds the HTTP client all of them
// (and the Tinyforge client) share, and the SSRF-safe dialer the server fetches
// repository files with.
//
// Consumers declare the small interfaces they need themselves (docs/design.md, Layout); this
// package only exports concrete types.
package providers

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/tinyforge/tinyforge-check/internal/secret"
)

// State is the check's own commit-status state. Each provider maps it onto its
// forge's vocabulary (see docs/forges.md). The zero value is invalid.
type State string

// The check's states (docs/design.md, The check).
const (
	StatePending State = "pending"
	StateSuccess State = "success"
	StateWarning State = "warning" // Gitea/Forgejo only; success on GitHub and GitLab
	StateFailure State = "failure"
	StateError   State = "error"
)

// MaxDescription is the longest commit-status description, in characters,
// every supported forge accepts (GitHub answers 422 above it). Longer
// descriptions are truncated with an ellipsis rather than rejected.
const MaxDescription = 140

// MaxCommentBody is the longest comment body, in characters (runes) including
// the marker line, GitHub accepts (65,536); longer bodies are refused before
// any request is made.
const MaxCommentBody = 65536

// DefaultMaxFileBytes is the download cap, in bytes, DownloadFile applies when
// it is given a cap of zero or less (64 KiB, the size limit of docs/file-format.md).
const DefaultMaxFileBytes = 64 << 10

// CommitStatus is one commit status to set. SHA is the full commit id; Context
// names the status (e.g. "tinyforge/gitops"); Description is truncated to
// MaxDescription characters; TargetURL may be empty.
type CommitStatus struct {
	SHA         string
	State       State
	Context     string
	Description string
	TargetURL   string
}

// CommentRequest asks for the sticky comment of one status context on one pull
// (merge) request. Number is the PR number (GitLab: the MR iid). RunID orders
// runs: a comment whose marker carries a higher run id is never overwritten.
// Body is the comment without the marker line; it should be deterministic so an
// unchanged rerun makes no write.
type CommentRequest struct {
	Number  int
	Context string
	RunID   int64
	Body    string
	// UpdateOnly refreshes an existing sticky comment but never creates one: with no comment
	// of ours on the PR, UpsertComment writes nothing and reports skipped.
	UpdateOnly bool
	// Prefetch, when it is the same provider's PrefetchComments of the same PR, holds the
	// reads the upsert would otherwise start with; nil reads them now.
	Prefetch *CommentPrefetch
}

// CommentAction says what UpsertComment did.
type CommentAction string

// The outcomes of UpsertComment.
const (
	CommentCreated   CommentAction = "created"
	CommentUpdated   CommentAction = "updated"
	CommentUnchanged CommentAction = "unchanged"
	CommentSkipped   CommentAction = "skipped"
)

// CommentResult reports what UpsertComment did. URL is the comment's web
// address when one exists; Reason explains a skip.
type CommentResult struct {
	Action CommentAction
	URL    string
	Reason string
}

// Sentinel errors; test with errors.Is.
var (
	// ErrFileNotFound: the file (or the ref) does not exist.
	ErrFileNotFound = errors.New("file not found")
	// ErrFileTooLarge: the file is larger than the download cap.
	ErrFileTooLarge = errors.New("file too large")
	// ErrForbidden: the token may not do this (403 that is not a rate
	// limit), typically the read-only token of a fork PR: report a notice.
	ErrForbidden = errors.New("forbidden")
	// ErrUnauthorized: the forge does not accept the token (401): a
	// configuration error, not a fork PR.
	ErrUnauthorized = errors.New("unauthorized")
	// ErrNotFound: the repository, PR, branch or commit does not exist (or the
	// token cannot see it).
	ErrNotFound = errors.New("not found")
	// ErrRetryAfterTooLong: the forge asked to wait longer than the
	// configured cap; the request was not retried.
	ErrRetryAfterTooLong = errors.New("forge asked to retry later than the retry cap")
	// ErrResponseTooLarge: a response body exceeded HTTPConfig.MaxBodyBytes.
	ErrResponseTooLarge = errors.New("response body too large")
)

// Options configure a provider. The zero value is not usable: BaseURL is
// required.
type Options struct {
	// BaseURL is the forge's API root for GitHub ("https://api.github.com" or
	// "https://ghe.example.com/api/v3") and the forge's web root for Gitea,
	// Forgejo and GitLab ("https://gitea.example.com", no "/api/v1").
	BaseURL string
	// Token authenticates every request to BaseURL's origin (and only there).
	Token string
	// HTTPClient is the shared client from NewHTTPClient; nil builds one with
	// NewHTTPClient(HTTPConfig{}). The provider never mutates it.
	HTTPClient *http.Client
	// JobToken says Token is a CI job token: GitHub's GITHUB_TOKEN (whose
	// identity is github-actions[bot]; /user is not called) or GitLab's
	// CI_JOB_TOKEN (sent as JOB-TOKEN).
	JobToken bool
	// Login, when set, is the identity whose comments UpsertComment may edit,
	// skipping the /user lookup.
	Login string
	// VerifyDelay is how long UpsertComment waits after a write before it
	// re-reads the comments to converge with racing runs (forges offer no
	// conditional writes). Zero means 2s; negative disables the waiting (the
	// re-read still happens).
	VerifyDelay time.Duration
}

func (o Options) verifyDelay() time.Duration {
	switch {
	case o.VerifyDelay == 0:
		return 2 * time.Second
	case o.VerifyDelay < 0:
		return 0
	}
	return o.VerifyDelay
}

// githubActionsBot is the identity GitHub's job token writes as.
const githubActionsBot = "github-actions[bot]"

// APIError is a non-2xx answer of a forge. It unwraps to ErrUnauthorized,
// ErrForbidden, ErrNotFound or nothing, so callers can use errors.Is.
type APIError struct {
	Op          string // what we were doing, e.g. "create commit status"
	StatusCode  int
	Message     string // the forge's message, capped, tokens redacted
	RateLimited bool   // refused by a rate limit (still, after retries)
}

func (e *APIError) Error() string {
	hint := ""
	switch {
	case e.RateLimited:
		hint = ": rate limited; try again later"
	case e.StatusCode == http.StatusUnauthorized:
		hint = ": check that the token is valid"
	case e.StatusCode == http.StatusForbidden:
		hint = ": the token lacks permission (fork PRs get a read-only token)"
	case e.StatusCode == http.StatusNotFound:
		hint = ": check owner, repository, number and that the token can see them"
	case e.StatusCode == http.StatusUnprocessableEntity:
		hint = ": the forge rejected the content"
	case e.StatusCode >= 500:
		hint = ": the forge failed; try again later"
	}
	if e.Message != "" {
		return fmt.Sprintf("%s: HTTP %d: %s%s", e.Op, e.StatusCode, e.Message, hint)
	}
	return fmt.Sprintf("%s: HTTP %d%s", e.Op, e.StatusCode, hint)
}

// Unwrap maps the status onto the package's sentinels.
func (e *APIError) Unwrap() error {
	if e.RateLimited {
		return nil
	}
	switch e.StatusCode {
	case http.StatusUnauthorized:
		return ErrUnauthorized
	case http.StatusForbidden:
		return ErrForbidden
	case http.StatusNotFound:
		return ErrNotFound
	}
	return nil
}

// newAPIError builds an APIError with a short, token-free message.
func newAPIError(op string, status int, msg, token string) *APIError {
	msg = strings.TrimSpace(secret.Redact(msg, token))
	if r := []rune(msg); len(r) > 200 {
		msg = string(r[:200]) + "…"
	}
	return &APIError{Op: op, StatusCode: status, Message: msg}
}

// ambiguous reports whether a failed write may nevertheless have been stored:
// a 5xx answer or no answer at all (timeout, reset).
func ambiguous(err error) bool {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.StatusCode >= 500
	}
	return !errors.Is(err, ErrRetryAfterTooLong)
}

// opError wraps a failure with what we were doing, and redacts the token from
// the message whatever the underlying error says.
type opError struct {
	op     string
	err    error
	secret string
}

func (e *opError) Error() string { return secret.Redact(e.op+": "+e.err.Error(), e.secret) }
func (e *opError) Unwrap() error { return e.err }

// wrapOp wraps err (nil stays nil) as an opError unless it already is an
// APIError of the same operation.
func wrapOp(op string, err error, secret string) error {
	if err == nil {
		return nil
	}
	return &opError{op: op, err: err, secret: secret}
}

// readCapped reads at most max bytes from r, failing with ErrFileTooLarge
// when there is more.
func readCapped(r io.Reader, max int64) ([]byte, error) {
	if max <= 0 {
		max = DefaultMaxFileBytes
	}
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		if errors.Is(err, ErrResponseTooLarge) {
			return nil, fmt.Errorf("%w: larger than the client's response cap", ErrFileTooLarge)
		}
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%w: over %d bytes: keep the file under the limit", ErrFileTooLarge, max)
	}
	return b, nil
}
