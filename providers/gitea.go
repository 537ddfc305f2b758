package providers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"code.gitea.io/sdk/gitea"

	"github.com/tinyforge/tinyforge-check/forge"
)

// Gitea reports to Gitea or Forgejo through the Gitea SDK, constructed with
// SetGiteaVersion("") so it never probes /api/v1/version. The token is added
// per request ("Authorization: token ...") for the forge's origin only.
// Create it with NewGitea; it is safe for concurrent use.
type Gitea struct {
	base string // web root without trailing slash, e.g. https://gitea.example.com
	hc   *http.Client
	opts Options
	job  jobUser // the job token's user, asked once (Options.JobToken)
}

// jobUser is the login of Gitea's or Forgejo's job token, once known; the zero value knows
// nothing yet. mu is held while it is asked, so concurrent callers share one request.
type jobUser struct {
	mu    sync.Mutex
	login string
}

// NewGitea builds a Gitea/Forgejo provider. Options.BaseURL is the forge's
// web root (GITHUB_SERVER_URL in Gitea/Forgejo Actions), without /api/v1.
func NewGitea(o Options) (*Gitea, error) {
	u, err := parseBase(o.BaseURL)
	if err != nil {
		return nil, err
	}
	if strings.HasSuffix(u.Path, "/api/v1/") {
		return nil, fmt.Errorf("gitea URL %q ends in /api/v1: pass the web root (e.g. https://gitea.example.com)", o.BaseURL)
	}
	tok := ""
	if o.Token != "" {
		tok = "token " + o.Token
	}
	return &Gitea{base: strings.TrimSuffix(u.String(), "/"), hc: withAuth(o.HTTPClient, u, "Authorization", tok), opts: o}, nil
}

// client returns an SDK client bound to ctx (the SDK has no per-call
// context). Construction makes no request.
func (g *Gitea) client(ctx context.Context) (*gitea.Client, error) {
	c, err := gitea.NewClient(g.base, gitea.SetGiteaVersion(""), gitea.SetHTTPClient(g.hc), gitea.SetContext(ctx))
	if err != nil {
		return nil, wrapOp("build gitea client", err, g.opts.Token)
	}
	return c, nil
}

// err converts an SDK failure: an HTTP answer becomes an APIError, anything
// else an opError; the token is redacted either way.
func (g *Gitea) err(op string, resp *gitea.Response, err error) error {
	if err == nil {
		return nil
	}
	if resp != nil && resp.Response != nil && resp.StatusCode >= 300 {
		e := newAPIError(op, resp.StatusCode, err.Error(), g.opts.Token)
		e.RateLimited = resp.StatusCode == http.StatusTooManyRequests
		e.RetryAfter = retryAfterOf(resp.Response)
		return e
	}
	return wrapOp(op, err, g.opts.Token)
}

// giteaState maps the check's state onto Gitea's, which has warning.
func giteaState(s forge.State) (gitea.StatusState, error) {
	switch s {
	case forge.StatePending, forge.StateSuccess, forge.StateWarning, forge.StateFailure, forge.StateError:
		return gitea.StatusState(s), nil
	}
	return "", unknownState(s)
}

// setStatus sets a commit status: POST /api/v1/repos/{owner}/{repo}/statuses/{sha}
// (operation repoCreateStatus). A 403 wraps forge.ErrForbidden.
func (g *Gitea) setStatus(ctx context.Context, owner, repo string, st forge.CommitStatus) error {
	state, err := giteaState(st.State)
	if err != nil {
		return err
	}
	c, err := g.client(ctx)
	if err != nil {
		return err
	}
	_, resp, err := c.CreateStatus(owner, repo, st.SHA, gitea.CreateStatusOption{
		State:       state,
		TargetURL:   st.TargetURL,
		Description: st.Description,
		Context:     st.Context,
	})
	return g.err("create commit status", resp, err)
}

