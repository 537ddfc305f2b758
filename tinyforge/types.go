// Package tinyforge is the Tinyforge API as docs/tinyforge-api.md defines it: the wire types both sides share
// and the Client the action uses. The reference server lives in tinyforge/server.
package tinyforge

import (
	"encoding/json"

	"github.com/tinyforge/tinyforge-check/gitops"
)

// Workload is one Tinyforge workload as GET /api/workloads/{id} returns it. Repo credentials are
// never part of it.
type Workload struct {
	// ID is the workload's numeric id; ids start at 1.
	ID int64 `json:"id"`
	// Name is the workload's unique name.
	Name string `json:"name"`
	// SourceType is "dockerfile", "static" or another word; only the first two can use GitOps.
	SourceType string `json:"source_type"`
	// SourceConfig is the live source_config JSON object.
	SourceConfig json.RawMessage `json:"source_config,omitempty"`
	// Version grows with every change of SourceConfig; the edit form sends it back for
	// optimistic concurrency.
	Version int64 `json:"version"`
	// GitOps is the workload's GitOps settings.
	GitOps GitOpsSettings `json:"gitops"`
	// UIURL is {public URL}/apps/{id}, the panel page.
	UIURL string `json:"ui_url,omitempty"`
	// SetBy maps a file field (e.g. "deploy.port") to the last audited change that set its
	// live value: drift attribution. Optional: absent from older servers, and for fields no
	// audited change set.
	SetBy map[string]SetBy `json:"set_by,omitempty"`
}

// SetBy is the last audited change that set a live value: the domain type itself, whose JSON is
// the API's.
type SetBy = gitops.SetBy

// WorkloadSummary is one row of GET /api/workloads.
type WorkloadSummary struct {
	ID         int64          `json:"id"`
	Name       string         `json:"name"`
	SourceType string         `json:"source_type"`
	GitOps     GitOpsSettings `json:"gitops"`
}

// GitOpsSettings is the "gitops" object of a workload.
type GitOpsSettings struct {
	// Enabled reports whether the workload reads its config from the repo file.
	Enabled bool `json:"enabled"`
	// Path is the file's path in the repo; ".tinyforge.yml" by default.
	Path string `json:"path"`
	// LastSyncAt is the RFC 3339 UTC time of the last accepted Sync, or "" if never.
	LastSyncAt string `json:"last_sync_at"`
	// CommitSHA is the commit the last accepted Sync applied, or "".
	CommitSHA string `json:"commit_sha"`
	// FileSHA is the git blob SHA-1 of the file the last accepted Sync applied, or "".
	FileSHA string `json:"file_sha"`
}

// RepoSettings are a workload's repo coordinates, as POST and PATCH /api/workloads take them.
// AccessToken is write-only: the server never returns it.
type RepoSettings struct {
	// Provider is "github", "gitea" or "gitlab".
	Provider string `json:"provider"`
	// BaseURL is the forge root as a browser sees it; for GitHub the API root.
	BaseURL string `json:"base_url"`
	Owner   string `json:"owner"`
	Repo    string `json:"repo"`
	Branch  string `json:"branch"`
	// AccessToken is the forge token used to read the repo; stored encrypted.
	AccessToken string `json:"access_token,omitempty"`
}

// CreateWorkloadRequest is the body of POST /api/workloads.
type CreateWorkloadRequest struct {
	Name         string          `json:"name"`
	SourceType   string          `json:"source_type"`
	SourceConfig json.RawMessage `json:"source_config,omitempty"`
	Repo         *RepoSettings   `json:"repo,omitempty"`
}

// UpdateWorkloadRequest is the body of PATCH /api/workloads/{id} (the edit form). Version is
// required with SourceConfig and must equal the current version, else 409.
type UpdateWorkloadRequest struct {
	SourceConfig json.RawMessage `json:"source_config,omitempty"`
	Version      *int64          `json:"version,omitempty"`
	Repo         *RepoSettings   `json:"repo,omitempty"`
}

