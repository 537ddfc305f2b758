package checker

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/tinyforge/tinyforge-check/forge"
	"github.com/tinyforge/tinyforge-check/gitops"
	"github.com/tinyforge/tinyforge-check/internal/secret"
)

// MergedPullFinder is what a CommentUpserter may also offer: the numbers of the pull (merge)
// requests that commit sha merged, none for a direct push. A push run uses it to tell each
// merged PR's readers, in its sticky comment, that the change is on the branch now and waits for
// a Sync.
type MergedPullFinder interface {
	MergedPulls(ctx context.Context, sha string) ([]int, error)
}

// MergedPR is what a push run did about one pull request its commit merged.
type MergedPR struct {
	// Number is the PR number (GitLab: the merge request iid).
	Number int
	// Comment is what updating its sticky comment did.
	Comment forge.CommentResult
}

// mergedRead is the lookup of the PRs a push merged, started in the first read round; nil when
// the run does not look (not a push, no comments, comment: never).
type mergedRead struct {
	done chan struct{}
	nums []int
	err  error
}

// startMerged starts looking up, without waiting, the PRs the pushed commit merged.
func (c *Checker) startMerged(ctx context.Context, in Inputs) *mergedRead {
	f, ok := c.Comments.(MergedPullFinder)
	if !ok || in.Event.Name != EventPush || in.Event.PR != nil || in.Event.CommitSHA == "" || in.Comment == CommentNever {
		return nil
	}
	m := &mergedRead{done: make(chan struct{})}
	go func() {
		defer close(m.done)
		m.nums, m.err = f.MergedPulls(ctx, in.Event.CommitSHA)
	}()
	return m
}

// mergedResult is what updateMerged did: the comments written, and why it wrote none or some
// failed.
type mergedResult struct {
	prs []MergedPR
	// lookupErr is the error of finding the merged PRs.
	lookupErr error
	// failed are the PRs whose comment could not be written, with the errors in errs.
	failed []int
	errs   []error
}

// updateMerged rewrites the sticky comment of every PR the pushed commit merged (only where the
// check already wrote one: UpdateOnly) to say it is merged, and whether it waits for a Sync, with
// the link pinned to the merged commit. A run that could not finish (verdict error) leaves the
// comments as they are, like a PR run does. It only reads r: publish records the result.
func (c *Checker) updateMerged(ctx context.Context, in Inputs, r *Report, m *mergedRead) mergedResult {
	select {
	case <-m.done:
	case <-ctx.Done():
		return mergedResult{lookupErr: ctx.Err()}
	}
	if m.err != nil || len(m.nums) == 0 || r.Verdict == VerdictError {
		return mergedResult{lookupErr: m.err}
	}
	body := secret.Redact(RenderMergedComment(r), in.Secrets...)
	prs := make([]MergedPR, len(m.nums))
	errs := make([]error, len(m.nums))
	var wg sync.WaitGroup
	for i, n := range m.nums {
		wg.Go(func() {
			prs[i].Number = n
			prs[i].Comment, errs[i] = c.Comments.UpsertComment(ctx, forge.CommentRequest{Number: n, Context: in.StatusContext,
				RunID: in.RunID, Body: body, UpdateOnly: true})
		})
	}
	wg.Wait()
	var res mergedResult
	for i, pr := range prs {
		if errs[i] != nil {
			res.failed, res.errs = append(res.failed, pr.Number), append(res.errs, errs[i])
			continue
		}
		res.prs = append(res.prs, pr)
	}
	return res
}

// mergedUpdated records how updating the merged PRs' comments went.
func (r *Report) mergedUpdated(res mergedResult) {
	if res.lookupErr != nil {
		r.notice(LevelWarning, "could not find the pull requests commit %s merged, so their comments still say they are not merged: %v",
			gitops.ShortSHA(r.Event.CommitSHA), res.lookupErr)
	}
	r.Merged = res.prs
	for i, n := range res.failed {
		r.writeFailed(fmt.Sprintf("update the comment of merged PR #%d", n), readOnly, res.errs[i])
	}
}

// MergedTitle is the first line of a merged PR's comment: which commit merged it and what is
// left to do, by the push run's verdict.
func MergedTitle(r *Report) string {
	sha := gitops.ShortSHA(r.Event.CommitSHA)
	switch r.Verdict {
	case VerdictDrift:
		return fmt.Sprintf("Merged in %s — ready to Sync", sha)
	case VerdictInSync:
		return fmt.Sprintf("Merged in %s — live matches it: nothing to Sync", sha)
	}
	return fmt.Sprintf("Merged in %s", sha)
}

// RenderMergedComment renders the sticky comment of a PR the pushed commit merged: the merged
// title, what a Sync does now, then the push run's report (RenderComment), whose link is pinned
// to the merged commit.
func RenderMergedComment(r *Report) string {
	var b strings.Builder
	fmt.Fprintf(&b, "### 🔀 %s\n\n", MergedTitle(r))
	switch r.Verdict {
	case VerdictDrift:
		b.WriteString("This PR's file is on the branch now. Nothing is applied until an admin presses **Sync** in Tinyforge; the link below opens the workload pinned to the merged commit.\n\n")
	case VerdictInSync:
		b.WriteString("This PR's file is on the branch now, and the live config already matches it.\n\n")
	default:
		b.WriteString("This PR's file is on the branch now; the check of the merged commit says:\n\n")
	}
	b.WriteString(strings.Replace(RenderComment(r), "### ", "#### ", 1))
	return capLines(b.String(), MaxRenderedComment)
}
