package e2e

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tinyforge/tinyforge-check/forge"
	"github.com/tinyforge/tinyforge-check/providers"
)

// The scopes the docs and examples ask for on a Gitea bot token (docs/forges.md).
var botScopes = []string{"write:repository", "write:issue", "read:user"}

// fixture is one repository on the real Gitea, owned by a user, with a bot collaborator whose
// token has exactly botScopes, and a PR from branch feature.
type fixture struct {
	owner    auth
	repo     string
	bot      auth
	botToken string
	pr       map[string]any
	number   int
	base     string // main's head when the PR was opened
	head     string
}

// botComments returns the comments on the fixture's PR that the bot wrote.
func (f *fixture) botComments(t *testing.T) []giteaComment {
	t.Helper()
	var out []giteaComment
	for _, c := range w.gitea.comments(t, tokenAuth(f.botToken), f.owner.user, f.repo, f.number) {
		if c.User.Login == f.bot.user {
			out = append(out, c)
		}
	}
	return out
}

func newFixture(t *testing.T, private bool, files map[string]string) *fixture {
	t.Helper()
	g := w.gitea
	f := &fixture{owner: g.user(t, "owner"), bot: g.user(t, "bot")}
	f.repo = g.repo(t, f.owner, private)
	f.botToken = g.token(t, f.bot, botScopes...)
	g.collaborator(t, f.owner, f.repo, f.bot.user, "write")
	for path, content := range files {
		f.base = g.putFile(t, f.owner, f.repo, "main", path, content)
	}
	return f
}

// openPR puts content at path on branch feature and opens the PR.
func (f *fixture) openPR(t *testing.T, path, content string) {
	t.Helper()
	f.head = w.gitea.putFile(t, f.owner, f.repo, "feature", path, content)
	f.pr = w.gitea.pullRequest(t, f.owner, f.repo, "feature")
	f.number = prNumber(t, f.pr)
	if got := headSHA(t, f.pr); got != f.head {
		t.Fatalf("PR head %s, want %s", got, f.head)
	}
}

func newGiteaProvider(t *testing.T, token string) *providers.Gitea {
	t.Helper()
	p, err := providers.NewGitea(providers.Options{BaseURL: w.gitea.url, Token: token, VerifyDelay: -1,
		HTTPClient: providers.NewHTTPClient(providers.HTTPConfig{})})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestGiteaStatuses: statuses as a bot with the documented scopes set them, read back from the
// real Gitea: order, the warning state, no creator needed, and the description limit.
func TestGiteaStatuses(t *testing.T) {
	requireWorld(t)
	g := w.gitea
	f := newFixture(t, false, map[string]string{".tinyforge.yml": "version: 1\n"})
	p := newGiteaProvider(t, f.botToken)
	ctx := context.Background()

	for _, st := range []forge.State{forge.StatePending, forge.StateWarning, forge.StateSuccess} {
		if err := p.Repo(f.owner.user, f.repo).SetStatus(ctx, forge.CommitStatus{SHA: f.base, State: st, Context: "tinyforge/gitops",
			Description: "state " + string(st), TargetURL: "http://127.0.0.1:1/apps/3"}); err != nil {
			t.Fatalf("set %s: %v", st, err)
		}
	}
	got := g.statuses(t, tokenAuth(f.botToken), f.owner.user, f.repo, f.base)
	var states []string
	for _, s := range got {
		states = append(states, s.State+" "+s.Description)
	}
	// Gitea keeps every status; sort=highestindex lists them in creation order.
	if diff := cmp.Diff([]string{"pending state pending", "warning state warning", "success state success"}, states); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}

	// The description limit: the provider cuts at forge.MaxDescription; a raw request
	// measures what Gitea itself keeps.
	long := strings.Repeat("d", 1000)
	code, body := g.call(t, tokenAuth(f.botToken), "POST", "/repos/"+f.owner.user+"/"+f.repo+"/statuses/"+f.base,
		map[string]any{"state": "success", "context": "raw/limit", "description": long})
	if code != http.StatusCreated {
		t.Fatalf("a 1000-character description: %d %s", code, body)
	}
	for _, s := range g.statuses(t, tokenAuth(f.botToken), f.owner.user, f.repo, f.base) {
		if s.Context == "raw/limit" {
			t.Logf("Gitea 1.26 kept %d of 1000 description characters", len(s.Description))
			if len(s.Description) < forge.MaxDescription {
				t.Errorf("Gitea kept %d characters, fewer than forge.MaxDescription (%d)", len(s.Description), forge.MaxDescription)
			}
		}
	}
	if err := p.Repo(f.owner.user, f.repo).SetStatus(ctx, forge.CommitStatus{SHA: f.base, State: forge.StateFailure, Context: "tinyforge/long", Description: long}); err != nil {
		t.Fatalf("a long description through the provider: %v", err)
	}
	for _, s := range g.statuses(t, tokenAuth(f.botToken), f.owner.user, f.repo, f.base) {
		if s.Context == "tinyforge/long" && len([]rune(s.Description)) != forge.MaxDescription {
			t.Errorf("the provider's long description came back with %d characters, want %d", len([]rune(s.Description)), forge.MaxDescription)
		}
	}
}

