package forgefake

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// pull is one pull (merge) request: a head branch proposed for a base branch, open until
// MergePull merges it.
type pull struct {
	number     int
	head, base string // branch names
	headSHA    string // the head branch's head when opened or last merged
	merged     bool
	mergeSHA   string // the merge commit on base, once merged
}

// OpenPull opens pull request number from branch head into branch base of owner/name (creating
// the repository when needed). Its head commit is head's current head; comments on number are
// the PR's (the fakes take a number that is no issue for a PR).
func (c *core) OpenPull(owner, name string, number int, head, base string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.repo(owner, name, true)
	if r.pulls == nil {
		r.pulls = map[int]*pull{}
	}
	r.pulls[number] = &pull{number: number, head: head, base: base, headSHA: r.branches[head]}
}

// MergePull merges open pull request number with a merge commit on its base branch, whose
// files are the base's with the head branch's laid over them, moves the base branch to it and
// returns its SHA. It fails when there is no such open pull request.
func (c *core) MergePull(owner, name string, number int) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.repo(owner, name, false)
	if r == nil || r.pulls[number] == nil || r.pulls[number].merged {
		return "", fmt.Errorf("forgefake: %s/%s has no open pull request %d", owner, name, number)
	}
	p := r.pulls[number]
	p.headSHA = r.branches[p.head]
	files := map[string][]byte{}
	for path, b := range r.commits[r.branches[p.base]] {
		files[path] = b
	}
	for path, b := range r.commits[p.headSHA] {
		files[path] = b
	}
	c.nextID++
	h := sha1.Sum([]byte(fmt.Sprintf("%s/%s!%d#%d", owner, name, number, c.nextID)))
	sha := hex.EncodeToString(h[:])
	r.commits[sha] = files
	r.branches[p.base] = sha
	p.merged, p.mergeSHA = true, sha
	return sha, nil
}

