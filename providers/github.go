package providers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/go-github/v62/github"

	"github.com/tinyforge/tinyforge-check/forge"
)

// GitHub reports to GitHub.com or GitHub Enterprise Server through go-github.
// The token is added per request for the API origin only (go-github's
// WithAuthToken would send it on cross-origin redirects too). Create it with
// NewGitHub; it is safe for concurrent use.
type GitHub struct {
	client *github.Client
	opts   Options
}

// NewGitHub builds a GitHub provider. Options.BaseURL is the API root:
// "https://api.github.com" (the default when empty) or
// "https://ghe.example.com/api/v3" for GitHub Enterprise Server.
func NewGitHub(o Options) (*GitHub, error) {
	if o.BaseURL == "" {
		o.BaseURL = "https://api.github.com"
	}
	base, err := parseBase(o.BaseURL)
	if err != nil {
		return nil, err
	}
	hc := withAuth(o.HTTPClient, base, "Authorization", bearer(o.Token))
	c := github.NewClient(hc)
	c.BaseURL = base
	c.UploadURL = base
	return &GitHub{client: c, opts: o}, nil
}

func bearer(token string) string {
	if token == "" {
		return ""
	}
	return "Bearer " + token
}

// parseBase validates a forge URL and returns it with a trailing slash.
func parseBase(raw string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("forge URL %q is not an absolute http(s) URL: pass e.g. https://api.github.com", raw)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("forge URL must not carry credentials, a query or a fragment: pass only scheme, host and path")
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	return u, nil
}

// githubState maps the check's state onto GitHub's (no warning: success).
func githubState(s forge.State) (string, error) {
	switch s {
	case forge.StatePending, forge.StateSuccess, forge.StateFailure, forge.StateError:
		return string(s), nil
	case forge.StateWarning:
		return "success", nil
	}
	return "", unknownState(s)
}

// setStatus sets a commit status: POST /repos/{owner}/{repo}/statuses/{sha}
// (operation repos/create-commit-status). A 403 (fork PR token) wraps
// forge.ErrForbidden.
func (g *GitHub) setStatus(ctx context.Context, owner, repo string, st forge.CommitStatus) error {
	state, err := githubState(st.State)
	if err != nil {
		return err
	}
	rs := &github.RepoStatus{
		State:       github.String(state),
		Context:     github.String(st.Context),
		Description: github.String(st.Description),
	}
	if st.TargetURL != "" {
		rs.TargetURL = github.String(st.TargetURL)
	}
	_, _, err = g.client.Repositories.CreateStatus(ctx, owner, repo, st.SHA, rs)
	return g.err("create commit status", err)
}

// err converts go-github errors into APIError / opError without the token.
func (g *GitHub) err(op string, err error) error {
	if err == nil {
		return nil
	}
	var rl *github.RateLimitError
	var ab *github.AbuseRateLimitError
	var er *github.ErrorResponse
	switch {
	case errors.As(err, &rl):
		e := newAPIError(op, rl.Response.StatusCode, rl.Message, g.opts.Token)
		e.RateLimited, e.RetryAfter = true, max(0, time.Until(rl.Rate.Reset.Time))
		return e
	case errors.As(err, &ab):
		e := newAPIError(op, ab.Response.StatusCode, ab.Message, g.opts.Token)
		e.RateLimited = true
		if ab.RetryAfter != nil {
			e.RetryAfter = *ab.RetryAfter
		}
		return e
	case errors.As(err, &er) && er.Response != nil:
		msg := er.Message
		for _, d := range er.Errors {
			if d.Message != "" {
				msg += "; " + d.Message
			} else if d.Field != "" {
				msg += "; " + d.Field + " " + d.Code
			}
		}
		return newAPIError(op, er.Response.StatusCode, msg, g.opts.Token)
	}
	return wrapOp(op, err, g.opts.Token)
}

