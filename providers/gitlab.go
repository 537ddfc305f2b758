package providers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/tinyforge/tinyforge-check/forge"
	"github.com/tinyforge/tinyforge-check/gitops"
)

// GitLab reports to GitLab through its REST API v4 (GitLab publishes no
// complete machine-readable description; see docs/forges.md). The token goes
// in PRIVATE-TOKEN (JOB-TOKEN for Options.JobToken), for the forge's origin
// only. Create it with NewGitLab; it is safe for concurrent use.
type GitLab struct {
	base *url.URL // web root with trailing slash
	hc   *http.Client
	opts Options
}

// NewGitLab builds a GitLab provider. Options.BaseURL is the web root
// ("https://gitlab.com", CI_SERVER_URL), without /api/v4. owner arguments may
// name nested groups ("group/subgroup").
func NewGitLab(o Options) (*GitLab, error) {
	u, err := parseBase(o.BaseURL)
	if err != nil {
		return nil, err
	}
	if strings.HasSuffix(u.Path, "/api/v4/") {
		return nil, fmt.Errorf("gitlab URL %q ends in /api/v4: pass the web root (e.g. https://gitlab.com)", o.BaseURL)
	}
	header := "PRIVATE-TOKEN"
	if o.JobToken {
		header = "JOB-TOKEN"
	}
	return &GitLab{base: u, hc: withAuth(o.HTTPClient, u, header, o.Token), opts: o}, nil
}

// project returns the API path prefix of a project: /api/v4/projects/{url-encoded path}.
func (g *GitLab) project(owner, repo string) string {
	return "api/v4/projects/" + url.PathEscape(owner+"/"+repo)
}

// do sends one request to the API and decodes a JSON answer into out (when
// non-nil). Non-2xx answers become an APIError.
func (g *GitLab) do(ctx context.Context, op, method, path string, in, out any) (*http.Response, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, wrapOp(op, err, g.opts.Token)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, g.base.String()+path, body)
	if err != nil {
		return nil, wrapOp(op, err, g.opts.Token)
	}
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := g.hc.Do(req)
	if err != nil {
		return nil, wrapOp(op, err, g.opts.Token)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		return resp, g.apiErr(op, resp)
	}
	if out != nil && resp.StatusCode != http.StatusNoContent {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			return resp, wrapOp(op+": decode answer", gitops.DescribeJSONError(err), g.opts.Token)
		}
	}
	return resp, nil
}

// apiErr reads GitLab's {"message": ...} or {"error": ...} error body.
func (g *GitLab) apiErr(op string, resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	var m struct {
		Message any    `json:"message"`
		Error   string `json:"error"`
	}
	msg := ""
	if json.Unmarshal(b, &m) == nil {
		switch v := m.Message.(type) {
		case string:
			msg = v
		case nil:
			msg = m.Error
		default:
			j, _ := json.Marshal(v)
			msg = string(j)
		}
	}
	e := newAPIError(op, resp.StatusCode, msg, g.opts.Token)
	e.RateLimited = resp.StatusCode == http.StatusTooManyRequests
	e.RetryAfter = retryAfterOf(resp)
	return e
}

// gitlabState maps the check's state onto GitLab's commit-status states.
func gitlabState(s forge.State) (string, error) {
	switch s {
	case forge.StatePending:
		return "pending", nil
	case forge.StateSuccess, forge.StateWarning:
		return "success", nil
	case forge.StateFailure, forge.StateError:
		return "failed", nil
	}
	return "", unknownState(s)
}

// setStatus sets a commit status: POST /api/v4/projects/{id}/statuses/{sha}
// with state, name (the context), description and target_url. A 403 wraps
// forge.ErrForbidden.
func (g *GitLab) setStatus(ctx context.Context, owner, repo string, st forge.CommitStatus) error {
	state, err := gitlabState(st.State)
	if err != nil {
		return err
	}
	in := map[string]string{
		"state":       state,
		"name":        st.Context,
		"description": st.Description,
	}
	if st.TargetURL != "" {
		in["target_url"] = st.TargetURL
	}
	_, err = g.do(ctx, "create commit status", http.MethodPost, g.project(owner, repo)+"/statuses/"+url.PathEscape(st.SHA), in, nil)
	return err
}