// DriftEntry is one declared field whose repo value differs from live, after normalization:
// the domain type itself, whose JSON is the API's.
type DriftEntry = gitops.DriftEntry

// GitOpsView is GET /api/workloads/{id}/gitops and the answer of PUT.
type GitOpsView struct {
	Enabled bool   `json:"enabled"`
	Path    string `json:"path"`
	// Status is one of disabled, ok, no_file, fetch_failed, invalid.
	Status string `json:"status"`
	// Message explains Status for people; it never contains a token.
	Message string `json:"message"`
	// Raw is the file's text at CommitSHA, or "".
	Raw       string `json:"raw"`
	CommitSHA string `json:"commit_sha"`
	FileSHA   string `json:"file_sha"`
	// Diagnostics lists the file's problems when Status is invalid.
	Diagnostics       []Diagnostic `json:"diagnostics,omitempty"`
	Drift             []DriftEntry `json:"drift"`
	ManagedFields     []string     `json:"managed_fields"`
	LastSyncAt        string       `json:"last_sync_at"`
	LastSyncCommitSHA string       `json:"last_sync_commit_sha"`
	// CheckedAt is the RFC 3339 UTC time the server read CommitSHA from the forge; absent when
	// it did not (an older server, or no head). A view may reuse a head read a little earlier.
	CheckedAt string `json:"checked_at,omitempty"`
	// RateLimitedUntil is set when the forge is rate limiting the repo's token: the server
	// asks it nothing until this RFC 3339 UTC time, and CommitSHA, when set, is the last head
	// known (of CheckedAt).
	RateLimitedUntil string `json:"rate_limited_until,omitempty"`
}

// Diagnostic is one problem in a .tinyforge.yml, as docs/file-format.md shapes it.
type Diagnostic struct {
	Severity string `json:"severity"`
	Line     int    `json:"line"`
	Column   int    `json:"column"`
	Field    string `json:"field"`
	Code     string `json:"code"`
	Message  string `json:"message"`
}

// SetGitOpsRequest is the body of PUT /api/workloads/{id}/gitops.
type SetGitOpsRequest struct {
	Enabled bool   `json:"enabled"`
	Path    string `json:"path"`
}

// SyncRequest is the body of POST /api/workloads/{id}/gitops/sync. A non-empty CommitSHA or
// FileSHA pins the Sync to what was reviewed: the server answers 409 when the fetched file differs.
type SyncRequest struct {
	CommitSHA string `json:"commit_sha,omitempty"`
	FileSHA   string `json:"file_sha,omitempty"`
}

// Change is one field a Sync applied: the domain type itself, whose JSON is the API's.
type Change = gitops.Change

// SyncResult is the answer of a successful Sync.
type SyncResult struct {
	Applied    []Change `json:"applied"`
	CommitSHA  string   `json:"commit_sha"`
	FileSHA    string   `json:"file_sha"`
	LastSyncAt string   `json:"last_sync_at"`
}

// Event is one audit row of GET /api/workloads/{id}/events.
type Event struct {
	ID         int64    `json:"id"`
	At         string   `json:"at"`
	Actor      string   `json:"actor"`
	WorkloadID int64    `json:"workload_id"`
	Action     string   `json:"action"`
	CommitSHA  string   `json:"commit_sha"`
	FileSHA    string   `json:"file_sha"`
	Changes    []Change `json:"changes"`
	// Outcome is "applied" or "refused: <reason>".
	Outcome string `json:"outcome"`
	// Role is the role of the token that made the change ("admin" or "viewer"); "" on rows
	// written before the server recorded it.
	Role string `json:"role,omitempty"`
	// Via is the way in: "api" (the JSON API) or "panel" (the web panel); "" on rows written
	// before the server recorded it. A Sync's row has Action "sync" and the commit it applied.
	Via string `json:"via,omitempty"`
}

// ErrorBody is every error answer: {"error": "..."}.
type ErrorBody struct {
	Error string `json:"error"`
}