// TestGiteaStickyComment: create, no write when unchanged, edit in place, and found among many
// comments of other users (one of them quoting the marker).
func TestGiteaStickyComment(t *testing.T) {
	requireWorld(t)
	g := w.gitea
	f := newFixture(t, false, map[string]string{".tinyforge.yml": "version: 1\n"})
	f.openPR(t, ".tinyforge.yml", "version: 1\ndeploy:\n  port: 8080\n")
	p := newGiteaProvider(t, f.botToken)
	ctx := context.Background()

	// A human quotes the marker; others chat. None of it may be touched.
	human := g.token(t, f.owner, "write:issue")
	for i := 0; i < 30; i++ {
		body := fmt.Sprintf("comment %d", i)
		if i == 3 {
			body = "<!-- tinyforge-check:tinyforge/gitops run=999999 -->\nI pasted the marker"
		}
		g.must(t, tokenAuth(human), "POST", fmt.Sprintf("/repos/%s/%s/issues/%d/comments", f.owner.user, f.repo, f.number), map[string]any{"body": body}, http.StatusCreated, nil)
	}
	// The body limit: Gitea keeps far more than GitHub's 65,536 characters (the providers cap
	// bodies at forge.MaxCommentBody themselves, so a comment reads the same everywhere).
	huge := strings.Repeat("y", 200000)
	g.must(t, tokenAuth(human), "POST", fmt.Sprintf("/repos/%s/%s/issues/%d/comments", f.owner.user, f.repo, f.number), map[string]any{"body": huge}, http.StatusCreated, nil)
	for _, c := range g.comments(t, tokenAuth(human), f.owner.user, f.repo, f.number) {
		if strings.HasPrefix(c.Body, "yyy") && len(c.Body) != len(huge) {
			t.Errorf("Gitea kept %d of %d comment characters", len(c.Body), len(huge))
		}
	}
	req := forge.CommentRequest{Number: f.number, Context: "tinyforge/gitops", RunID: 10, Body: "drift: 1 field"}
	res, err := p.Repo(f.owner.user, f.repo).UpsertComment(ctx, req)
	if err != nil || res.Action != forge.CommentCreated || !strings.HasPrefix(res.URL, g.url+"/") {
		t.Fatalf("first upsert: %+v %v", res, err)
	}
	if res, err := p.Repo(f.owner.user, f.repo).UpsertComment(ctx, req); err != nil || res.Action != forge.CommentUnchanged {
		t.Fatalf("unchanged rerun: %+v %v", res, err)
	}
	req.RunID, req.Body = 11, "in sync"
	if res, err := p.Repo(f.owner.user, f.repo).UpsertComment(ctx, req); err != nil || res.Action != forge.CommentUpdated {
		t.Fatalf("edit: %+v %v", res, err)
	}
	var ours []giteaComment
	for _, c := range g.comments(t, tokenAuth(f.botToken), f.owner.user, f.repo, f.number) {
		if c.User.Login == f.bot.user {
			ours = append(ours, c)
		} else if strings.Contains(c.Body, "I pasted the marker") && !strings.Contains(c.Body, "run=999999") {
			t.Errorf("the human's comment was changed: %q", c.Body)
		}
	}
	if len(ours) != 1 || !strings.HasSuffix(ours[0].Body, "in sync") || !strings.HasPrefix(ours[0].Body, "<!-- tinyforge-check:tinyforge/gitops run=11 -->") {
		t.Errorf("the bot's comments: %+v, want exactly one, edited to run 11", ours)
	}
}

