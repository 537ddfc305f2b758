package providers

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tinyforge/tinyforge-check/forge"
	"github.com/tinyforge/tinyforge-check/internal/forgefake"
)

// issueForge is what the issue tests need from a provider.
type issueForge interface {
	Repo(owner, repo string) *Repo
}

// issueFake is what the issue tests need from a fake.
type issueFake interface {
	fake
	AddIssue(owner, repo, author, title, body string) int
	Issues(owner, repo string) []forgefake.Issue
}

const workloadID = 42

// issueReq is a request of run for workload 42 whose body is text, rendered with its since.
func issueReq(run int64, open bool, text string, now time.Time) forge.IssueRequest {
	return forge.IssueRequest{Context: ctxName, Workload: workloadID, RunID: run, Open: open,
		Title: "Tinyforge: workload web drifts from its file",
		Body: func(since time.Time) string {
			return "Drifting since " + since.Format(time.RFC3339) + "\n\n" + text
		},
		CloseComment: "Live matches the file again; closing.", Labels: []string{"tinyforge"},
		Now: func() time.Time { return now }}
}

// ourIssues returns the fake's issues of botLogin carrying a marker.
func ourIssues(f issueFake) []forgefake.Issue {
	var out []forgefake.Issue
	for _, is := range f.Issues(owner, repoName) {
		if is.Author == botLogin && strings.HasPrefix(is.Body, issueMarkerPrefix) {
			out = append(out, is)
		}
	}
	return out
}

func setupIssues(t *testing.T, fc forgeCase, tk forgefake.Token) (issueFake, issueForge) {
	t.Helper()
	return setupIssuesWith(t, fc, forgefake.Options{}, tk)
}

// setupIssuesWith is setupIssues with the fake's options.
func setupIssuesWith(t *testing.T, fc forgeCase, fo forgefake.Options, tk forgefake.Token) (issueFake, issueForge) {
	t.Helper()
	f, p := fc.setup(t, fo, nil)
	f.AddToken(testToken, tk)
	ifk, ok := f.(issueFake)
	if !ok {
		t.Fatalf("the %s fake has no issues", fc.name)
	}
	if g, ok := f.(interface {
		AddLabel(owner, repo, name string) int64
	}); ok {
		g.AddLabel(owner, repoName, "tinyforge")
	}
	return ifk, p.(issueForge)
}

