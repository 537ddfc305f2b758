package providers

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/tinyforge/tinyforge-check/forge"
	"github.com/tinyforge/tinyforge-check/gitops"
)

// repoAPI is what Repo needs from a forge; *GitHub, *Gitea and *GitLab implement it.
type repoAPI interface {
	// setStatus gets st with the description already cut to forge.MaxDescription characters.
	setStatus(ctx context.Context, owner, repo string, st forge.CommitStatus) error
	commentsOf(owner, repo string, number int) commentStore
	issuesOf(owner, repo string) issueStore
	DownloadFile(ctx context.Context, owner, repo, ref, path string, maxBytes int64) ([]byte, error)
	mergedPulls(ctx context.Context, owner, repo, sha string) ([]int, error)
}

// Repo is a provider bound to one repository (GitLab: one project): the commit status, the
// sticky PR comment, the drift issue and the file at a ref of that repository. It offers what
// the checker consumes (checker.FileReader, StatusSetter, CommentUpserter, CommentPrefetcher,
// IssueUpserter, IssuePrefetcher). Get one from GitHub.Repo, Gitea.Repo or GitLab.Repo; it is
// safe for concurrent use.
type Repo struct {
	api         repoAPI
	owner, name string
	settle      settle // how a writing upsert waits before its verify re-read (Options.VerifyDelay)

	comments atomic.Pointer[readRound[comment]] // started by PrefetchComments, used by the next UpsertComment
	issues   atomic.Pointer[readRound[issue]]   // started by PrefetchIssues, used by the next UpsertIssue
}

// Repo binds the provider to owner/repo.
func (g *GitHub) Repo(owner, repo string) *Repo { return newRepo(g, owner, repo, g.opts) }

// Repo binds the provider to owner/repo.
func (g *Gitea) Repo(owner, repo string) *Repo { return newRepo(g, owner, repo, g.opts) }

// Repo binds the provider to a project: owner is its group path (with subgroups), repo its
// name.
func (g *GitLab) Repo(owner, repo string) *Repo { return newRepo(g, owner, repo, g.opts) }

func newRepo(api repoAPI, owner, repo string, o Options) *Repo {
	return &Repo{api: api, owner: owner, name: repo, settle: newSettle(o.VerifyDelay)}
}

// ReadFile returns the file at path on ref, at most gitops.MaxFileSize bytes. Errors wrap
// forge.ErrFileNotFound, forge.ErrFileTooLarge or, for a token that may not read the repo,
// forge.ErrForbidden.
func (r *Repo) ReadFile(ctx context.Context, ref, path string) ([]byte, error) {
	return r.api.DownloadFile(ctx, r.owner, r.name, ref, path, gitops.MaxFileSize)
}

// SetStatus sets a commit status; the description is truncated to forge.MaxDescription
// characters. A 403 (a fork PR's token) wraps forge.ErrForbidden.
func (r *Repo) SetStatus(ctx context.Context, st forge.CommitStatus) error {
	st.Description = gitops.Truncate(st.Description, forge.MaxDescription)
	return r.api.setStatus(ctx, r.owner, r.name, st)
}

// unknownState is the error of every forge's state mapping for a state the check does not
// define.
func unknownState(s forge.State) error {
	return fmt.Errorf("unknown commit status state %q: use pending, success, warning, failure or error", s)
}

// PrefetchComments starts, without waiting, the reads UpsertComment begins with (the token's
// identity and every comment of PR number; expected, the event payload's comment count, lets
// the pages be requested at once). The next UpsertComment of the same PR uses them.
func (r *Repo) PrefetchComments(ctx context.Context, number, expected int) {
	r.comments.Store(startReads(ctx, r.api.commentsOf(r.owner, r.name, number), number, expected))
}

// UpsertComment keeps the one sticky comment of req.Context on PR req.Number current (see
// forge.CommentRequest). After a write it waits a few of its own round trips (at least
// Options.VerifyDelay) and re-reads, until the list shows its writes, to converge with racing
// runs. A 403 wraps forge.ErrForbidden.
func (r *Repo) UpsertComment(ctx context.Context, req forge.CommentRequest) (forge.CommentResult, error) {
	pre := r.comments.Swap(nil) // a prefetch serves one upsert: later ones read afresh
	return upsert(ctx, r.api.commentsOf(r.owner, r.name, req.Number), req, pre, r.settle)
}

// PrefetchIssues starts, without waiting, the reads UpsertIssue begins with (the token's
// identity, then its issues in the repo); the next UpsertIssue uses them.
func (r *Repo) PrefetchIssues(ctx context.Context) {
	r.issues.Store(startIssueReads(ctx, r.api.issuesOf(r.owner, r.name)))
}

// UpsertIssue keeps the one drift issue of req.Context and req.Workload current (see
// forge.IssueRequest). A 403 wraps forge.ErrForbidden.
func (r *Repo) UpsertIssue(ctx context.Context, req forge.IssueRequest) (forge.IssueResult, error) {
	pre := r.issues.Swap(nil)
	return upsertIssue(ctx, r.api.issuesOf(r.owner, r.name), req, pre, r.settle)
}
