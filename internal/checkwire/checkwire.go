// Package checkwire connects the checker to the real services: the Tinyforge API client
// (checker.LiveSource) and a forge provider bound to one repo (checker.FileReader,
// StatusSetter, CommentUpserter, CommentPrefetcher). The action and drift commands of
// tinyforge-check and the server's demo wire their checks with it.
package checkwire

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/tinyforge/tinyforge-check/checker"
	"github.com/tinyforge/tinyforge-check/gitops"
	"github.com/tinyforge/tinyforge-check/providers"
	"github.com/tinyforge/tinyforge-check/tinyforge"
)

// ForgeAPI is what a check needs from a providers forge type (*providers.GitHub, *providers.Gitea,
// *providers.GitLab).
type ForgeAPI interface {
	SetStatus(ctx context.Context, owner, repo string, st providers.CommitStatus) error
	UpsertComment(ctx context.Context, owner, repo string, req providers.CommentRequest) (providers.CommentResult, error)
	PrefetchComments(ctx context.Context, owner, repo string, number, expected int) *providers.CommentPrefetch
	DownloadFile(ctx context.Context, owner, repo, ref, path string, maxBytes int64) ([]byte, error)
	UpsertIssue(ctx context.Context, owner, repo string, req providers.IssueRequest) (providers.IssueResult, error)
	PrefetchIssues(ctx context.Context, owner, repo string) *providers.IssuePrefetch
}

// OpenForge returns the provider of a forge kind.
func OpenForge(kind checker.Forge, opts providers.Options) (ForgeAPI, error) {
	var (
		api ForgeAPI
		err error
	)
	switch kind {
	case checker.ForgeGitHub:
		api, err = providers.NewGitHub(opts)
	case checker.ForgeGitea:
		api, err = providers.NewGitea(opts)
	case checker.ForgeGitLab:
		api, err = providers.NewGitLab(opts)
	default:
		return nil, fmt.Errorf("unknown forge %q: use github, gitea or gitlab", kind)
	}
	if err != nil {
		return nil, fmt.Errorf("forge %s: %w", kind, err)
	}
	return api, nil
}

// Live adapts the Tinyforge API client to checker.LiveSource, mapping its not-found and
// forbidden errors to the checker's.
func Live(c *tinyforge.Client) checker.LiveSource { return liveSource{c} }

// liveSource adapts the Tinyforge client to checker.LiveSource.
type liveSource struct{ c *tinyforge.Client }

func (l liveSource) GetWorkload(ctx context.Context, id int64) (*checker.Workload, error) {
	w, err := l.c.GetWorkload(ctx, id)
	if err != nil {
		return nil, mapTinyforgeErr(err)
	}
	return l.workload(w), nil
}

// FindWorkload looks a workload up by name: one request where the server answers the lookup
// with the whole workload, two otherwise.
func (l liveSource) FindWorkload(ctx context.Context, name string) (*checker.Workload, error) {
	w, err := l.c.FindWorkloadByName(ctx, name) // an all-digit name was already tried as an id
	if err != nil {
		return nil, mapTinyforgeErr(err)
	}
	return l.workload(w), nil
}

func (l liveSource) workload(w *tinyforge.Workload) *checker.Workload {
	ui := w.UIURL
	if ui == "" {
		ui = strings.TrimSuffix(l.c.UIURL(w.ID, "", ""), "#gitops")
	}
	return &checker.Workload{ID: w.ID, Name: w.Name, SourceType: w.SourceType, SourceConfig: w.SourceConfig,
		GitOpsEnabled: w.GitOps.Enabled, GitOpsPath: w.GitOps.Path, UIURL: ui}
}

func mapTinyforgeErr(err error) error {
	switch {
	case errors.Is(err, tinyforge.ErrNotFound):
		return kindError{err, checker.ErrNotFound}
	case errors.Is(err, tinyforge.ErrForbidden):
		return kindError{err, checker.ErrForbidden}
	}
	return err
}

// kindError keeps an error's text and adds a checker sentinel for errors.Is.
type kindError struct{ err, kind error }

func (e kindError) Error() string   { return e.err.Error() }
func (e kindError) Unwrap() []error { return []error{e.err, e.kind} }