// commentsOf is the comment store of PR (GitLab: MR iid) number, where Repo.UpsertComment keeps
// the one sticky comment of a status context current. Operations: GET /user
// (users/get-authenticated; skipped for a job token, whose identity is github-actions[bot], and
// with Options.Login; a 403 there, an installation token's answer, fails with
// forge.ErrIdentityUnknown), GET /repos/{owner}/{repo}/issues/{issue_number}/comments (issues/list-comments, 100 per page, every
// page), POST on the same path (issues/create-comment), PATCH
// /repos/{owner}/{repo}/issues/comments/{comment_id} (issues/update-comment) and DELETE on it
// (issues/delete-comment, duplicates of racing runs only).
// Repo.PrefetchComments starts, without waiting, the reads the upsert begins with: GET /user and
// every page of GET /repos/{owner}/{repo}/issues/{number}/comments, the pages that expected
// comments fill (the event payload's pull_request.comments) all at once.
func (g *GitHub) commentsOf(owner, repo string, number int) commentStore {
	return &githubComments{g: g, owner: owner, repo: repo, number: number}
}

type githubComments struct {
	g           *GitHub
	owner, repo string
	number      int
}

func (s *githubComments) identity(ctx context.Context) (string, error) {
	if s.g.opts.Login != "" {
		return s.g.opts.Login, nil
	}
	if s.g.opts.JobToken {
		return githubActionsBot, nil
	}
	u, _, err := s.g.client.Users.Get(ctx, "")
	if err != nil {
		var er *github.ErrorResponse
		if errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == http.StatusForbidden &&
			strings.Contains(er.Message, "Resource not accessible by integration") {
			// An installation token: the job token (known without asking) or another GitHub
			// App's, which writes as APP-SLUG[bot]; no REST endpoint tells which. Never guess.
			return "", fmt.Errorf("read the token's user: GitHub answers this token 403 on GET /user, as it does an installation token, so it cannot say which login it writes as: %w", forge.ErrIdentityUnknown)
		}
		return "", s.g.err("read the token's user", err)
	}
	return u.GetLogin(), nil
}

func ghComment(c *github.IssueComment) comment {
	return comment{ID: c.GetID(), Author: c.GetUser().GetLogin(), Body: c.GetBody(), URL: c.GetHTMLURL()}
}

// list reads every page of the PR's comments: the pages expected comments fill at once, then,
// if the last of them says there are more (comments were added since the event), the rest in
// one more round, from the Link header's last page. Comments are deduplicated by id. Pages read
// at once are not one snapshot: a comment deleted meanwhile shifts the next ones a page back, so
// one may be missed; the sticky logic's verify round sees it and repairs any duplicate.
func (s *githubComments) list(ctx context.Context, expected int) ([]comment, error) {
	cs, err := ghAllPages(ctx, "list comments", pagesFor(expected, 100), func(ctx context.Context, n int) ([]*github.IssueComment, *github.Response, error) {
		opt := &github.IssueListCommentsOptions{ListOptions: github.ListOptions{PerPage: 100, Page: n}}
		cs, resp, err := s.g.client.Issues.ListComments(ctx, s.owner, s.repo, s.number, opt)
		return cs, resp, s.g.err("list comments", err)
	})
	if err != nil {
		return nil, err
	}
	var out firstSeen[int64, comment]
	for _, c := range cs {
		out.add(c.GetID(), ghComment(c))
	}
	return out.items, nil
}

// ghMaxPages bounds how many pages of 100 a GitHub list may have.
const ghMaxPages = 1000

