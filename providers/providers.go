// Package providers talks to the forges a check reports to: GitHub and GitHub
// Enterprise (go-github), Gitea and Forgejo (the Gitea SDK) and GitLab (its REST
// API). Each forge has one concrete type (GitHub, Gitea, GitLab) that downloads a
// file at a ref and resolves a branch head, and binds to one repository with Repo:
// a *Repo sets a commit status, upserts the sticky PR comment and the drift issue,
// and reads the file, in the words of package forge. The package also builds the
// HTTP client all of them (and the Tinyforge client) share, and the SSRF-safe
// dialer the server fetches repository files with.
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

	"github.com/tinyforge/tinyforge-check/forge"
	"github.com/tinyforge/tinyforge-check/internal/secret"
)

// DefaultMaxFileBytes is the download cap, in bytes, DownloadFile applies when
// it is given a cap of zero or less (64 KiB, the size limit of docs/file-format.md).
const DefaultMaxFileBytes = 64 << 10

// Sentinel errors of the providers alone; test with errors.Is. The ones the checker tests too
// (file not found, file too large, forbidden, not found) are package forge's.
var (
	// ErrUnauthorized: the forge does not accept the token (401): a
	// configuration error, not a fork PR.
	ErrUnauthorized = errors.New("unauthorized")
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
	// identity is github-actions[bot]; /user is not called), Gitea's or
	// Forgejo's job token (gitea-actions or forgejo-actions, whichever GET
	// /api/forgejo/v1/version tells: Forgejo answers it, Gitea 404s; /user is
	// not called) or GitLab's CI_JOB_TOKEN (sent as JOB-TOKEN).
	JobToken bool
	// Login, when set, is the identity whose comments UpsertComment may edit,
	// skipping the /user lookup. A token GET /user answers 403 (a GitHub App
	// installation token other than the job token) needs it: without it the
	// comment and issue upserts fail with forge.ErrIdentityUnknown.
	Login string
	// LoginHint is the identity Token probably has (a job token's user, e.g. gitea-actions)
	// when it cannot be known for sure: the drift issue's list, which is filtered by author,
	// goes out with the /user lookup instead of after it, and is read again only when the
	// lookup answers another login. Ignored with Login.
	LoginHint string
	// VerifyDelay is the least time UpsertComment and UpsertIssue wait after a write before
	// they re-read to converge with racing runs (forges offer no conditional writes). Zero
	// waits 3 times the longest request the upsert measured since its first write (at most
	// 2 s), nothing more; positive raises that wait to at least VerifyDelay (a forge whose
	// read replicas lag); negative disables it. Whatever it is, the re-read is repeated until
	// it shows the run's own writes (for at most 1 s, or twice a positive VerifyDelay).
	VerifyDelay time.Duration
}

// loginHint is LoginHint, or "" when Login makes a hint needless.
func (o Options) loginHint() string {
	if o.Login != "" {
		return ""
	}
	return o.LoginHint
}

// githubActionsBot is the identity GitHub's job token writes as.
const githubActionsBot = "github-actions[bot]"

// GiteaActionsLogin and ForgejoActionsLogin are the identities Gitea's and Forgejo's job tokens
// write as (Gitea: user id -2, what GET /api/v1/user answers a job token, recorded from Gitea
// 1.26's runner; Forgejo renamed that user forgejo-actions). Pass one as Options.Login when the
// runner says which server it serves (FORGEJO_ACTIONS), else Options.JobToken, which asks.
const (
	GiteaActionsLogin   = "gitea-actions"
	ForgejoActionsLogin = "forgejo-actions"
)

// APIError is a non-2xx answer of a forge. It unwraps to ErrUnauthorized,
// forge.ErrForbidden, forge.ErrNotFound or nothing, so callers can use errors.Is.
type APIError struct {
	Op          string // what we were doing, e.g. "create commit status"
	StatusCode  int
	Message     string // the forge's message, capped, tokens redacted
	RateLimited bool   // refused by a rate limit (still, after retries)
	// RetryAfter is how long the forge asked a rate-limited client to wait (Retry-After, or
	// until X-RateLimit-Reset); 0 when it did not say.
	RetryAfter time.Duration
}

// Backoff is RetryAfter: how long to wait before asking again after a rate limit, 0 when the
// forge did not say.
func (e *APIError) Backoff() time.Duration { return e.RetryAfter }

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
		return forge.ErrRateLimited
	}
	switch e.StatusCode {
	case http.StatusUnauthorized:
		return ErrUnauthorized
	case http.StatusForbidden:
		return forge.ErrForbidden
	case http.StatusNotFound:
		return forge.ErrNotFound
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

// readDownload reads the answer of a download of path at ref with readCapped.
func readDownload(r io.Reader, path, ref string, max int64) ([]byte, error) {
	b, err := readCapped(r, max)
	if err != nil {
		return nil, downloadErr(path, ref, err)
	}
	return b, nil
}

// downloadErr says which file, at which ref, a download failed on.
func downloadErr(path, ref string, err error) error {
	return fmt.Errorf("download %s at %s: %w", path, ref, err)
}

// fileNotFound is the error of a download the forge answered 404.
func fileNotFound(path, ref string) error {
	return fmt.Errorf("download %s at %s: %w: check the path and the ref", path, ref, forge.ErrFileNotFound)
}

// readCapped reads at most max bytes from r, failing with forge.ErrFileTooLarge
// when there is more.
func readCapped(r io.Reader, max int64) ([]byte, error) {
	if max <= 0 {
		max = DefaultMaxFileBytes
	}
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		if errors.Is(err, ErrResponseTooLarge) {
			return nil, fmt.Errorf("%w: larger than the client's response cap", forge.ErrFileTooLarge)
		}
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%w: over %d bytes: keep the file under the limit", forge.ErrFileTooLarge, max)
	}
	return b, nil
}