// commentsOf is the comment store of PR (GitLab: MR iid) number, where Repo.UpsertComment keeps
// the one sticky comment of a status context current. Operations: GET /api/v1/user
// (userGetCurrent), GET /api/v1/repos/{owner}/{repo}/issues/{index}/comments (issueGetComments,
// unpaginated), POST on the same path (issueCreateComment), PATCH and DELETE
// /api/v1/repos/{owner}/{repo}/issues/comments/{id} (issueEditComment, issueDeleteComment).
// Repo.PrefetchComments starts, without waiting, the reads the upsert begins with: GET
// /api/v1/user and GET /api/v1/repos/{owner}/{repo}/issues/{number}/comments, at once (the list
// is one unpaginated answer, so expected is not needed).
func (g *Gitea) commentsOf(owner, repo string, number int) commentStore {
	return &giteaComments{g: g, owner: owner, repo: repo, number: int64(number)}
}

type giteaComments struct {
	g           *Gitea
	owner, repo string
	number      int64
}

func (s *giteaComments) identity(ctx context.Context) (string, error) {
	if s.g.opts.Login != "" {
		return s.g.opts.Login, nil
	}
	if s.g.opts.JobToken {
		return s.g.jobLogin(ctx)
	}
	c, err := s.g.client(ctx)
	if err != nil {
		return "", err
	}
	u, resp, err := c.GetMyUserInfo()
	if err != nil {
		err = s.g.err("read the token's user", resp, err)
		if errors.Is(err, forge.ErrForbidden) {
			// A personal token without read:user: it cannot say which login it writes as.
			return "", fmt.Errorf("%w; so it cannot say which login it writes as (give it the read:user scope): %w", err, forge.ErrIdentityUnknown)
		}
		return "", err
	}
	return u.UserName, nil
}