// ghAllPages reads every page of a GitHub list for op: pages 1..first at once (first is how
// many the caller expects; at least 1), then, while the last page read names a next one, the
// rest up to the Link header's last page, each such batch in one more round. More than
// ghMaxPages pages is an error.
func ghAllPages[T any](ctx context.Context, op string, first int, get func(ctx context.Context, page int) ([]T, *github.Response, error)) ([]T, error) {
	type page struct {
		items      []T
		next, last int
	}
	fetch := func(ctx context.Context, n int) (page, error) {
		items, resp, err := get(ctx, n)
		if err != nil {
			return page{}, err
		}
		return page{items: items, next: resp.NextPage, last: resp.LastPage}, nil
	}
	pages, err := fetchPages(ctx, 1, min(max(first, 1), ghMaxPages), fetch)
	if err != nil {
		return nil, err
	}
	for len(pages) < ghMaxPages && pages[len(pages)-1].next != 0 {
		from := len(pages) + 1
		to := max(pages[0].last, pages[len(pages)-1].last, from)
		more, err := fetchPages(ctx, from, min(to, ghMaxPages), fetch)
		if err != nil {
			return nil, err
		}
		pages = append(pages, more...)
	}
	if pages[len(pages)-1].next != 0 {
		return nil, fmt.Errorf("%s: more than %d pages of 100: too many to read", op, ghMaxPages)
	}
	var all []T
	for _, p := range pages {
		all = append(all, p.items...)
	}
	return all, nil
}

func (s *githubComments) create(ctx context.Context, body string) (comment, error) {
	c, _, err := s.g.client.Issues.CreateComment(ctx, s.owner, s.repo, s.number, &github.IssueComment{Body: github.String(body)})
	if err != nil {
		return comment{}, s.g.err("create comment", err)
	}
	return ghComment(c), nil
}

func (s *githubComments) edit(ctx context.Context, id int64, body string) (comment, error) {
	c, _, err := s.g.client.Issues.EditComment(ctx, s.owner, s.repo, id, &github.IssueComment{Body: github.String(body)})
	if err != nil {
		return comment{}, s.g.err("update comment", err)
	}
	return ghComment(c), nil
}

func (s *githubComments) remove(ctx context.Context, id int64) error {
	_, err := s.g.client.Issues.DeleteComment(ctx, s.owner, s.repo, id)
	return s.g.err("delete comment", err)
}

// DownloadFile returns the file at path on ref, at most maxBytes bytes (0
// means DefaultMaxFileBytes): GET /repos/{owner}/{repo}/contents/{path}?ref=
// with the raw media type (repos/get-content). Errors wrap forge.ErrFileNotFound
// (404) or forge.ErrFileTooLarge; anything else is a transport or forge failure.
func (g *GitHub) DownloadFile(ctx context.Context, owner, repo, ref, path string, maxBytes int64) ([]byte, error) {
	u := fmt.Sprintf("repos/%s/%s/contents/%s", url.PathEscape(owner), url.PathEscape(repo), escapePath(path))
	if ref != "" {
		u += "?ref=" + url.QueryEscape(ref)
	}
	req, err := g.client.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return nil, wrapOp("download file", err, g.opts.Token)
	}
	req.Header.Set("Accept", "application/vnd.github.raw+json")
	resp, err := g.client.BareDo(ctx, req)
	if err != nil {
		var er *github.ErrorResponse
		if errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == http.StatusNotFound {
			return nil, fileNotFound(path, ref)
		}
		if errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == http.StatusForbidden &&
			strings.Contains(er.Message, "too large") {
			return nil, downloadErr(path, ref, forge.ErrFileTooLarge)
		}
		return nil, g.err("download file", err)
	}
	defer resp.Body.Close()
	return readDownload(resp.Body, path, ref, maxBytes)
}

