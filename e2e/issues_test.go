package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tinyforge/tinyforge-check/forge"
	"github.com/tinyforge/tinyforge-check/providers"
)

// giteaIssue is what the test reads of an issue from the real Gitea.
type giteaIssue struct {
	Number int    `json:"number"`
	Title  string `json:"title"`
	Body   string `json:"body"`
	State  string `json:"state"`
	User   struct {
		Login string `json:"login"`
	} `json:"user"`
	Labels []struct {
		Name string `json:"name"`
	} `json:"labels"`
}

// TestGiteaScheduledIssueCycle drives a scheduled check's drift issue on the real Gitea, as a bot
// with the documented scopes: opened (with an existing label), no write while unchanged, edited,
// closed with a comment, left alone while in sync, reopened instead of duplicated. A person's
// issue with the same title and a copied marker is never touched.
func TestGiteaScheduledIssueCycle(t *testing.T) {
	requireWorld(t)
	g := w.gitea
	f := newFixture(t, false, map[string]string{".tinyforge.yml": "version: 1\n"})
	var label struct {
		ID int64 `json:"id"`
	}
	g.must(t, f.owner, "POST", fmt.Sprintf("/repos/%s/%s/labels", f.owner.user, f.repo),
		map[string]any{"name": "tinyforge", "color": "#00aabb"}, http.StatusCreated, &label)
	t0 := time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC)
	title := "Tinyforge: web drifts from live (tinyforge/gitops)"
	var human giteaIssue
	g.must(t, f.owner, "POST", fmt.Sprintf("/repos/%s/%s/issues", f.owner.user, f.repo),
		map[string]any{"title": title, "body": providers.IssueMarker("tinyforge/gitops", 7, 999, t0) + "\ncopied by hand"}, http.StatusCreated, &human)

	p := newGiteaProvider(t, f.botToken)
	ctx := context.Background()
	req := func(run int64, open bool, text string, now time.Time) forge.IssueRequest {
		return forge.IssueRequest{Context: "tinyforge/gitops", Workload: 7, RunID: run, Open: open, Title: title,
			Body:         func(since time.Time) string { return "since " + since.Format(time.RFC3339) + ": " + text },
			CloseComment: "Live matches the file again: closing.", Labels: []string{"tinyforge", "no-such-label"},
			Now: func() time.Time { return now }}
	}
	list := func() map[int]giteaIssue {
		var all []giteaIssue
		g.must(t, f.owner, "GET", fmt.Sprintf("/repos/%s/%s/issues?state=all&type=issues&limit=50", f.owner.user, f.repo), nil, http.StatusOK, &all)
		out := map[int]giteaIssue{}
		for _, is := range all {
			out[is.Number] = is
		}
		return out
	}
	step := func(name string, r forge.IssueRequest, want forge.IssueAction) forge.IssueResult {
		t.Helper()
		res, err := p.Repo(f.owner.user, f.repo).UpsertIssue(ctx, r)
		if err != nil || res.Action != want {
			t.Fatalf("%s: %+v, %v; want %s", name, res, err, want)
		}
		return res
	}

	opened := step("drift", req(1, true, "port 8080 vs 3000", t0), forge.IssueOpened)
	if !strings.Contains(opened.Reason, "no-such-label") {
		t.Errorf("the missing label is not reported: %q", opened.Reason)
	}
	is := list()[opened.Number]
	if is.State != "open" || is.User.Login != f.bot.user || !strings.HasSuffix(is.Body, "since 2026-12-01T06:00:00Z: port 8080 vs 3000") ||
		len(is.Labels) != 1 || is.Labels[0].Name != "tinyforge" {
		t.Fatalf("opened issue on Gitea: %+v", is)
	}
	step("unchanged", req(2, true, "port 8080 vs 3000", t0.Add(time.Hour)), forge.IssueUnchanged)
	step("changed", req(3, true, "port 9090 vs 3000", t0.Add(2*time.Hour)), forge.IssueUpdated)
	if is := list()[opened.Number]; !strings.HasSuffix(is.Body, "since 2026-12-01T06:00:00Z: port 9090 vs 3000") {
		t.Errorf("edited body: %q", is.Body)
	}
	step("in sync", req(4, false, "", t0.Add(3*time.Hour)), forge.IssueClosed)
	if is := list()[opened.Number]; is.State != "closed" {
		t.Errorf("after in sync the issue is %s", is.State)
	}
	cs := g.comments(t, f.owner, f.owner.user, f.repo, opened.Number)
	if len(cs) != 1 || cs[0].Body != "Live matches the file again: closing." {
		t.Errorf("closing comments: %+v", cs)
	}
	step("still in sync", req(5, false, "", t0.Add(4*time.Hour)), forge.IssueNone)
	re := step("drift again", req(6, true, "healthcheck", t0.Add(5*time.Hour)), forge.IssueReopened)
	all := list()
	if re.Number != opened.Number || all[opened.Number].State != "open" || len(all) != 2 {
		t.Errorf("reopened #%d; issues %+v", re.Number, all)
	}
	if h := all[human.Number]; h.State != "open" || !strings.HasSuffix(h.Body, "copied by hand") {
		t.Errorf("the person's issue was touched: %+v", h)
	}
}
