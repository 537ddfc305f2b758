// Package gitops is the domain of tinyforge-check: the .tinyforge.yml file (Spec, ParseSpec and
// its positioned diagnostics), the source-aware rules, the patch a Sync applies (BuildPlan), the
// merge that never loses a live key (MergeAndValidate), drift with its normalization rules (Drift,
// Compare), the file fingerprint (FileSHA) and the fetch statuses Tinyforge reports.
//
// The package is pure: no network, no environment, no clock. The action, the CLI and the
// reference server all run this same code, so a file that lints clean here is one the server
// accepts. docs/file-format.md is its contract.
package gitops

// MaxFileSize is the largest .tinyforge.yml accepted, in bytes. Larger files are rejected
// before parsing.
const MaxFileSize = 64 << 10

// DefaultPath is the file's path in the repo when neither the user nor Tinyforge names another.
const DefaultPath = ".tinyforge.yml"

// FetchStatus is the outcome of Tinyforge's fetch of the file, as the GitOps view reports it.
type FetchStatus string

// The fetch statuses of docs/tinyforge-api.md.
const (
	// StatusDisabled: GitOps is not enabled for the workload; nothing was fetched.
	StatusDisabled FetchStatus = "disabled"
	// StatusOK: the file was fetched and is valid.
	StatusOK FetchStatus = "ok"
	// StatusNoFile: the forge answered that the file does not exist at the fetched commit.
	StatusNoFile FetchStatus = "no_file"
	// StatusFetchFailed: the forge could not be reached, timed out, or answered with an error.
	StatusFetchFailed FetchStatus = "fetch_failed"
	// StatusInvalid: the file was fetched but breaks a rule of docs/file-format.md.
	StatusInvalid FetchStatus = "invalid"
)

// The source types that can use GitOps. Any other word is a valid Tinyforge source type that
// cannot.
const (
	SourceDockerfile = "dockerfile"
	SourceStatic     = "static"
)

// SupportsGitOps reports whether a workload of this source type can read its config from the
// file: only dockerfile and static workloads can.
func SupportsGitOps(sourceType string) bool {
	return sourceType == SourceDockerfile || sourceType == SourceStatic
}