// escapePath escapes each segment of a repository path.
func escapePath(p string) string {
	segs := strings.Split(strings.TrimPrefix(p, "/"), "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}

// BranchHead returns the commit SHA at the head of branch: GET
// /repos/{owner}/{repo}/git/ref/heads/{branch} (git/get-ref), a small answer
// that names the branch unambiguously (no tag of the same name). A missing
// branch wraps forge.ErrNotFound.
func (g *GitHub) BranchHead(ctx context.Context, owner, repo, branch string) (string, error) {
	ref, _, err := g.client.Git.GetRef(ctx, owner, repo, "heads/"+branch)
	if err != nil {
		return "", g.err("read branch head", err)
	}
	sha := ref.GetObject().GetSHA()
	if sha == "" {
		return "", errors.New("read branch head: the forge returned no commit sha: check the branch name")
	}
	return sha, nil
}

// issuesOf is the issue store of a repo, where Repo.UpsertIssue keeps the one drift issue of a
// status context and workload current (see forge.IssueRequest). Operations: GET /user
// (users/get-authenticated; skipped for a job token), GET
// /repos/{owner}/{repo}/issues?state=all&creator={login} (issues/list-for-repo, 100 per page,
// every page), POST /repos/{owner}/{repo}/issues (issues/create), PATCH
// /repos/{owner}/{repo}/issues/{issue_number} (issues/update: body, title, state) and POST
// /repos/{owner}/{repo}/issues/{issue_number}/comments (issues/create-comment, on closing).
func (g *GitHub) issuesOf(owner, repo string) issueStore {
	return &githubIssues{githubComments{g: g, owner: owner, repo: repo}}
}

// githubIssues is the issue store of one repo; identity is the comments' one.
type githubIssues struct{ githubComments }

// listBy: the list filters by creator, first by the hint when there is one.
func (s *githubIssues) listBy() listBy { return listBy{hint: s.g.opts.loginHint()} }

func ghIssue(is *github.Issue) issue {
	return issue{Number: is.GetNumber(), Author: is.GetUser().GetLogin(), Title: is.GetTitle(), Body: is.GetBody(),
		Open: is.GetState() == "open", URL: is.GetHTMLURL()}
}

func (s *githubIssues) listIssues(ctx context.Context, login string) ([]issue, error) {
	all, err := ghAllPages(ctx, "list issues", 1, func(ctx context.Context, n int) ([]*github.Issue, *github.Response, error) {
		opt := &github.IssueListByRepoOptions{State: "all", Creator: login, Sort: "created", Direction: "asc",
			ListOptions: github.ListOptions{PerPage: 100, Page: n}}
		is, resp, err := s.g.client.Issues.ListByRepo(ctx, s.owner, s.repo, opt)
		return is, resp, s.g.err("list issues", err)
	})
	if err != nil {
		return nil, err
	}
	var out firstSeen[int, issue]
	for _, is := range all {
		if !is.IsPullRequest() {
			out.add(is.GetNumber(), ghIssue(is))
		}
	}
	return out.items, nil
}

func (s *githubIssues) createIssue(ctx context.Context, title, body string, labels []string) (issue, []string, error) {
	req := &github.IssueRequest{Title: github.String(title), Body: github.String(body)}
	if len(labels) > 0 {
		req.Labels = &labels
	}
	is, _, err := s.g.client.Issues.Create(ctx, s.owner, s.repo, req)
	if err != nil {
		return issue{}, nil, s.g.err("open an issue", err)
	}
	return ghIssue(is), nil, nil
}

func (s *githubIssues) editIssue(ctx context.Context, number int, title, body string, open bool) (issue, error) {
	req := &github.IssueRequest{Title: github.String(title), Body: github.String(body), State: github.String("open")}
	if !open {
		req.State, req.StateReason = github.String("closed"), github.String("completed")
	}
	is, _, err := s.g.client.Issues.Edit(ctx, s.owner, s.repo, number, req)
	if err != nil {
		return issue{}, s.g.err("update issue", err)
	}
	return ghIssue(is), nil
}

func (s *githubIssues) commentIssue(ctx context.Context, number int, body string) error {
	_, _, err := s.g.client.Issues.CreateComment(ctx, s.owner, s.repo, number, &github.IssueComment{Body: github.String(body)})
	return s.g.err("comment on issue", err)
}