// commentsOf is the comment store of PR (GitLab: MR iid) number, where Repo.UpsertComment keeps
// the one sticky comment of a status context current. Operations: GET /api/v4/user, GET
// /api/v4/projects/{id}/merge_requests/{iid}/notes (100 per page, every page), POST on the same
// path, PUT and DELETE /api/v4/projects/{id}/merge_requests/{iid}/notes/{note_id}.
// Repo.PrefetchComments starts, without waiting, the reads the upsert begins with: GET
// /api/v4/user and every page of GET /api/v4/projects/{id}/merge_requests/{iid}/notes, at once
// (the pages after the first once its X-Total-Pages is known).
func (g *GitLab) commentsOf(owner, repo string, number int) commentStore {
	return &gitlabNotes{g: g, owner: owner, repo: repo, iid: number}
}

type gitlabNotes struct {
	g           *GitLab
	owner, repo string
	iid         int
}

type glNote struct {
	ID     int64  `json:"id"`
	Body   string `json:"body"`
	System bool   `json:"system"`
	Author struct {
		Username string `json:"username"`
	} `json:"author"`
}

func (s *gitlabNotes) path() string {
	return s.g.project(s.owner, s.repo) + "/merge_requests/" + strconv.Itoa(s.iid) + "/notes"
}

func (s *gitlabNotes) note(n glNote) comment {
	web := s.g.base.String() + s.owner + "/" + s.repo + "/-/merge_requests/" + strconv.Itoa(s.iid) + "#note_" + strconv.FormatInt(n.ID, 10)
	return comment{ID: n.ID, Author: n.Author.Username, Body: n.Body, URL: web}
}

func (s *gitlabNotes) identity(ctx context.Context) (string, error) {
	if s.g.opts.Login != "" {
		return s.g.opts.Login, nil
	}
	var u struct {
		Username string `json:"username"`
	}
	if _, err := s.g.do(ctx, "read the token's user", http.MethodGet, "api/v4/user", nil, &u); err != nil {
		return "", err
	}
	return u.Username, nil
}

// notesPage is one page of an MR's notes and what GitLab says about the next ones.
type notesPage struct {
	notes []glNote
	next  string // the next page's number, "" on the last page
	total int    // X-Total-Pages; 0 when GitLab omits it (large lists)
}

// notesPage reads page n of the MR's notes.
func (s *gitlabNotes) notesPage(ctx context.Context, n int) (notesPage, error) {
	var notes []glNote
	resp, err := s.g.do(ctx, "list notes", http.MethodGet, s.path()+"?per_page=100&sort=asc&order_by=created_at&page="+strconv.Itoa(n), nil, &notes)
	if err != nil {
		return notesPage{}, err
	}
	next, err := nextPage(resp.Header)
	if err != nil {
		return notesPage{}, fmt.Errorf("list notes: %w", err)
	}
	total, _ := strconv.Atoi(resp.Header.Get("X-Total-Pages"))
	return notesPage{notes: notes, next: next, total: total}, nil
}

// nextPage is the next page's number from X-Next-Page, else from the Link header; "" on the
// last page.
func nextPage(h http.Header) (string, error) {
	next := h.Get("X-Next-Page")
	if next == "" {
		if l := linkNext(h.Get("Link")); l != "" {
			if u, err := url.Parse(l); err == nil {
				next = u.Query().Get("page")
			}
		}
	}
	if _, err := strconv.Atoi(next); next != "" && err != nil {
		return "", fmt.Errorf("the forge sent a bad next page %q: check the GitLab version", next)
	}
	return next, nil
}

