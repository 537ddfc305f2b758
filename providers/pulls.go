package providers

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"

	"github.com/tinyforge/tinyforge-check/forge"

	"github.com/google/go-github/v62/github"
)

// MergedPulls returns the numbers of the pull (merge) requests that commit sha merged, in
// ascending order; none when it merged none (a direct push). It is how a run on the default
// branch finds the PRs whose sticky comment should now say the change is merged. Errors say
// which read failed; a 403 wraps forge.ErrForbidden.
func (r *Repo) MergedPulls(ctx context.Context, sha string) ([]int, error) {
	if sha == "" {
		return nil, nil
	}
	nums, err := r.api.mergedPulls(ctx, r.owner, r.name, sha)
	if errors.Is(err, forge.ErrNotFound) { // a commit the forge does not know merged nothing it can show
		return nil, nil
	}
	slices.Sort(nums)
	return slices.Compact(nums), err
}

// mergedPulls calls GET /repos/{owner}/{repo}/commits/{commit_sha}/pulls (the PRs of a commit:
// the merged one that introduced it, or open ones whose head it is) and keeps the merged ones.
func (g *GitHub) mergedPulls(ctx context.Context, owner, repo, sha string) ([]int, error) {
	// One page: a commit merges one PR, and belongs to few.
	prs, _, err := g.client.PullRequests.ListPullRequestsWithCommit(ctx, owner, repo, sha, &github.ListOptions{PerPage: 100})
	if err != nil {
		return nil, g.err("list the pull requests of the commit", err)
	}
	var out []int
	for _, pr := range prs {
		if pr.MergedAt != nil && pr.GetMergeCommitSHA() == sha {
			out = append(out, pr.GetNumber())
		}
	}
	return out, nil
}

// mergedPulls calls GET /repos/{owner}/{repo}/commits/{sha}/pull (the pull request a commit
// merged; 404 when none did).
func (g *Gitea) mergedPulls(ctx context.Context, owner, repo, sha string) ([]int, error) {
	c, err := g.client(ctx)
	if err != nil {
		return nil, err
	}
	pr, resp, err := c.GetCommitPullRequest(owner, repo, sha)
	if err != nil { // a 404 (merged none) wraps forge.ErrNotFound, which MergedPulls takes for none
		return nil, g.err("read the pull request of the commit", resp, err)
	}
	if pr == nil || !pr.HasMerged {
		return nil, nil
	}
	return []int{int(pr.Index)}, nil
}

// glMergeRequest is what the check reads of a GitLab merge request.
type glMergeRequest struct {
	IID            int    `json:"iid"`
	State          string `json:"state"`
	MergeCommitSHA string `json:"merge_commit_sha"`
}

// mergedPulls calls GET /projects/:id/repository/commits/:sha/merge_requests (the merge
// requests a commit belongs to) and keeps the merged ones.
func (g *GitLab) mergedPulls(ctx context.Context, owner, repo, sha string) ([]int, error) {
	var mrs []glMergeRequest
	_, err := g.do(ctx, "list the merge requests of the commit", http.MethodGet,
		g.project(owner, repo)+"/repository/commits/"+url.PathEscape(sha)+"/merge_requests", nil, &mrs)
	if err != nil { // a 404 wraps forge.ErrNotFound, which MergedPulls takes for none
		return nil, err
	}
	var out []int
	for _, mr := range mrs {
		if mr.State == "merged" {
			out = append(out, mr.IID)
		}
	}
	return out, nil
}