// TestUpsertIssueCycle walks one workload's issue through a drift's life on every forge:
// opened, no write while unchanged, edited when the drift changes, closed with a comment when
// live matches, nothing while in sync, reopened (not duplicated) on the next drift. A human's
// issue with the same title and even a copied marker is never touched.
func TestUpsertIssueCycle(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC)
	for _, fc := range forgeCases() {
		t.Run(fc.name, func(t *testing.T) {
			f, p := setupIssues(t, fc, forgefake.Token{Login: botLogin})
			ctx := context.Background()
			human := f.AddIssue(owner, repoName, "alice", "Tinyforge: workload web drifts from its file",
				IssueMarker(ctxName, workloadID, 999, t0)+"\ncopied by hand")

			step := func(name string, req forge.IssueRequest, want forge.IssueAction, wantWrites bool) forge.IssueResult {
				t.Helper()
				f.ResetRequests()
				res, err := p.Repo(owner, repoName).UpsertIssue(ctx, req)
				if err != nil || res.Action != want {
					t.Fatalf("%s: %+v, %v; want %s", name, res, err, want)
				}
				if w := writes(f.Requests()); wantWrites != (len(w) > 0) {
					t.Errorf("%s: writes %v, want writes=%v", name, w, wantWrites)
				}
				return res
			}

			opened := step("first drift", issueReq(1, true, "port: 3000 live, 8080 in the file", t0), forge.IssueOpened, true)
			ours := ourIssues(f)
			if len(ours) != 1 || !ours[0].Open || ours[0].Number != opened.Number {
				t.Fatalf("after opening, our issues are %+v", ours)
			}
			if !strings.Contains(ours[0].Body, "Drifting since 2026-12-01T06:00:00Z") || !strings.Contains(ours[0].Body, "8080 in the file") {
				t.Errorf("opened body:\n%s", ours[0].Body)
			}
			if diff := cmp.Diff([]string{"tinyforge"}, ours[0].Labels); diff != "" {
				t.Errorf("labels (-want +got):\n%s", diff)
			}

			step("same drift later", issueReq(2, true, "port: 3000 live, 8080 in the file", t0.Add(time.Hour)), forge.IssueUnchanged, false)

			upd := step("drift changed", issueReq(3, true, "port: 3000 live, 9090 in the file", t0.Add(2*time.Hour)), forge.IssueUpdated, true)
			ours = ourIssues(f)
			if len(ours) != 1 || upd.Number != opened.Number || !strings.Contains(ours[0].Body, "9090") ||
				!strings.Contains(ours[0].Body, "since 2026-12-01T06:00:00Z") {
				t.Errorf("after the edit (number %d, since kept): %+v", upd.Number, ours)
			}

			closed := step("in sync", issueReq(4, false, "", t0.Add(3*time.Hour)), forge.IssueClosed, true)
			ours = ourIssues(f)
			if len(ours) != 1 || ours[0].Open || closed.Number != opened.Number {
				t.Errorf("after closing: %+v", ours)
			}
			if cs := f.Comments(owner, repoName, opened.Number); len(cs) != 1 || cs[0].Body != "Live matches the file again; closing." {
				t.Errorf("closing comments: %+v", cs)
			}

			step("still in sync", issueReq(5, false, "", t0.Add(4*time.Hour)), forge.IssueNone, false)

			re := step("drift again", issueReq(6, true, "healthcheck: /ready live, /healthz in the file", t0.Add(5*time.Hour)), forge.IssueReopened, true)
			ours = ourIssues(f)
			if len(ours) != 1 || !ours[0].Open || re.Number != opened.Number ||
				!strings.Contains(ours[0].Body, "since 2026-12-01T11:00:00Z") || !strings.Contains(ours[0].Body, "/ready") {
				t.Errorf("after reopening (number %d): %+v", re.Number, ours)
			}

			// A late run older than the one that reopened it does not close it.
			if res, err := p.Repo(owner, repoName).UpsertIssue(ctx, issueReq(5, false, "", t0)); err != nil || res.Action != forge.IssueSkipped {
				t.Errorf("an older in-sync run: %+v, %v; want skipped", res, err)
			}

			for _, is := range f.Issues(owner, repoName) {
				if is.Number == human {
					if !is.Open || !strings.HasSuffix(is.Body, "copied by hand") {
						t.Errorf("the human's issue was touched: %+v", is)
					}
				}
			}
		})
	}
}

