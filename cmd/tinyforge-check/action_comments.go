package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/tinyforge/tinyforge-check/checker"
	"github.com/tinyforge/tinyforge-check/providers"
)

// stickyFinder finds the sticky comment of a status context on a PR, among the comments of the
// token's own identity. comment: auto needs it before an update-only write ("no first comment
// when there is nothing to report, but refresh an existing one"), which providers'
// UpsertComment cannot express. When the comment exists and already says the same, no further
// request is made, so an unchanged in-sync rerun costs what an unchanged drift rerun does.
type stickyFinder struct {
	forge       checker.Forge
	base        string // GitHub: the API root; Gitea and GitLab: the web root
	owner, repo string
	token       string
	jobToken    bool
	hc          *http.Client
}

// sticky is the found comment: its body without the marker line, its run id and web address.
type sticky struct {
	body  string
	runID int64
	url   string
}

// maxListPages bounds the comment pages read (100 comments each).
const maxListPages = 100

// find returns the sticky comment of context on PR number, or nil when there is none.
func (f *stickyFinder) find(ctx context.Context, number int, context string) (*sticky, error) {
	login, err := f.identity(ctx)
	if err != nil {
		return nil, err
	}
	var found *sticky
	match := func(author, body, web string) {
		if !strings.EqualFold(author, login) {
			return
		}
		c, run, ok := providers.ParseMarker(body)
		if !ok || c != context || (found != nil && run <= found.runID) {
			return
		}
		_, rest, _ := strings.Cut(body, "\n")
		found = &sticky{body: rest, runID: run, url: web}
	}
	switch f.forge {
	case checker.ForgeGitHub:
		err = f.pages(ctx, fmt.Sprintf("repos/%s/%s/issues/%d/comments", url.PathEscape(f.owner), url.PathEscape(f.repo), number),
			func(data []byte) error {
				var cs []struct {
					Body    string `json:"body"`
					HTMLURL string `json:"html_url"`
					User    struct {
						Login string `json:"login"`
					} `json:"user"`
				}
				err := json.Unmarshal(data, &cs)
				for _, c := range cs {
					match(c.User.Login, c.Body, c.HTMLURL)
				}
				return err
			})
	case checker.ForgeGitea:
		// Gitea answers the issue comments unpaginated.
		var data []byte
		if data, _, err = f.get(ctx, fmt.Sprintf("api/v1/repos/%s/%s/issues/%d/comments", url.PathEscape(f.owner), url.PathEscape(f.repo), number)); err == nil {
			var cs []struct {
				Body    string `json:"body"`
				HTMLURL string `json:"html_url"`
				User    struct {
					Login string `json:"login"`
				} `json:"user"`
			}
			err = json.Unmarshal(data, &cs)
			for _, c := range cs {
				match(c.User.Login, c.Body, c.HTMLURL)
			}
		}
	case checker.ForgeGitLab:
		err = f.pages(ctx, fmt.Sprintf("api/v4/projects/%s/merge_requests/%d/notes", url.PathEscape(f.owner+"/"+f.repo), number),
			func(data []byte) error {
				var ns []struct {
					ID     int64  `json:"id"`
					Body   string `json:"body"`
					System bool   `json:"system"`
					Author struct {
						Username string `json:"username"`
					} `json:"author"`
				}
				err := json.Unmarshal(data, &ns)
				for _, n := range ns {
					if !n.System {
						match(n.Author.Username, n.Body, fmt.Sprintf("%s/%s/%s/-/merge_requests/%d#note_%d",
							strings.TrimSuffix(f.base, "/"), f.owner, f.repo, number, n.ID))
					}
				}
				return err
			})
	default:
		return nil, fmt.Errorf("no comment lookup for forge %q", f.forge)
	}
	if err != nil {
		return nil, fmt.Errorf("list comments: %w", err)
	}
	return found, nil
}

// identity returns the login whose comments count.
func (f *stickyFinder) identity(ctx context.Context) (string, error) {
	var path, field string
	switch f.forge {
	case checker.ForgeGitHub:
		path, field = "user", "login"
	case checker.ForgeGitea:
		path, field = "api/v1/user", "login"
	case checker.ForgeGitLab:
		path, field = "api/v4/user", "username"
	}
	data, status, err := f.get(ctx, path)
	if f.forge == checker.ForgeGitHub && status == http.StatusForbidden && strings.Contains(string(data), "Resource not accessible by integration") {
		return "github-actions[bot]", nil // GitHub's job token cannot read /user
	}
	if err != nil {
		return "", fmt.Errorf("read the token's user: %w", err)
	}
	var u map[string]any
	if err := json.Unmarshal(data, &u); err != nil {
		return "", fmt.Errorf("read the token's user: %w", err)
	}
	login, _ := u[field].(string)
	if login == "" {
		return "", errors.New("read the token's user: the forge returned no login")
	}
	return login, nil
}

// pages reads every page of a list of 100 per page, following GitHub's Link header or GitLab's
// X-Next-Page.
func (f *stickyFinder) pages(ctx context.Context, path string, each func([]byte) error) error {
	for page := 1; page <= maxListPages; page++ {
		data, _, hdr, err := f.do(ctx, path+"?per_page=100&page="+strconv.Itoa(page))
		if err != nil {
			return err
		}
		if err := each(data); err != nil {
			return fmt.Errorf("decode page %d: %w", page, err)
		}
		next := hdr.Get("X-Next-Page")
		if f.forge == checker.ForgeGitHub {
			next = ""
			if strings.Contains(hdr.Get("Link"), `rel="next"`) {
				next = strconv.Itoa(page + 1)
			}
		}
		if next == "" {
			return nil
		}
	}
	return fmt.Errorf("more than %d pages of comments", maxListPages)
}

func (f *stickyFinder) get(ctx context.Context, path string) ([]byte, int, error) {
	data, status, _, err := f.do(ctx, path)
	return data, status, err
}

// do sends one authenticated GET to the forge's own origin and never follows a redirect, so
// the token goes nowhere else.
func (f *stickyFinder) do(ctx context.Context, path string) ([]byte, int, http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(f.base, "/")+"/"+path, nil)
	if err != nil {
		return nil, 0, nil, fmt.Errorf("build request: check the forge URL")
	}
	switch {
	case f.forge == checker.ForgeGitLab && f.jobToken:
		req.Header.Set("JOB-TOKEN", f.token)
	case f.forge == checker.ForgeGitLab:
		req.Header.Set("PRIVATE-TOKEN", f.token)
	case f.forge == checker.ForgeGitea:
		req.Header.Set("Authorization", "token "+f.token)
	default:
		req.Header.Set("Authorization", "Bearer "+f.token)
		req.Header.Set("Accept", "application/vnd.github+json")
	}
	hc := *f.hc
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := hc.Do(req)
	if err != nil {
		return nil, 0, nil, fmt.Errorf("GET %s: %w", req.URL.Path, scrubURLError(err))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, resp.StatusCode, nil, fmt.Errorf("GET %s: read the answer: %w", req.URL.Path, err)
	}
	if resp.StatusCode != http.StatusOK {
		err := fmt.Errorf("GET %s: %d %s", req.URL.Path, resp.StatusCode, http.StatusText(resp.StatusCode))
		if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
			err = kindError{err, checker.ErrForbidden}
		}
		return data, resp.StatusCode, resp.Header, err
	}
	return data, resp.StatusCode, resp.Header, nil
}

// scrubURLError drops the *url.Error wrapper, whose text repeats the URL with its query.
func scrubURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
