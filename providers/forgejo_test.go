package providers

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tinyforge/tinyforge-check/forge"
	"github.com/tinyforge/tinyforge-check/internal/forgefake"
)

// TestGiteaJobTokenAsksForgejo: with a job token on a runner that does not say which server it
// serves, the provider asks GET /api/forgejo/v1/version instead of GET /user, in the read
// round: Forgejo answers it (the job user is forgejo-actions), Gitea 404s (gitea-actions). The
// issue list by the gitea-actions hint goes out in the same round and again by forgejo-actions
// only on Forgejo; the answer is asked once for the comment and the issue alike.
func TestGiteaJobTokenAsksForgejo(t *testing.T) {
	const jobTok = "gitea-job-token-0123456789"
	for _, tc := range []struct {
		name    string
		forgejo string // forgefake.Options.Forgejo
		login   string
		rounds  [][]string
	}{
		{"gitea", "", GiteaActionsLogin, [][]string{{"GET /api/forgejo/v1/version", "GET /api/v1/repos/acme/app/issues?page=1"}}},
		{"forgejo", "11.0.3+gitea-1.22.0", ForgejoActionsLogin, [][]string{
			{"GET /api/forgejo/v1/version", "GET /api/v1/repos/acme/app/issues?page=1"}, {"GET /api/v1/repos/acme/app/issues?page=1"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sizes := make([]int, len(tc.rounds))
			for i, r := range tc.rounds {
				sizes[i] = len(r)
			}
			var rt *roundsTransport
			f, p := forgeCaseNamed(t, "gitea").setup(t, forgefake.Options{Forgejo: tc.forgejo}, func(o *Options) {
				rt = newRoundsTransport(o.HTTPClient.Transport, sizes...)
				hc := *o.HTTPClient
				hc.Transport = rt
				o.HTTPClient = &hc
				o.Token, o.JobToken, o.LoginHint = jobTok, true, GiteaActionsLogin
			})
			f.AddToken(jobTok, forgefake.Token{Login: tc.login})
			now := time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC)
			r := p.Repo(owner, repoName)
			r.PrefetchIssues(t.Context())
			res, err := r.UpsertIssue(t.Context(), issueReq(1, true, "drift", now))
			if err != nil || res.Action != forge.IssueOpened {
				t.Fatalf("upsert of a drifting run: %+v %v", res, err)
			}
			if diff := cmp.Diff(tc.rounds, rt.rounded()); diff != "" {
				t.Errorf("read rounds (-want +got):\n%s", diff)
			}
			c, err := r.UpsertComment(t.Context(), forge.CommentRequest{Number: 7, Context: ctxName, RunID: 1, Body: "drift"})
			if err != nil || c.Action != forge.CommentCreated {
				t.Fatalf("comment: %+v %v", c, err)
			}
			if cs := f.Comments(owner, repoName, 7); len(cs) != 1 || cs[0].Author != tc.login {
				t.Errorf("comments %+v, want one by %s", cs, tc.login)
			}
			for _, is := range f.(issueFake).Issues(owner, repoName) {
				if is.Author != tc.login {
					t.Errorf("issue #%d by %s, want %s", is.Number, is.Author, tc.login)
				}
			}
			asked := map[string]int{}
			for _, q := range f.Requests() {
				asked[q.Method+" "+q.Path]++
			}
			if asked["GET /api/forgejo/v1/version"] != 1 || asked["GET /api/v1/user"] != 0 {
				t.Errorf("asked the version %d times and /user %d times, want once and never", asked["GET /api/forgejo/v1/version"], asked["GET /api/v1/user"])
			}
		})
	}
}

// TestGiteaJobTokenVersionError: an answer of the version route that is neither Forgejo's nor
// Gitea's (here 500, after retries) is an error naming the request, with no guess.
func TestGiteaJobTokenVersionError(t *testing.T) {
	f, p := forgeCaseNamed(t, "gitea").setup(t, forgefake.Options{}, func(o *Options) { o.JobToken = true })
	f.SetFault(forgefake.Fault{Method: http.MethodGet, PathContains: "/api/forgejo/v1/version", Kind: forgefake.FaultStatus, Status: http.StatusInternalServerError})
	_, err := p.Repo(owner, repoName).UpsertComment(t.Context(), forge.CommentRequest{Number: 7, Context: ctxName, RunID: 1, Body: "drift"})
	if msg := fmt.Sprint(err); err == nil || !strings.Contains(msg, "GET /api/forgejo/v1/version") || !strings.Contains(msg, "500") {
		t.Fatalf("err = %v, want the version request's 500", err)
	}
	if cs := f.Comments(owner, repoName, 7); len(cs) != 0 {
		t.Errorf("comments %+v written without knowing who writes", cs)
	}
}