// list reads every page of the MR's notes: page 1 first, then, from its X-Total-Pages (or the
// pages expected notes fill, when GitLab omits the total on large lists), the rest at once; the
// Link/X-Next-Page chain is followed after that if notes were added meanwhile. Notes are
// deduplicated by id, system notes dropped.
func (s *gitlabNotes) list(ctx context.Context, expected int) ([]comment, error) {
	pages, err := fetchPages(ctx, 1, 1, s.notesPage)
	if err != nil {
		return nil, err
	}
	if pages[0].next != "" {
		last := max(pages[0].total, pagesFor(expected, 100), 2)
		more, err := fetchPages(ctx, 2, min(last, 1000), s.notesPage)
		if err != nil {
			return nil, err
		}
		pages = append(pages, more...)
	}
	for len(pages) < 1000 && pages[len(pages)-1].next != "" {
		more, err := fetchPages(ctx, len(pages)+1, len(pages)+1, s.notesPage)
		if err != nil {
			return nil, err
		}
		pages = append(pages, more...)
	}
	return s.userNotes(pages), nil
}

// userNotes are the pages' notes without system notes, each once.
func (s *gitlabNotes) userNotes(pages []notesPage) []comment {
	var out firstSeen[int64, comment]
	for _, p := range pages {
		for _, n := range p.notes {
			if !n.System {
				out.add(n.ID, s.note(n))
			}
		}
	}
	return out.items
}

func (s *gitlabNotes) create(ctx context.Context, body string) (comment, error) {
	var n glNote
	_, err := s.g.do(ctx, "create note", http.MethodPost, s.path(), map[string]string{"body": body}, &n)
	return s.note(n), err
}

func (s *gitlabNotes) edit(ctx context.Context, id int64, body string) (comment, error) {
	var n glNote
	_, err := s.g.do(ctx, "update note", http.MethodPut, s.path()+"/"+strconv.FormatInt(id, 10), map[string]string{"body": body}, &n)
	return s.note(n), err
}

func (s *gitlabNotes) remove(ctx context.Context, id int64) error {
	_, err := s.g.do(ctx, "delete note", http.MethodDelete, s.path()+"/"+strconv.FormatInt(id, 10), nil, nil)
	return err
}

// DownloadFile returns the file at path on ref, at most maxBytes bytes (0
// means DefaultMaxFileBytes): GET
// /api/v4/projects/{id}/repository/files/{url-encoded path}/raw?ref=. Errors
// wrap forge.ErrFileNotFound (404) or forge.ErrFileTooLarge.
func (g *GitLab) DownloadFile(ctx context.Context, owner, repo, ref, path string, maxBytes int64) ([]byte, error) {
	p := g.project(owner, repo) + "/repository/files/" + url.PathEscape(strings.TrimPrefix(path, "/")) + "/raw?ref=" + url.QueryEscape(ref)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, g.base.String()+p, nil)
	if err != nil {
		return nil, wrapOp("download file", err, g.opts.Token)
	}
	resp, err := g.hc.Do(req)
	if err != nil {
		return nil, wrapOp("download file", err, g.opts.Token)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return nil, fileNotFound(path, ref)
	}
	if resp.StatusCode >= 300 {
		return nil, g.apiErr("download file", resp)
	}
	return readDownload(resp.Body, path, ref, maxBytes)
}

// BranchHead returns the commit SHA at the head of branch: GET
// /api/v4/projects/{id}/repository/branches/{branch}. A missing branch wraps
// forge.ErrNotFound.
func (g *GitLab) BranchHead(ctx context.Context, owner, repo, branch string) (string, error) {
	var b struct {
		Commit struct {
			ID string `json:"id"`
		} `json:"commit"`
	}
	if _, err := g.do(ctx, "read branch head", http.MethodGet, g.project(owner, repo)+"/repository/branches/"+url.PathEscape(branch), nil, &b); err != nil {
		return "", err
	}
	if b.Commit.ID == "" {
		return "", errors.New("read branch head: the forge returned no commit id: check the branch name")
	}
	return b.Commit.ID, nil
}