// TestUpsertIssueRace: 20 scheduled runs racing on a drift, each its own provider as separate
// jobs are, leave exactly one open issue of ours holding the newest run's body; the duplicates
// are closed and lose the issue marker; the next run converges it to its own body. As in
// TestUpsertCommentConcurrent, the forge answers after 3 ms, and runs wait 200 ms before they
// verify (2 s by default; 100 ms never lost the newest body in 240 runs under two CPU hogs, the
// margin is for slower machines): forges have no conditional writes, so newest-run-wins rests on an
// older run's write landing within the verify delay of the list it was based on.
func TestUpsertIssueRace(t *testing.T) {
	for _, fc := range forgeCases() {
		t.Run(fc.name, func(t *testing.T) {
			f, p := setupIssuesWith(t, fc, forgefake.Options{Latency: 3 * time.Millisecond}, forgefake.Token{Login: botLogin})
			now := time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC)
			var wg sync.WaitGroup
			errs := make(chan error, 20)
			for run := int64(1); run <= 20; run++ {
				job := fc.newProvider(t, f, Options{Token: testToken, HTTPClient: testClient(t, nil)}).(issueForge)
				wg.Add(1)
				go func() {
					defer wg.Done()
					if _, err := job.Repo(owner, repoName).UpsertIssue(t.Context(), issueReq(run, true, fmt.Sprintf("body of run %d", run), now)); err != nil {
						errs <- err
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			var open []forgefake.Issue
			for _, is := range ourIssues(f) {
				if is.Open {
					open = append(open, is)
				}
			}
			if len(open) != 1 || !strings.HasSuffix(open[0].Body, "\nDrifting since 2026-12-01T06:00:00Z\n\nbody of run 20") {
				t.Fatalf("open issues of ours after 20 racing runs: %+v", open)
			}
			for _, is := range f.Issues(owner, repoName) {
				if is.Number != open[0].Number && (is.Open || strings.HasPrefix(is.Body, issueMarkerPrefix)) {
					t.Errorf("a duplicate is still open or marked: %+v", is)
				}
			}
			if _, err := p.Repo(owner, repoName).UpsertIssue(t.Context(), issueReq(21, true, "body of run 21", now)); err != nil {
				t.Fatal(err)
			}
			var after []forgefake.Issue
			for _, is := range ourIssues(f) {
				if is.Open {
					after = append(after, is)
				}
			}
			if len(after) != 1 || after[0].Number != open[0].Number || !strings.HasSuffix(after[0].Body, "body of run 21") {
				t.Errorf("the run after the race did not converge the one issue: %+v", after)
			}
		})
	}
}

// TestUpsertIssueRaceLag: 20 scheduled runs racing on a drift against a fake whose lists lag
// its writes by 200 ms (forgefake.Options.ReadLag), with the default settings, leave exactly
// one open issue of ours; which run's body it holds is logged, not asserted (docs/design.md,
// Racing runs).
func TestUpsertIssueRaceLag(t *testing.T) {
	for _, fc := range forgeCases() {
		t.Run(fc.name, func(t *testing.T) {
			f, _ := setupIssuesWith(t, fc, forgefake.Options{Latency: 3 * time.Millisecond, ReadLag: 200 * time.Millisecond}, forgefake.Token{Login: botLogin})
			now := time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC)
			var wg sync.WaitGroup
			for run := int64(1); run <= 20; run++ {
				job := fc.newProvider(t, f, Options{Token: testToken, HTTPClient: testClient(t, nil)}).(issueForge)
				wg.Go(func() {
					if _, err := job.Repo(owner, repoName).UpsertIssue(t.Context(), issueReq(run, true, fmt.Sprintf("body of run %d", run), now)); err != nil {
						t.Errorf("run %d: %v", run, err)
					}
				})
			}
			wg.Wait()
			var open []forgefake.Issue
			for _, is := range ourIssues(f) {
				if is.Open {
					open = append(open, is)
				}
			}
			if len(open) != 1 {
				t.Fatalf("%d open issues of ours after 20 racing runs on a lagging replica, want 1: %+v", len(open), open)
			}
			t.Logf("the open issue ends %q", open[0].Body[strings.LastIndex(open[0].Body, "\n")+1:])
		})
	}
}

// TestUpsertIssuePinnedMarker (issue 22): an open issue of the check's account whose marker
// says run=9223372036854775807 (anyone posting as that account can write one) does not count as
// a newer run's: a drifting run overwrites it, and an in-sync run closes it.
func TestUpsertIssuePinnedMarker(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC)
	for _, fc := range forgeCases() {
		t.Run(fc.name, func(t *testing.T) {
			f, p := setupIssues(t, fc, forgefake.Token{Login: botLogin})
			pinned := f.AddIssue(owner, repoName, botLogin, "Tinyforge: all good",
				IssueMarker(ctxName, workloadID, 9223372036854775807, t0)+"\nIn sync. Details: https://evil.example")
			res, err := p.Repo(owner, repoName).UpsertIssue(t.Context(), issueReq(10, true, "port: 3000 live, 8080 in the file", t0))
			if err != nil || res.Action != forge.IssueUpdated || res.Number != pinned {
				t.Fatalf("drifting run: %+v, %v; want the pinned issue updated", res, err)
			}
			ours := ourIssues(f)
			if len(ours) != 1 || !strings.HasPrefix(ours[0].Body, IssueMarker(ctxName, workloadID, 10, t0)) || !strings.HasSuffix(ours[0].Body, "8080 in the file") {
				t.Fatalf("after the drifting run: %+v", ours)
			}
			f.AddIssue(owner, repoName, botLogin, "Tinyforge: all good", IssueMarker(ctxName, workloadID, 9223372036854775807, t0)+"\nspoof")
			res, err = p.Repo(owner, repoName).UpsertIssue(t.Context(), issueReq(11, false, "", t0))
			if err != nil || res.Action != forge.IssueClosed {
				t.Fatalf("in-sync run: %+v, %v; want closed", res, err)
			}
			for _, is := range ourIssues(f) {
				if is.Open {
					t.Errorf("still open: %+v", is)
				}
			}
		})
	}
}