// NewRepo binds a provider to one repo.
func NewRepo(api ForgeAPI, owner, repo string) *Repo {
	return &Repo{api: api, owner: owner, repo: repo}
}

// Repo adapts a provider, bound to one repo, to the checker's FileReader, StatusSetter,
// CommentUpserter, CommentPrefetcher, IssueUpserter and IssuePrefetcher. Make one with NewRepo; it is safe for concurrent use.
type Repo struct {
	api         ForgeAPI
	owner, repo string

	mu            sync.Mutex
	prefetch      *providers.CommentPrefetch // started by PrefetchComments, used by UpsertComment
	issuePrefetch *providers.IssuePrefetch   // started by PrefetchIssues, used by UpsertIssue
}

// PrefetchIssues starts reading the token's identity and its issues in the repo; the next
// UpsertIssue uses them instead of reading again.
func (f *Repo) PrefetchIssues(ctx context.Context) {
	p := f.api.PrefetchIssues(ctx, f.owner, f.repo)
	f.mu.Lock()
	f.issuePrefetch = p
	f.mu.Unlock()
}

// UpsertIssue keeps the drift issue of a scheduled run.
func (f *Repo) UpsertIssue(ctx context.Context, req checker.IssueRequest) (checker.IssueResult, error) {
	f.mu.Lock()
	pre := f.issuePrefetch
	f.issuePrefetch = nil
	f.mu.Unlock()
	res, err := f.api.UpsertIssue(ctx, f.owner, f.repo, providers.IssueRequest{Context: req.Context, Workload: req.Workload,
		RunID: req.RunID, Open: req.Open, Title: req.Title, Body: req.Body, CloseComment: req.CloseComment,
		Labels: req.Labels, Prefetch: pre})
	out := checker.IssueResult{Action: string(res.Action), Number: res.Number, URL: res.URL, Since: res.Since, Reason: res.Reason}
	if errors.Is(err, providers.ErrForbidden) {
		return out, kindError{err, checker.ErrForbidden}
	}
	return out, err
}

// PrefetchComments starts reading the PR's comments and the token's identity; the next
// UpsertComment of the same PR uses them instead of reading again.
func (f *Repo) PrefetchComments(ctx context.Context, number, expected int) {
	p := f.api.PrefetchComments(ctx, f.owner, f.repo, number, expected)
	f.mu.Lock()
	f.prefetch = p
	f.mu.Unlock()
}

func (f *Repo) ReadFile(ctx context.Context, ref, path string) ([]byte, error) {
	b, err := f.api.DownloadFile(ctx, f.owner, f.repo, ref, path, gitops.MaxFileSize)
	switch {
	case errors.Is(err, providers.ErrFileNotFound):
		return nil, kindError{err, checker.ErrFileNotFound}
	case errors.Is(err, providers.ErrFileTooLarge):
		return nil, kindError{err, checker.ErrFileTooLarge}
	case errors.Is(err, providers.ErrForbidden):
		return nil, kindError{err, checker.ErrForbidden}
	}
	return b, err
}

func (f *Repo) SetStatus(ctx context.Context, st checker.Status) error {
	err := f.api.SetStatus(ctx, f.owner, f.repo, providers.CommitStatus{SHA: st.SHA, State: providers.State(st.State),
		Context: st.Context, Description: st.Description, TargetURL: st.TargetURL})
	if errors.Is(err, providers.ErrForbidden) {
		return kindError{err, checker.ErrForbidden}
	}
	return err
}

// UpsertComment writes the sticky comment.
func (f *Repo) UpsertComment(ctx context.Context, req checker.CommentRequest) (checker.CommentResult, error) {
	f.mu.Lock()
	pre := f.prefetch
	f.prefetch = nil // a prefetch serves one upsert: later ones read afresh
	f.mu.Unlock()
	res, err := f.api.UpsertComment(ctx, f.owner, f.repo, providers.CommentRequest{Number: req.Number, Context: req.Context,
		RunID: req.RunID, Body: req.Body, UpdateOnly: req.UpdateOnly, Prefetch: pre})
	out := checker.CommentResult{Action: checker.CommentAction(res.Action), URL: res.URL, Reason: res.Reason}
	if errors.Is(err, providers.ErrForbidden) {
		return out, kindError{err, checker.ErrForbidden}
	}
	return out, err
}