// jobLogin is the user a job token writes as: ForgejoActionsLogin when the forge answers GET
// /api/forgejo/v1/version (Forgejo's own API, operation getVersion), GiteaActionsLogin when it
// answers 404 (Gitea has no such route). It asks once per provider.
func (g *Gitea) jobLogin(ctx context.Context) (string, error) {
	g.job.mu.Lock()
	defer g.job.mu.Unlock()
	if g.job.login != "" {
		return g.job.login, nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, g.base+"/api/forgejo/v1/version", nil)
	if err != nil {
		return "", wrapOp("ask whether the forge is Forgejo", err, g.opts.Token)
	}
	resp, err := g.hc.Do(req)
	if err != nil {
		return "", wrapOp("ask whether the forge is Forgejo", err, g.opts.Token)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	switch resp.StatusCode {
	case http.StatusOK:
		g.job.login = ForgejoActionsLogin
	case http.StatusNotFound:
		g.job.login = GiteaActionsLogin
	default:
		return "", newAPIError("ask whether the forge is Forgejo (GET /api/forgejo/v1/version)", resp.StatusCode, string(msg), g.opts.Token)
	}
	return g.job.login, nil
}

// gtLogin is the login of a comment's or an issue's poster; "" when Gitea names none.
func gtLogin(poster *gitea.User) string {
	if poster == nil {
		return ""
	}
	return poster.UserName
}

func gtComment(c *gitea.Comment) comment {
	return comment{ID: c.ID, Author: gtLogin(c.Poster), Body: c.Body, URL: c.HTMLURL}
}

func (s *giteaComments) list(ctx context.Context, _ int) ([]comment, error) {
	c, err := s.g.client(ctx)
	if err != nil {
		return nil, err
	}
	// Gitea answers the whole list at once; follow a Link next page anyway
	// (deduplicated) in case a fork paginates.
	var out firstSeen[int64, comment]
	opt := gitea.ListIssueCommentOptions{}
	for page := 1; page <= 1000; {
		opt.Page = page
		cs, resp, err := c.ListIssueComments(s.owner, s.repo, s.number, opt)
		if err != nil {
			return nil, s.g.err("list comments", resp, err)
		}
		for _, x := range cs {
			out.add(x.ID, gtComment(x))
		}
		if resp == nil || resp.NextPage <= page {
			return out.items, nil
		}
		page = resp.NextPage
	}
	return out.items, nil
}

func (s *giteaComments) create(ctx context.Context, body string) (comment, error) {
	c, err := s.g.client(ctx)
	if err != nil {
		return comment{}, err
	}
	x, resp, err := c.CreateIssueComment(s.owner, s.repo, s.number, gitea.CreateIssueCommentOption{Body: body})
	if err != nil {
		return comment{}, s.g.err("create comment", resp, err)
	}
	return gtComment(x), nil
}

func (s *giteaComments) edit(ctx context.Context, id int64, body string) (comment, error) {
	c, err := s.g.client(ctx)
	if err != nil {
		return comment{}, err
	}
	x, resp, err := c.EditIssueComment(s.owner, s.repo, id, gitea.EditIssueCommentOption{Body: body})
	if err != nil {
		return comment{}, s.g.err("update comment", resp, err)
	}
	return gtComment(x), nil
}

func (s *giteaComments) remove(ctx context.Context, id int64) error {
	c, err := s.g.client(ctx)
	if err != nil {
		return err
	}
	resp, err := c.DeleteIssueComment(s.owner, s.repo, id)
	return s.g.err("delete comment", resp, err)
}

// DownloadFile returns the file at path on ref, at most maxBytes bytes (0
// means DefaultMaxFileBytes): GET /api/v1/repos/{owner}/{repo}/raw/{filepath}?ref=
// (repoGetRawFile). Errors wrap forge.ErrFileNotFound (404) or forge.ErrFileTooLarge.
func (g *Gitea) DownloadFile(ctx context.Context, owner, repo, ref, path string, maxBytes int64) ([]byte, error) {
	c, err := g.client(ctx)
	if err != nil {
		return nil, err
	}
	rc, resp, err := c.GetFileReader(owner, repo, ref, strings.TrimPrefix(path, "/"))
	if err != nil {
		if resp != nil && resp.StatusCode == http.StatusNotFound {
			return nil, fileNotFound(path, ref)
		}
		return nil, g.err("download file", resp, err)
	}
	defer rc.Close()
	return readDownload(rc, path, ref, maxBytes)
}

// BranchHead returns the commit SHA at the head of branch: GET
// /api/v1/repos/{owner}/{repo}/branches/{branch} (repoGetBranch). A missing
// branch wraps forge.ErrNotFound.
func (g *Gitea) BranchHead(ctx context.Context, owner, repo, branch string) (string, error) {
	c, err := g.client(ctx)
	if err != nil {
		return "", err
	}
	b, resp, err := c.GetRepoBranch(owner, repo, branch)
	if err != nil {
		return "", g.err("read branch head", resp, err)
	}
	if b.Commit == nil || b.Commit.ID == "" {
		return "", fmt.Errorf("read branch head: the forge returned no commit id: check the branch name")
	}
	return b.Commit.ID, nil
}

// issuesOf is the issue store of a repo, where Repo.UpsertIssue keeps the one drift issue of a
// status context and workload current (see forge.IssueRequest). Operations: GET /api/v1/user
// (userGetCurrent), GET
// /api/v1/repos/{owner}/{repo}/issues?state=all&type=issues&created_by={login} (issueListIssues,
// 50 per page, every page), GET /api/v1/repos/{owner}/{repo}/labels (issueListLabels, only to
// create an issue with labels), POST /api/v1/repos/{owner}/{repo}/issues (issueCreateIssue),
// PATCH /api/v1/repos/{owner}/{repo}/issues/{index} (issueEditIssue) and POST
// /api/v1/repos/{owner}/{repo}/issues/{index}/comments (issueCreateComment, on closing).
func (g *Gitea) issuesOf(owner, repo string) issueStore {
	return &giteaIssues{giteaComments{g: g, owner: owner, repo: repo}}
}

// giteaIssues is the issue store of one repo; identity is the comments' one.
type giteaIssues struct{ giteaComments }

// giteaPageSize is the page size Gitea caps lists at by default (MAX_RESPONSE_ITEMS).
const giteaPageSize = 50

// listBy: the list filters by poster, first by the hint when there is one.
func (s *giteaIssues) listBy() listBy { return listBy{hint: s.g.opts.loginHint()} }

func gtIssue(is *gitea.Issue) issue {
	return issue{Number: int(is.Index), Author: gtLogin(is.Poster), Title: is.Title, Body: is.Body,
		Open: is.State == gitea.StateOpen, URL: is.HTMLURL}
}

func (s *giteaIssues) listIssues(ctx context.Context, login string) ([]issue, error) {
	c, err := s.g.client(ctx)
	if err != nil {
		return nil, err
	}
	var out firstSeen[int, issue]
	for page := 1; page <= 1000; page++ {
		is, resp, err := c.ListRepoIssues(s.owner, s.repo, gitea.ListIssueOption{State: gitea.StateAll, Type: gitea.IssueTypeIssue,
			CreatedBy: login, ListOptions: gitea.ListOptions{Page: page, PageSize: giteaPageSize}})
		if err != nil {
			return nil, s.g.err("list issues", resp, err)
		}
		for _, x := range is {
			out.add(int(x.Index), gtIssue(x))
		}
		// The Link header decides, as for comments: an instance whose MAX_RESPONSE_ITEMS is
		// below giteaPageSize answers short pages that are not the last.
		if resp == nil || resp.NextPage <= page {
			return out.items, nil
		}
	}
	return out.items, nil
}

func (s *giteaIssues) createIssue(ctx context.Context, title, body string, labels []string) (issue, []string, error) {
	c, err := s.g.client(ctx)
	if err != nil {
		return issue{}, nil, err
	}
	var ids []int64
	var missing []string
	if len(labels) > 0 {
		byName := map[string]int64{}
		for page := 1; page <= 100; page++ {
			ls, resp, err := c.ListRepoLabels(s.owner, s.repo, gitea.ListLabelsOptions{ListOptions: gitea.ListOptions{Page: page, PageSize: giteaPageSize}})
			if err != nil {
				return issue{}, nil, s.g.err("list labels", resp, err)
			}
			for _, l := range ls {
				byName[strings.ToLower(l.Name)] = l.ID
			}
			if resp == nil || resp.NextPage <= page {
				break
			}
		}
		for _, name := range labels {
			if id, ok := byName[strings.ToLower(name)]; ok {
				ids = append(ids, id)
			} else {
				missing = append(missing, name)
			}
		}
	}
	x, resp, err := c.CreateIssue(s.owner, s.repo, gitea.CreateIssueOption{Title: title, Body: body, Labels: ids})
	if err != nil {
		return issue{}, nil, s.g.err("open an issue", resp, err)
	}
	return gtIssue(x), missing, nil
}

func (s *giteaIssues) editIssue(ctx context.Context, number int, title, body string, open bool) (issue, error) {
	c, err := s.g.client(ctx)
	if err != nil {
		return issue{}, err
	}
	state := gitea.StateOpen
	if !open {
		state = gitea.StateClosed
	}
	x, resp, err := c.EditIssue(s.owner, s.repo, int64(number), gitea.EditIssueOption{Title: title, Body: &body, State: &state})
	if err != nil {
		return issue{}, s.g.err("update issue", resp, err)
	}
	return gtIssue(x), nil
}

func (s *giteaIssues) commentIssue(ctx context.Context, number int, body string) error {
	c, err := s.g.client(ctx)
	if err != nil {
		return err
	}
	_, resp, err := c.CreateIssueComment(s.owner, s.repo, int64(number), gitea.CreateIssueCommentOption{Body: body})
	return s.g.err("comment on issue", resp, err)
}