// TestGiteaFiles: the file at the base and the head of a PR, a missing file, one over the cap.
func TestGiteaFiles(t *testing.T) {
	requireWorld(t)
	f := newFixture(t, true, map[string]string{".tinyforge.yml": "version: 1\n", "big.yml": strings.Repeat("#", 70<<10)})
	f.openPR(t, ".tinyforge.yml", "version: 1\ndeploy:\n  port: 9090\n")
	p := newGiteaProvider(t, f.botToken)
	ctx := context.Background()
	for _, tc := range []struct {
		ref, path, want string
		err             error
	}{
		{f.base, ".tinyforge.yml", "version: 1\n", nil},
		{f.head, ".tinyforge.yml", "version: 1\ndeploy:\n  port: 9090\n", nil},
		{"feature", ".tinyforge.yml", "version: 1\ndeploy:\n  port: 9090\n", nil},
		{f.head, "missing.yml", "", forge.ErrFileNotFound},
		{strings.Repeat("0", 40), ".tinyforge.yml", "", forge.ErrFileNotFound},
		{f.base, "big.yml", "", forge.ErrFileTooLarge},
	} {
		got, err := p.DownloadFile(ctx, f.owner.user, f.repo, tc.ref, tc.path, 0)
		if tc.err != nil {
			if !errors.Is(err, tc.err) {
				t.Errorf("%s at %s: err %v, want %v", tc.path, tc.ref, err, tc.err)
			}
			continue
		}
		if err != nil || string(got) != tc.want {
			t.Errorf("%s at %s: %q %v, want %q", tc.path, tc.ref, got, err, tc.want)
		}
	}
	if head, err := p.BranchHead(ctx, f.owner.user, f.repo, "feature"); err != nil || head != f.head {
		t.Errorf("BranchHead(feature) = %s %v, want %s", head, err, f.head)
	}
}

// TestGiteaErrors: 401, 403 and 404 from the real Gitea map onto the errors docs/forges.md
// promises, and no token reaches an error text.
func TestGiteaErrors(t *testing.T) {
	requireWorld(t)
	g := w.gitea
	f := newFixture(t, true, map[string]string{".tinyforge.yml": "version: 1\n"})
	f.openPR(t, ".tinyforge.yml", "version: 1\n")
	ctx := context.Background()
	status := forge.CommitStatus{SHA: f.head, State: forge.StateSuccess, Context: "tinyforge/gitops", Description: "x"}

	wrong := "0123456789abcdef0123456789abcdef01234567"
	err := newGiteaProvider(t, wrong).Repo(f.owner.user, f.repo).SetStatus(ctx, status)
	if !errors.Is(err, providers.ErrUnauthorized) || strings.Contains(err.Error(), wrong) {
		t.Errorf("a wrong token: %v, want ErrUnauthorized without the token", err)
	}

	// A user who may read the repo but not write it: the fork-PR situation.
	reader := g.user(t, "reader")
	g.collaborator(t, f.owner, f.repo, reader.user, "read")
	readTok := g.token(t, reader, botScopes...)
	err = newGiteaProvider(t, readTok).Repo(f.owner.user, f.repo).SetStatus(ctx, status)
	if !errors.Is(err, forge.ErrForbidden) || strings.Contains(err.Error(), readTok) {
		t.Errorf("a read-only collaborator setting a status: %v, want ErrForbidden without the token", err)
	}

	// A token missing read:user cannot learn its identity, so it cannot keep the comment: the
	// error must say which scope is missing.
	noUser := g.token(t, f.bot, "write:repository", "write:issue")
	_, err = newGiteaProvider(t, noUser).Repo(f.owner.user, f.repo).UpsertComment(ctx, forge.CommentRequest{Number: f.number, Context: "c", RunID: 1, Body: "x"})
	if !errors.Is(err, forge.ErrForbidden) || !strings.Contains(err.Error(), "read:user") {
		t.Errorf("a token without read:user: %v, want ErrForbidden naming the read:user scope", err)
	}

	// A stranger cannot see the private repo at all: 404.
	stranger := g.token(t, g.user(t, "stranger"), botScopes...)
	_, err = newGiteaProvider(t, stranger).BranchHead(ctx, f.owner.user, f.repo, "main")
	if !errors.Is(err, forge.ErrNotFound) {
		t.Errorf("a stranger reading a private repo: %v, want ErrNotFound", err)
	}
	_, err = newGiteaProvider(t, f.botToken).BranchHead(ctx, f.owner.user, f.repo, "no-such-branch")
	if !errors.Is(err, forge.ErrNotFound) {
		t.Errorf("a missing branch: %v, want ErrNotFound", err)
	}
}
