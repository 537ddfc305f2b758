package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tinyforge/tinyforge-check/forge"
)

// TestGiteaPermissionScopes measures on the real Gitea 1.26 the table of docs/forges.md
// ("Gitea 1.26 permissions:"): every call the check makes, with what each permissions: scope
// grants a job token. Only Gitea's own runner gets a job token, so the test stands in for it with
// a user whose collaborator access is the units' access mode (a job token's permission is a
// per-unit access mode, checked by the same handlers: models/perm/access/repo_permission.go,
// GetActionsUserRepoPermission) and whose access token has the scope category each route
// requires (routers/api/v1/api.go, tokenRequiresScopes). It also measures that Gitea has no
// /api/forgejo/v1/version (the provider's Forgejo question) and answers it 404.
func TestGiteaPermissionScopes(t *testing.T) {
	requireWorld(t)
	g := w.gitea
	f := newFixture(t, true, map[string]string{".tinyforge.yml": "version: 1\n"})
	f.openPR(t, ".tinyforge.yml", "version: 1\ndeploy:\n  port: 8080\n")
	g.must(t, f.owner, "POST", fmt.Sprintf("/repos/%s/%s/labels", f.owner.user, f.repo),
		map[string]any{"name": "tinyforge", "color": "#00aabb"}, http.StatusCreated, nil)
	ctx := context.Background()
	status := forge.CommitStatus{SHA: f.head, State: forge.StateWarning, Context: "tinyforge/gitops", Description: "drift"}
	t0 := time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC)
	issue := func(run int64, open bool) forge.IssueRequest {
		return forge.IssueRequest{Context: "tinyforge/gitops", Workload: 7, RunID: run, Open: open, Title: "Tinyforge: web drifts",
			Body:         func(since time.Time) string { return "since " + since.Format(time.RFC3339) },
			CloseComment: "Live matches the file again: closing.", Labels: []string{"tinyforge"}, Now: func() time.Time { return t0 }}
	}
	labels := func(number int) []string {
		var is giteaIssue
		g.must(t, f.owner, "GET", fmt.Sprintf("/repos/%s/%s/issues/%d", f.owner.user, f.repo, number), nil, http.StatusOK, &is)
		var out []string
		for _, l := range is.Labels {
			out = append(out, l.Name)
		}
		return out
	}

	// contents: read, pull-requests: read, issues: read — every unit read, as a read collaborator.
	reader := g.user(t, "reader")
	g.collaborator(t, f.owner, f.repo, reader.user, "read")
	readTok := g.token(t, reader, botScopes...)
	p := newGiteaProvider(t, readTok).Repo(f.owner.user, f.repo)
	if b, err := newGiteaProvider(t, readTok).DownloadFile(ctx, f.owner.user, f.repo, f.base, ".tinyforge.yml", 0); err != nil || string(b) != "version: 1\n" {
		t.Errorf("contents: read, the file at the base: %q %v", b, err)
	}
	if head, err := newGiteaProvider(t, readTok).BranchHead(ctx, f.owner.user, f.repo, "feature"); err != nil || head != f.head {
		t.Errorf("contents: read, the branch head: %s %v", head, err)
	}
	if err := p.SetStatus(ctx, status); !errors.Is(err, forge.ErrForbidden) {
		t.Errorf("contents: read, the status: %v, want ErrForbidden (POST statuses needs the code unit's write)", err)
	}
	req := forge.CommentRequest{Number: f.number, Context: "tinyforge/gitops", RunID: 1, Body: "drift: port 8080"}
	if res, err := p.UpsertComment(ctx, req); err != nil || res.Action != forge.CommentCreated {
		t.Errorf("pull-requests: read, the first comment: %+v %v, want created (a reader may comment)", res, err)
	}
	req.RunID, req.Body = 2, "drift: port 9090"
	if res, err := p.UpsertComment(ctx, req); err != nil || res.Action != forge.CommentUpdated {
		t.Errorf("pull-requests: read, editing its own comment: %+v %v, want updated (the poster may edit)", res, err)
	}
	opened, err := p.UpsertIssue(ctx, issue(1, true))
	if err != nil || opened.Action != forge.IssueOpened {
		t.Fatalf("issues: read, the drift issue: %+v %v, want opened", opened, err)
	}
	if got := labels(opened.Number); len(got) != 0 {
		t.Errorf("issues: read, labels %v: Gitea drops labels of a non-writer, want none", got)
	}
	if res, err := p.UpsertIssue(ctx, issue(2, false)); err != nil || res.Action != forge.IssueClosed {
		t.Errorf("issues: read, closing its own issue: %+v %v, want closed (the poster may)", res, err)
	}

	// contents: write, issues: write — a write collaborator (the fixture's bot).
	bp := newGiteaProvider(t, f.botToken).Repo(f.owner.user, f.repo)
	if err := bp.SetStatus(ctx, status); err != nil {
		t.Errorf("contents: write, the status: %v", err)
	}
	bOpened, err := bp.UpsertIssue(ctx, issue(3, true))
	if err != nil || bOpened.Action != forge.IssueOpened {
		t.Fatalf("issues: write, the drift issue: %+v %v", bOpened, err)
	}
	if got := labels(bOpened.Number); len(got) != 1 || got[0] != "tinyforge" {
		t.Errorf("issues: write, labels %v, want [tinyforge]", got)
	}

	// The access token's side: read:repository reads files but sets no status, whatever the
	// collaborator's access.
	repoRead := g.token(t, f.bot, "read:repository", "write:issue", "read:user")
	if _, err := newGiteaProvider(t, repoRead).DownloadFile(ctx, f.owner.user, f.repo, f.head, ".tinyforge.yml", 0); err != nil {
		t.Errorf("read:repository, the file: %v", err)
	}
	if err := newGiteaProvider(t, repoRead).Repo(f.owner.user, f.repo).SetStatus(ctx, status); !errors.Is(err, forge.ErrForbidden) || !strings.Contains(err.Error(), "write:repository") {
		t.Errorf("read:repository, the status: %v, want ErrForbidden naming write:repository", err)
	}

	// Gitea has no Forgejo version route: the provider's question (Options.JobToken) gets 404,
	// as the Gitea fake answers it (forgefake.ForgejoVersionPath).
	resp, err := http.Get(g.url + "/api/forgejo/v1/version")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
	resp.Body.Close()
	t.Logf("GET /api/forgejo/v1/version on Gitea 1.26: %d %s %q", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	if resp.StatusCode != http.StatusNotFound || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Errorf("GET /api/forgejo/v1/version on Gitea = %d %s, want 404 text/plain (as forgefake answers it)", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}