// issuesOf is the issue store of a repo, where Repo.UpsertIssue keeps the one drift issue of a
// status context and workload current (see forge.IssueRequest). Operations: GET /api/v4/user, GET
// /api/v4/projects/{id}/issues?scope=created_by_me (open and closed, 100 per page, every page;
// at once with the user, as the filter needs no login), POST /api/v4/projects/{id}/issues, PUT /api/v4/projects/{id}/issues/{iid} (description,
// title, state_event) and POST /api/v4/projects/{id}/issues/{iid}/notes (on closing). A
// CI_JOB_TOKEN cannot write issues: give a project access token with the api scope.
func (g *GitLab) issuesOf(owner, repo string) issueStore {
	return &gitlabIssues{gitlabNotes{g: g, owner: owner, repo: repo}}
}

// gitlabIssues is the issue store of one project; identity is the notes' one.
type gitlabIssues struct{ gitlabNotes }

// listBy: the list asks for the token's own issues (scope=created_by_me), so it goes out with
// the identity.
func (s *gitlabIssues) listBy() listBy { return listBy{none: true} }

type glIssue struct {
	IID         int    `json:"iid"`
	Title       string `json:"title"`
	Description string `json:"description"`
	State       string `json:"state"`
	WebURL      string `json:"web_url"`
	Author      struct {
		Username string `json:"username"`
	} `json:"author"`
}

func (i glIssue) issue() issue {
	return issue{Number: i.IID, Author: i.Author.Username, Title: i.Title, Body: i.Description, Open: i.State == "opened", URL: i.WebURL}
}

func (s *gitlabIssues) issuesPath() string { return s.g.project(s.owner, s.repo) + "/issues" }

// listIssues lists the token's own issues; login is not needed (see listBy).
func (s *gitlabIssues) listIssues(ctx context.Context, _ string) ([]issue, error) {
	type page struct {
		issues []glIssue
		total  int
	}
	get := func(ctx context.Context, n int) (page, error) {
		var is []glIssue
		resp, err := s.g.do(ctx, "list issues", http.MethodGet, s.issuesPath()+"?scope=created_by_me"+
			"&per_page=100&order_by=created_at&sort=asc&page="+strconv.Itoa(n), nil, &is)
		if err != nil {
			return page{}, err
		}
		total, _ := strconv.Atoi(resp.Header.Get("X-Total-Pages"))
		return page{issues: is, total: total}, nil
	}
	pages, err := fetchPages(ctx, 1, 1, get)
	if err != nil {
		return nil, err
	}
	if pages[0].total > 1 {
		more, err := fetchPages(ctx, 2, min(pages[0].total, 100), get)
		if err != nil {
			return nil, err
		}
		pages = append(pages, more...)
	}
	var out firstSeen[int, issue]
	for _, p := range pages {
		for _, is := range p.issues {
			out.add(is.IID, is.issue())
		}
	}
	return out.items, nil
}

func (s *gitlabIssues) createIssue(ctx context.Context, title, body string, labels []string) (issue, []string, error) {
	in := map[string]string{"title": title, "description": body}
	if len(labels) > 0 {
		in["labels"] = strings.Join(labels, ",")
	}
	var is glIssue
	if _, err := s.g.do(ctx, "open an issue", http.MethodPost, s.issuesPath(), in, &is); err != nil {
		return issue{}, nil, err
	}
	return is.issue(), nil, nil
}

func (s *gitlabIssues) editIssue(ctx context.Context, number int, title, body string, open bool) (issue, error) {
	event := "reopen"
	if !open {
		event = "close"
	}
	var is glIssue
	_, err := s.g.do(ctx, "update issue", http.MethodPut, s.issuesPath()+"/"+strconv.Itoa(number),
		map[string]string{"title": title, "description": body, "state_event": event}, &is)
	return is.issue(), err
}

func (s *gitlabIssues) commentIssue(ctx context.Context, number int, body string) error {
	_, err := s.g.do(ctx, "comment on issue", http.MethodPost, s.issuesPath()+"/"+strconv.Itoa(number)+"/notes", map[string]string{"body": body}, nil)
	return err
}