// pullsOf returns the pull requests sha belongs to, by number: those it merged and those whose
// head it is (still open). The caller holds c.mu.
func pullsOf(r *repo, sha string) []*pull {
	var out []*pull
	for _, p := range r.pulls {
		if p.mergeSHA == sha || (!p.merged && r.branches[p.head] == sha) {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(a, b *pull) int { return a.number - b.number })
	return out
}

// lockPullsOf locks mu and returns the pull requests of the request's commit ({sha} path
// value); when there is no such repository it unlocks mu and answers with notFound.
func (c *core) lockPullsOf(w http.ResponseWriter, r *http.Request, sha string, notFound func(http.ResponseWriter)) ([]*pull, bool) {
	rp := c.lockRepo(w, r, notFound)
	if rp == nil {
		return nil, false
	}
	return pullsOf(rp, strings.ToLower(sha)), true
}

// pullState is a pull request's state in GitHub's and Gitea's words.
func (p *pull) state() string {
	if p.merged {
		return "closed"
	}
	return "open"
}

// commitPulls serves GET /repos/{owner}/{repo}/commits/{commit_sha}/pulls: the pull requests
// associated with a commit (GitHub answers the merged one that introduced a commit of the
// default branch, else the open ones whose head it is).
func (g *GitHub) commitPulls(w http.ResponseWriter, r *http.Request) {
	if _, ok := g.auth(w, r); !ok {
		return
	}
	pulls, ok := g.lockPullsOf(w, r, r.PathValue("sha"), ghNotFound)
	if !ok {
		return
	}
	owner, name := r.PathValue("owner"), r.PathValue("repo")
	base := g.base(r)
	out := make([]map[string]any, 0, len(pulls))
	for _, p := range pulls {
		out = append(out, ghPull(base, owner, name, p, g.now().Format("2006-01-02T15:04:05Z")))
	}
	g.mu.Unlock()
	writeValue(w, http.StatusOK, out)
}

// ghPull is a pull-request-simple of GitHub's description.
func ghPull(base, owner, name string, p *pull, now string) map[string]any {
	api := base + "/repos/" + owner + "/" + name
	n := strconv.Itoa(p.number)
	html := "https://github.example/" + owner + "/" + name + "/pull/" + n
	var mergedAt, closedAt, mergeSHA any
	if p.merged {
		mergedAt, closedAt, mergeSHA = now, now, p.mergeSHA
	}
	user, repo := ghUser(base, owner, loginID(owner)), ghRepository(base, owner, name)
	branch := func(ref, sha string) map[string]any {
		return map[string]any{"label": owner + ":" + ref, "ref": ref, "sha": sha, "user": user, "repo": repo}
	}
	link := func(u string) map[string]any { return map[string]any{"href": u} }
	return map[string]any{
		"url": api + "/pulls/" + n, "id": 5000 + p.number, "node_id": "PR_" + n, "html_url": html,
		"diff_url": html + ".diff", "patch_url": html + ".patch", "issue_url": api + "/issues/" + n,
		"commits_url": api + "/pulls/" + n + "/commits", "review_comments_url": api + "/pulls/" + n + "/comments",
		"review_comment_url": api + "/pulls/comments{/number}", "comments_url": api + "/issues/" + n + "/comments",
		"statuses_url": api + "/statuses/" + p.headSHA, "number": p.number, "state": p.state(), "locked": false,
		"title": "Pull request " + n, "user": user, "body": nil, "labels": []any{}, "milestone": nil,
		"created_at": "2026-01-01T00:00:00Z", "updated_at": now, "closed_at": closedAt, "merged_at": mergedAt,
		"merge_commit_sha": mergeSHA, "assignee": nil, "assignees": []any{}, "requested_reviewers": []any{},
		"requested_teams": []any{}, "head": branch(p.head, p.headSHA), "base": branch(p.base, p.mergeSHA),
		"_links": map[string]any{
			"self": link(api + "/pulls/" + n), "html": link(html), "issue": link(api + "/issues/" + n),
			"comments": link(api + "/issues/" + n + "/comments"), "review_comments": link(api + "/pulls/" + n + "/comments"),
			"review_comment": link(api + "/pulls/comments{/number}"), "commits": link(api + "/pulls/" + n + "/commits"),
			"statuses": link(api + "/statuses/" + p.headSHA),
		},
		"author_association": "OWNER", "auto_merge": nil, "draft": false,
	}
}

// ghRepository is a repository of GitHub's description, with every required field.
func ghRepository(base, owner, name string) map[string]any {
	api := base + "/repos/" + owner + "/" + name
	html := "https://github.example/" + owner + "/" + name
	repo := map[string]any{
		"id": 4000, "node_id": "R_4000", "name": name, "full_name": owner + "/" + name,
		"owner": ghUser(base, owner, loginID(owner)), "private": false, "html_url": html, "description": nil,
		"fork": false, "url": api, "clone_url": html + ".git", "git_url": "git://github.example/" + owner + "/" + name + ".git",
		"ssh_url": "git@github.example:" + owner + "/" + name + ".git", "svn_url": html, "mirror_url": nil,
		"homepage": nil, "language": nil, "license": nil, "default_branch": "main", "forks": 0, "forks_count": 0,
		"open_issues": 0, "open_issues_count": 0, "watchers": 0, "watchers_count": 0, "stargazers_count": 0,
		"size": 1, "has_downloads": true, "has_issues": true, "has_projects": false, "has_wiki": false,
		"has_pages": false,
		"archived":  false, "disabled": false,
		"pushed_at": "2026-01-01T00:00:00Z", "created_at": "2020-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z",
	}
	for _, k := range []string{"archive", "assignees", "blobs", "branches", "collaborators", "comments", "commits",
		"compare", "contents", "contributors", "deployments", "downloads", "events", "forks", "git_commits",
		"git_refs", "git_tags", "hooks", "issue_comment", "issue_events", "issues", "keys", "labels", "languages",
		"merges", "milestones", "notifications", "pulls", "releases", "stargazers", "statuses", "subscribers",
		"subscription", "tags", "teams", "trees"} {
		repo[k+"_url"] = api + "/" + strings.ReplaceAll(k, "_", "/")
	}
	return repo
}

// commitPull serves GET /repos/{owner}/{repo}/commits/{sha}/pull: the pull request a commit
// merged; 404 when it merged none (Gitea answers only merged pull requests here).
func (g *Gitea) commitPull(w http.ResponseWriter, r *http.Request) {
	if _, ok := g.auth(w, r, false); !ok {
		return
	}
	pulls, ok := g.lockPullsOf(w, r, r.PathValue("sha"), gtRepoNotFound)
	if !ok {
		return
	}
	var merged *pull
	for _, p := range pulls {
		if p.merged {
			merged = p
			break
		}
	}
	if merged == nil {
		g.mu.Unlock()
		gtError(w, http.StatusNotFound, "pull request does not exist")
		return
	}
	owner, name, base := r.PathValue("owner"), r.PathValue("repo"), g.base(r)
	now := g.now().Format("2006-01-02T15:04:05Z")
	g.mu.Unlock()
	n := strconv.Itoa(merged.number)
	html := base + "/" + owner + "/" + name + "/pulls/" + n
	branch := func(ref, sha string) map[string]any {
		return map[string]any{"label": ref, "ref": ref, "sha": sha, "repo_id": 4000}
	}
	writeValue(w, http.StatusOK, map[string]any{
		"id": 5000 + merged.number, "number": merged.number, "url": html, "html_url": html,
		"diff_url": html + ".diff", "patch_url": html + ".patch", "title": "Pull request " + n, "body": "",
		"state": "closed", "merged": true, "merged_at": now, "merge_commit_sha": merged.mergeSHA,
		"merged_by": gtUser(base, owner), "user": gtUser(base, owner), "is_locked": false, "draft": false,
		"head": branch(merged.head, merged.headSHA), "base": branch(merged.base, merged.mergeSHA),
		"labels": []any{}, "assignees": []any{}, "requested_reviewers": []any{}, "comments": 0,
		"created_at": "2026-01-01T00:00:00Z", "updated_at": now, "closed_at": now, "mergeable": false,
		"allow_maintainer_edit": false, "merge_base": merged.headSHA,
	})
}

// commitMergeRequests serves GET /projects/:id/repository/commits/:sha/merge_requests: the
// merge requests a commit belongs to, merged or open.
func (g *GitLab) commitMergeRequests(w http.ResponseWriter, r *http.Request) {
	if _, ok := g.auth(w, r, false); !ok {
		return
	}
	rp, ok := g.lockProject(w, r, false)
	if !ok {
		return
	}
	pulls := pullsOf(rp, strings.ToLower(r.PathValue("sha")))
	base, project := g.base(r), r.PathValue("project")
	now := g.now().Format("2006-01-02T15:04:05.000Z")
	g.mu.Unlock()
	out := make([]map[string]any, 0, len(pulls))
	for _, p := range pulls {
		state, mergedAt, mergeSHA := "opened", any(nil), any(nil)
		if p.merged {
			state, mergedAt, mergeSHA = "merged", now, p.mergeSHA
		}
		out = append(out, map[string]any{
			"id": 5000 + p.number, "iid": p.number, "project_id": 4000, "title": "Merge request " + strconv.Itoa(p.number),
			"state": state, "merged_at": mergedAt, "merge_commit_sha": mergeSHA, "sha": p.headSHA,
			"source_branch": p.head, "target_branch": p.base, "web_url": base + "/" + project + "/-/merge_requests/" + strconv.Itoa(p.number),
		})
	}
	writeValue(w, http.StatusOK, out)
}