// TestUpsertIssueReadOnly: a token that may not write issues degrades to a skip with a reason
// that says which permission to give.
func TestUpsertIssueReadOnly(t *testing.T) {
	for _, fc := range forgeCases() {
		t.Run(fc.name, func(t *testing.T) {
			f, p := setupIssues(t, fc, forgefake.Token{Login: botLogin, ReadOnly: true})
			res, err := p.Repo(owner, repoName).UpsertIssue(context.Background(), issueReq(1, true, "drift", time.Now()))
			if !errors.Is(err, forge.ErrForbidden) || res.Action != forge.IssueSkipped || !strings.Contains(res.Reason, "issues: write") {
				t.Errorf("read-only token: %+v, %v", res, err)
			}
			if n := len(f.Issues(owner, repoName)); n != 0 {
				t.Errorf("%d issues exist", n)
			}
		})
	}
}

// TestIssueMarkerRoundTrip: what IssueMarker writes, parseIssueMarker reads back; anything but
// an exact marker on the first line is not one.
func TestIssueMarkerRoundTrip(t *testing.T) {
	since := time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC)
	m, ok := parseIssueMarker(IssueMarker("tinyforge/gitops", 7, 12, since) + "\nbody")
	if want := (issueMark{context: "tinyforge/gitops", workload: 7, run: 12, since: since}); !ok || m != want {
		t.Errorf("round trip: %+v, %v", m, ok)
	}
	// A status context may hold spaces ("tinyforge / web"), and a duplicate's marker too.
	for _, ctx := range []string{"tinyforge / web", " lead", "trail "} {
		m, ok := parseIssueMarker(IssueMarker(ctx, 7, 12, since) + "\nbody")
		if want := (issueMark{context: ctx, workload: 7, run: 12, since: since}); !ok || m != want {
			t.Errorf("round trip of context %q: %+v, %v", ctx, m, ok)
		}
		m, ok = parseMarkerLine(duplicateMarkerPrefix, markerLine(duplicateMarkerPrefix, ctx, 7, 12, since))
		if !ok || m.context != ctx {
			t.Errorf("duplicate marker of context %q: %+v, %v", ctx, m, ok)
		}
	}
	for _, bad := range []string{
		"",
		"body\n" + IssueMarker("tinyforge/gitops", 7, 12, since),
		"<!-- tinyforge-check-issue:tinyforge/gitops workload=7 run=12 -->",
		"<!-- tinyforge-check-issue:tinyforge/gitops workload=x run=12 since=2026-12-01T06:00:00Z -->",
		"<!-- tinyforge-check-issue:a--b workload=7 run=12 since=2026-12-01T06:00:00Z -->",
		"<!-- tinyforge-check:tinyforge/gitops run=12 -->",
		"<!-- tinyforge-check-issue: workload=7 run=12 since=2026-12-01T06:00:00Z -->",
	} {
		if _, ok := parseIssueMarker(bad); ok {
			t.Errorf("%q parsed as a marker", bad)
		}
	}
}

func FuzzParseIssueMarker(f *testing.F) {
	f.Add(IssueMarker("tinyforge/gitops", 7, 12, time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC)))
	f.Add("<!-- tinyforge-check-issue:x workload=1 run=1 since=x -->")
	f.Fuzz(func(t *testing.T, body string) {
		m, ok := parseIssueMarker(body)
		if !ok {
			return
		}
		again, ok := parseIssueMarker(IssueMarker(m.context, m.workload, m.run, m.since))
		if !ok || again != m {
			t.Errorf("%q: %+v does not round-trip (%+v, %v)", body, m, again, ok)
		}
	})
}

