// Package panel is the Tinyforge web panel of docs/tinyforge-api.md: server-rendered pages for the workload
// list (with each workload's GitOps state: in sync, drift, invalid, no file, fetch failed or
// disabled), the workload page with its GitOps panel (#gitops: status pill, field-level drift view,
// .tinyforge.yml preview, enable toggle and a confirmed, pinned Sync) and the edit form with a
// read-only banner over the fields the file manages.
//
// People sign in with an API token, which is exchanged for a session cookie (HttpOnly,
// SameSite=Lax, Secure over TLS, 8 hours of inactivity). Every state-changing form carries a
// CSRF token, and every action checks the role on the server: the page only hides what the
// server refuses anyway. Every string is in English and Russian, with real plural forms
// (golang.org/x/text).
//
// The package owns the small Backend interface it consumes; the reference server adapts its
// store and API logic to it. Templates and assets are embedded: there is no front-end build step.
package panel

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/tinyforge/tinyforge-check/gitops"
	"github.com/tinyforge/tinyforge-check/tinyforge"
)

// Roles a Principal can have; they match the API token roles.
const (
	// RoleViewer sees workloads and GitOps views, without any button that changes something.
	RoleViewer = "viewer"
	// RoleAdmin may also enable GitOps, change its path, Sync and save the edit form.
	RoleAdmin = "admin"
)

// Principal is who a session acts for: the API token it was opened with.
type Principal struct {
	// Name is the token's name, shown in the header.
	Name string
	// Role is RoleViewer or RoleAdmin.
	Role string
	// WorkloadID limits the principal to one workload; 0 means all workloads.
	WorkloadID int64
	// Credential is what the Backend needs to act for the principal (for the reference server,
	// the API token itself). The panel keeps it in server memory only: it is never rendered,
	// logged or put in a cookie, and it is redacted from any message the Backend returns.
	Credential string
}

// IsAdmin reports whether the principal may change things.
func (p Principal) IsAdmin() bool { return p.Role == RoleAdmin }

// View is the GitOps view the panel renders: the API's view plus every declared field compared
// with live, including the normalization that made two different values equal.
type View struct {
	tinyforge.GitOpsView
	// Comparisons lists each declared field, equal or not, in schema order; nil when the
	// file could not be parsed.
	Comparisons []gitops.Comparison
	// Branch is the workload's branch, the one a Sync applies; set by Backend.GitOpsAt, ""
	// from GitOps.
	Branch string
}

// Backend is what the panel needs from Tinyforge. Every method but Authenticate acts for a
// principal and must enforce its role and workload limit itself; the panel checks them too.
//
// Errors are matched with errors.Is against tinyforge.ErrUnauthorized (the session ends),
// ErrForbidden, ErrNotFound, ErrConflict (409: stale version, status not ok, or a pinned
// commit/file that no longer matches) and ErrInvalid (400/422). A *tinyforge.APIError's Message
// is shown to the user, so it must never hold a secret.
type Backend interface {
	// Authenticate returns the principal of an API token, or an error wrapping
	// tinyforge.ErrUnauthorized when the token is unknown or revoked.
	Authenticate(ctx context.Context, token string) (Principal, error)
	// ListWorkloads returns the workloads the principal may see.
	ListWorkloads(ctx context.Context, p Principal) ([]tinyforge.WorkloadSummary, error)
	// Workload returns workload id with its live source_config and version.
	Workload(ctx context.Context, p Principal, id int64) (*tinyforge.Workload, error)
	// GitOps fetches the workload's file at its branch head and compares it with live.
	GitOps(ctx context.Context, p Principal, id int64) (*View, error)
	// GitOpsAt is GitOps at commit (a full SHA: the head of the pull request a link names)
	// instead of the branch head, with Branch set: what a Sync would change once that file is
	// on the branch.
	GitOpsAt(ctx context.Context, p Principal, id int64, commit string) (*View, error)
	// ListGitOps is GitOps for the workload list: it may reuse a branch head read a little
	// earlier (View.CheckedAt says when) and is called for every GitOps-enabled workload on
	// each list load, several at once under the list's budget; it must honour ctx.
	ListGitOps(ctx context.Context, p Principal, id int64) (*View, error)
	// SetGitOps enables or disables GitOps and sets the file path (admin).
	SetGitOps(ctx context.Context, p Principal, id int64, req tinyforge.SetGitOpsRequest) error
	// Sync applies the file, pinned to the given commit and file fingerprint (admin).
	Sync(ctx context.Context, p Principal, id int64, req tinyforge.SyncRequest) (*tinyforge.SyncResult, error)
	// UpdateSourceConfig saves the edit form: the whole source_config, read at version (admin).
	UpdateSourceConfig(ctx context.Context, p Principal, id int64, cfg json.RawMessage, version int64) error
}

// Defaults of Config.
const (
	// DefaultSessionIdle is how long a session lives without a request.
	DefaultSessionIdle = 8 * time.Hour
	// DefaultMaxFailedSignIns is how many failed sign-ins one client IP may make per window.
	DefaultMaxFailedSignIns = 5
	// DefaultFailedSignInWindow is the window of DefaultMaxFailedSignIns.
	DefaultFailedSignInWindow = 10 * time.Minute
	// maxFormBytes caps every form body.
	maxFormBytes = 64 << 10
	// maxSessionsPerToken caps the sessions one token may hold (a person's browsers); a new one
	// beyond it ends that token's own longest-idle session, never someone else's.
	maxSessionsPerToken = 20
	// maxSessions caps the in-memory session store. Reaching it takes maxSessions /
	// maxSessionsPerToken distinct valid tokens; then the longest-idle session is dropped.
	maxSessions = 10000
	// maxFailKeys caps the failed-sign-in table; the key with the oldest last failure is
	// dropped first.
	maxFailKeys = 10000
)

// Config is what New needs. Only Backend is required.
type Config struct {
	// Backend serves the data and performs the actions.
	Backend Backend
	// Secure marks cookies Secure (and names the session cookie with the __Host- prefix).
	// Set it when the panel is served over TLS, directly or behind a TLS-terminating proxy.
	Secure bool
	// Now is the clock for session expiry and sign-in limits; nil means time.Now.
	Now func() time.Time
	// Logger receives backend failures; nil discards them. Secrets never reach it.
	Logger *slog.Logger
	// SessionIdle ends a session after this long without a request; 0 means DefaultSessionIdle.
	SessionIdle time.Duration
	// MaxFailedSignIns per client IP and FailedSignInWindow limit token guessing; 0 means the
	// defaults (5 per 10 minutes). The client IP is the connection's remote address.
	MaxFailedSignIns   int
	FailedSignInWindow time.Duration
	// ListTimeout bounds the workload list's GitOps views (its status column): a view not
	// there in time shows "fetch failed" for its row. 0 means DefaultListTimeout.
	ListTimeout time.Duration
}
