// Package checkwire connects the checker to the real services: the Tinyforge API client
// (checker.LiveSource) and a forge provider bound to one repo (providers.Repo, which is the
// checker's FileReader, StatusSetter, CommentUpserter, CommentPrefetcher, IssueUpserter and
// IssuePrefetcher itself). The action and drift commands of tinyforge-check and the server's
// demo wire their checks with it.
package checkwire

import (
	"context"
	"fmt"

	"github.com/tinyforge/tinyforge-check/checker"
	"github.com/tinyforge/tinyforge-check/providers"
	"github.com/tinyforge/tinyforge-check/tinyforge"
)

// Forge is a provider, any of the three (*providers.GitHub, *providers.Gitea,
// *providers.GitLab): what the check needs of it is a repo bound for it. The reference server
// reads files through the same value (cmd/tinyforge-server checks that every provider can).
type Forge interface {
	// Repo binds the provider to owner/repo.
	Repo(owner, repo string) *providers.Repo
}

// OpenForge returns the provider of kind: "github", "gitea" (Gitea and Forgejo) or "gitlab".
// A failed constructor returns a nil interface, never a typed nil.
func OpenForge(kind string, opts providers.Options) (Forge, error) {
	var (
		f   Forge
		err error
	)
	switch kind {
	case string(checker.ForgeGitHub):
		f, err = providers.NewGitHub(opts)
	case string(checker.ForgeGitea):
		f, err = providers.NewGitea(opts)
	case string(checker.ForgeGitLab):
		f, err = providers.NewGitLab(opts)
	default:
		return nil, fmt.Errorf("unknown forge %q: use github, gitea or gitlab", kind)
	}
	if err != nil {
		return nil, err
	}
	return f, nil
}

// OpenRepo returns the provider of a forge kind, bound to owner/repo.
func OpenRepo(kind checker.Forge, opts providers.Options, owner, repo string) (*providers.Repo, error) {
	f, err := OpenForge(string(kind), opts)
	if err != nil {
		return nil, fmt.Errorf("forge %s: %w", kind, err)
	}
	return f.Repo(owner, repo), nil
}

// Live adapts the Tinyforge API client to checker.LiveSource. Its errors pass through: the
// client's not-found and forbidden errors match forge.ErrNotFound and forge.ErrForbidden.
func Live(c *tinyforge.Client) checker.LiveSource { return liveSource{c} }

// liveSource adapts the Tinyforge client to checker.LiveSource.
type liveSource struct{ c *tinyforge.Client }

func (l liveSource) GetWorkload(ctx context.Context, id int64) (*checker.Workload, error) {
	w, err := l.c.GetWorkload(ctx, id)
	if err != nil {
		return nil, err
	}
	return l.workload(w), nil
}

// FindWorkload looks a workload up by name: one request where the server answers the lookup
// with the whole workload, two otherwise.
func (l liveSource) FindWorkload(ctx context.Context, name string) (*checker.Workload, error) {
	w, err := l.c.FindWorkloadByName(ctx, name) // an all-digit name was already tried as an id
	if err != nil {
		return nil, err
	}
	return l.workload(w), nil
}

func (l liveSource) workload(w *tinyforge.Workload) *checker.Workload {
	ui := w.UIURL
	if ui == "" {
		ui = l.c.PageURL(w.ID)
	}
	return &checker.Workload{ID: w.ID, Name: w.Name, SourceType: w.SourceType, SourceConfig: w.SourceConfig,
		GitOpsEnabled: w.GitOps.Enabled, GitOpsPath: w.GitOps.Path, UIURL: ui, SetBy: w.SetBy}
}