// TestIssueDecisions pins the decisions of the drift issue's loop at an open issue: what a run
// does at its first look, and which title and body the surviving issue must then hold (always
// with the earliest since, and never a lower run's over a higher one's).
func TestIssueDecisions(t *testing.T) {
	since := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	later := since.Add(time.Hour)
	req := func(run int64, text string) forge.IssueRequest { return issueReq(run, true, text, later) }
	open := func(run int64, title, text string) markedIssue {
		r := req(run, text)
		return markedIssue{
			issue: issue{Number: 3, Title: title, Body: IssueMarker(ctxName, workloadID, run, since) + "\n" + r.Body(since), Open: true, URL: "u3"},
			mark:  issueMark{context: ctxName, workload: workloadID, run: run, since: since},
		}
	}
	title := req(0, "").Title
	tests := []struct {
		name       string
		req        forge.IssueRequest
		newest     markedIssue
		wantAction forge.IssueAction
		wantTitle  string
		wantRun    int64 // the run id of the wanted marker
		wantText   string
	}{
		{"an older issue with another body is updated", req(10, "port"), open(5, title, "strategy"), forge.IssueUpdated, title, 10, "port"},
		{"an older issue with another title is updated", req(10, "port"), open(5, "old title", "port"), forge.IssueUpdated, title, 10, "port"},
		{"the same title and body are left alone", req(10, "port"), open(5, title, "port"), forge.IssueUnchanged, title, 5, "port"},
		{"a newer run's other body wins", req(3, "port"), open(5, "newer title", "strategy"), forge.IssueSkipped, "newer title", 5, "strategy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			survivor := open(1, "survivor", "x")
			survivor.Number, survivor.URL = 1, "u1"
			body := tt.req.Body(since)
			res := firstIssueAction(tt.req, survivor, tt.newest, since, body)
			if res.Action != tt.wantAction || res.Number != 1 || res.URL != "u1" || !res.Since.Equal(since) {
				t.Errorf("first action = %+v, want %s on #1 since %v", res, tt.wantAction, since)
			}
			if (res.Action == forge.IssueSkipped) != (res.Reason != "") {
				t.Errorf("first action = %+v: a skip, and only a skip, gives a reason", res)
			}
			gotTitle, gotBody := wantedIssue(tt.req, res, tt.newest, since, body)
			wantBody := IssueMarker(ctxName, workloadID, tt.wantRun, since) + "\n" + req(0, tt.wantText).Body(since)
			if gotTitle != tt.wantTitle || gotBody != wantBody {
				t.Errorf("wanted issue = %q %q, want %q %q", gotTitle, gotBody, tt.wantTitle, wantBody)
			}
		})
	}
	// The earliest since among the open issues is the drift's start; the newest is the highest
	// run, the first among equals.
	a, b, c := open(7, title, "a"), open(9, title, "b"), open(9, title, "c")
	a.mark.since, b.mark.since, c.mark.since = later, since, later
	if got := earliestSince([]markedIssue{a, b, c}); !got.Equal(since) {
		t.Errorf("earliestSince = %v, want %v", got, since)
	}
	if got := newestIssue([]markedIssue{a, b, c}); got == nil || stripMarker(got.Body) != stripMarker(b.Body) {
		t.Errorf("newestIssue = %+v, want the first of run 9", got)
	}
	if got := newestIssue(nil); got != nil {
		t.Errorf("newestIssue(nil) = %+v, want nil", got)
	}
}

// TestLoginHintWrong: a hint that is not the token's login (a person registered the job user's
// name, or the runner served another server) changes nothing but a second list: the run finds
// its own open issue by the login the lookup answered, and never takes the person's marker
// issue for its own.
func TestLoginHintWrong(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC)
	for _, fc := range forgeCases() {
		t.Run(fc.name, func(t *testing.T) {
			f, p := setupIssues(t, fc, forgefake.Token{Login: botLogin})
			theirs := IssueMarker(ctxName, workloadID, 999, t0) + "\nby a person named like the job user"
			f.AddIssue(owner, repoName, "gitea-actions", "Tinyforge: workload web drifts from its file", theirs)
			opened, err := p.Repo(owner, repoName).UpsertIssue(t.Context(), issueReq(1, true, "drift", t0))
			if err != nil || opened.Action != forge.IssueOpened {
				t.Fatalf("first run: %+v, %v", opened, err)
			}
			job := fc.newProvider(t, f, Options{Token: testToken, HTTPClient: testClient(t, nil), VerifyDelay: time.Millisecond, LoginHint: "gitea-actions"}).(issueForge)
			r := job.Repo(owner, repoName)
			r.PrefetchIssues(t.Context())
			res, err := r.UpsertIssue(t.Context(), issueReq(2, true, "drift", t0))
			if err != nil || res.Action != forge.IssueUnchanged || res.Number != opened.Number {
				t.Fatalf("run with a wrong hint: %+v, %v; want issue #%d unchanged", res, err, opened.Number)
			}
			for _, is := range f.Issues(owner, repoName) {
				if is.Author == "gitea-actions" && (is.Body != theirs || !is.Open) {
					t.Errorf("the person's issue was touched: %+v", is)
				}
			}
			if ours := ourIssues(f); len(ours) != 1 {
				t.Errorf("our issues: %+v, want the one opened", ours)
			}
		})
	}
}
