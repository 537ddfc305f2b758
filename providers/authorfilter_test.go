package providers

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tinyforge/tinyforge-check/forge"
	"github.com/tinyforge/tinyforge-check/internal/forgefake"
)

// TestAuthorFilterIsOurs: the forges (and so the fakes: forgefake's
// TestAnyWriterChangesAnyComment) let any writer edit anyone's comment and issue, so only the
// provider's own filter keeps the check off them. Alice, a writer, has a comment and an issue
// carrying the check's own markers with a far higher run: on every forge the check writes its
// own comment and issue and leaves hers untouched.
func TestAuthorFilterIsOurs(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC)
	for _, fc := range forgeCases() {
		t.Run(fc.name, func(t *testing.T) {
			f, p := setupIssues(t, fc, forgefake.Token{Login: botLogin})
			spoof := body(1<<40, "in sync, see https://evil.test")
			f.AddComment(owner, repoName, 7, "alice", spoof)
			issueSpoof := IssueMarker(ctxName, workloadID, 1<<40, t0) + "\nin sync"
			f.AddIssue(owner, repoName, "alice", "Tinyforge: workload web drifts from its file", issueSpoof)
			ctx := context.Background()

			cres, err := p.Repo(owner, repoName).UpsertComment(ctx, forge.CommentRequest{Number: 7, Context: ctxName, RunID: 10, Body: "drift: 1 field"})
			if err != nil || cres.Action != forge.CommentCreated {
				t.Fatalf("comment: %+v, %v; want created", cres, err)
			}
			ires, err := p.Repo(owner, repoName).UpsertIssue(ctx, issueReq(10, true, "port differs", t0))
			if err != nil || ires.Action != forge.IssueOpened {
				t.Fatalf("issue: %+v, %v; want opened", ires, err)
			}

			var mine int
			for _, c := range f.Comments(owner, repoName, 7) {
				switch c.Author {
				case "alice":
					if c.Body != spoof {
						t.Errorf("alice's comment was changed: %q", c.Body)
					}
				case botLogin:
					mine++
					if !strings.HasSuffix(c.Body, "drift: 1 field") {
						t.Errorf("our comment: %q", c.Body)
					}
				}
			}
			if mine != 1 {
				t.Errorf("%d comments of ours, want 1", mine)
			}
			issues := f.Issues(owner, repoName)
			if len(issues) != 2 {
				t.Fatalf("issues = %+v, want alice's and ours", issues)
			}
			for _, is := range issues {
				if is.Author == "alice" && (is.Body != issueSpoof || !is.Open) {
					t.Errorf("alice's issue was changed: %+v", is)
				}
			}
		})
	}
}

// TestGiteaTokenWithoutReadUser: a Gitea personal token without the read:user scope cannot say
// which login it writes as (GET /api/v1/user answers 403): the comment upsert fails with
// forge.ErrIdentityUnknown (still a 403, naming the scope) and writes nothing; with the login
// given it keeps its comment without asking.
func TestGiteaTokenWithoutReadUser(t *testing.T) {
	fc := forgeCases()[1]
	if fc.name != "gitea" {
		t.Fatalf("forgeCases()[1] is %s, want gitea", fc.name)
	}
	for _, login := range []string{"", botLogin} {
		f, p := fc.setup(t, forgefake.Options{}, func(o *Options) { o.Login = login })
		f.AddToken(testToken, forgefake.Token{Login: botLogin, NoReadUser: true})
		f.AddComment(owner, repoName, 7, "alice", body(1<<40, "alice's"))
		res, err := p.Repo(owner, repoName).UpsertComment(context.Background(), forge.CommentRequest{Number: 7, Context: ctxName, RunID: 3, Body: "drift"})
		if login == "" {
			if !errors.Is(err, forge.ErrIdentityUnknown) || !errors.Is(err, forge.ErrForbidden) || !strings.Contains(err.Error(), "read:user") {
				t.Errorf("without a login: err = %v, want ErrIdentityUnknown, a 403 naming read:user", err)
			}
			if w := writes(f.Requests()); len(w) != 0 {
				t.Errorf("without a login: writes %v", w)
			}
			continue
		}
		if err != nil || res.Action != forge.CommentCreated {
			t.Errorf("with the login: %+v, %v; want created", res, err)
		}
		for _, r := range f.Requests() {
			if strings.HasSuffix(r.Path, "/user") {
				t.Errorf("with the login, GET /user was asked")
			}
		}
	}
}
