package providers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tinyforge/tinyforge-check/forge"
	"github.com/tinyforge/tinyforge-check/internal/forgefake"
)

const ctxName = "tinyforge/gitops"

func body(runID int64, text string) string { return Marker(ctxName, runID) + "\n" + text }

func TestUpsertComment(t *testing.T) {
	type seed struct {
		author, body string
	}
	tests := []struct {
		name       string
		seeds      []seed
		req        forge.CommentRequest
		wantAction forge.CommentAction
		wantBodies []string // every comment on the PR afterwards, by id
		wantWrites int      // state-changing requests
		wantReason bool
		wantNoURL  bool // no comment of ours exists afterwards
	}{
		{
			name:       "creates the first comment",
			req:        forge.CommentRequest{Number: 7, Context: ctxName, RunID: 10, Body: "in sync"},
			wantAction: forge.CommentCreated,
			wantBodies: []string{body(10, "in sync")},
			wantWrites: 1,
		},
		{
			name:       "unchanged body makes no write, even from a newer run",
			seeds:      []seed{{botLogin, body(5, "in sync")}},
			req:        forge.CommentRequest{Number: 7, Context: ctxName, RunID: 10, Body: "in sync"},
			wantAction: forge.CommentUnchanged,
			wantBodies: []string{body(5, "in sync")},
		},
		{
			name:       "newer run updates in place",
			seeds:      []seed{{"alice", "LGTM"}, {botLogin, body(5, "drift: 1 field")}},
			req:        forge.CommentRequest{Number: 7, Context: ctxName, RunID: 10, Body: "in sync"},
			wantAction: forge.CommentUpdated,
			wantBodies: []string{"LGTM", body(10, "in sync")},
			wantWrites: 1,
		},
		{
			name:       "update-only with no comment of ours writes nothing",
			seeds:      []seed{{"alice", body(5, "drift: 1 field")}},
			req:        forge.CommentRequest{Number: 7, Context: ctxName, RunID: 10, Body: "in sync", UpdateOnly: true},
			wantAction: forge.CommentSkipped,
			wantBodies: []string{body(5, "drift: 1 field")},
			wantReason: true,
			wantNoURL:  true,
		},
		{
			name:       "update-only refreshes an existing comment",
			seeds:      []seed{{botLogin, body(5, "drift: 1 field")}},
			req:        forge.CommentRequest{Number: 7, Context: ctxName, RunID: 10, Body: "in sync", UpdateOnly: true},
			wantAction: forge.CommentUpdated,
			wantBodies: []string{body(10, "in sync")},
			wantWrites: 1,
		},
		{
			name:       "older run never overwrites a newer run's comment",
			seeds:      []seed{{botLogin, body(20, "drift: 2 fields")}},
			req:        forge.CommentRequest{Number: 7, Context: ctxName, RunID: 10, Body: "in sync"},
			wantAction: forge.CommentSkipped,
			wantBodies: []string{body(20, "drift: 2 fields")},
			wantReason: true,
		},
		{
			// Issue 22: anyone who can post as the check's account (a workflow_run job as
			// github-actions[bot]) can write a marker. A run number far ahead of this run's is
			// not trusted to be newer: the comment is overwritten, not left pinned.
			name:       "a marker far ahead of this run (max int64) does not pin the comment",
			seeds:      []seed{{botLogin, body(9223372036854775807, "in sync: see https://evil.example")}},
			req:        forge.CommentRequest{Number: 7, Context: ctxName, RunID: 10, Body: "drift: 1 field"},
			wantAction: forge.CommentUpdated,
			wantBodies: []string{body(10, "drift: 1 field")},
			wantWrites: 1,
		},
		{
			name:       "a marker just past the trusted window does not pin the comment",
			seeds:      []seed{{botLogin, body(10+maxRunAhead+1, "in sync")}},
			req:        forge.CommentRequest{Number: 7, Context: ctxName, RunID: 10, Body: "drift: 1 field"},
			wantAction: forge.CommentUpdated,
			wantBodies: []string{body(10, "drift: 1 field")},
			wantWrites: 1,
		},
		{
			name:       "a newer run inside the window still wins",
			seeds:      []seed{{botLogin, body(10+maxRunAhead, "in sync")}},
			req:        forge.CommentRequest{Number: 7, Context: ctxName, RunID: 10, Body: "drift: 1 field"},
			wantAction: forge.CommentSkipped,
			wantBodies: []string{body(10+maxRunAhead, "in sync")},
			wantReason: true,
		},
		{
			name: "human comments quoting the marker are never edited",
			seeds: []seed{
				{"alice", body(1, "I copied your comment")},                   // marker on first line, not ours
				{botLogin, "see above:\n" + body(1, "not on the first line")}, // ours, marker not first
				{botLogin, body(3, "other context")[0:0] + Marker("other/ctx", 3) + "\nother"},
			},
			req:        forge.CommentRequest{Number: 7, Context: ctxName, RunID: 10, Body: "in sync"},
			wantAction: forge.CommentCreated,
			wantBodies: []string{body(1, "I copied your comment"), "see above:\n" + body(1, "not on the first line"),
				Marker("other/ctx", 3) + "\nother", body(10, "in sync")},
			wantWrites: 1,
		},
		{
			name: "duplicates of racing runs converge on the lowest id with the highest run's body",
			seeds: []seed{
				{botLogin, body(4, "old")},
				{botLogin, body(9, "newest")},
				{botLogin, body(6, "middle")},
			},
			req:        forge.CommentRequest{Number: 7, Context: ctxName, RunID: 8, Body: "mine"},
			wantAction: forge.CommentSkipped,
			wantBodies: []string{body(9, "newest")},
			wantWrites: 3, // edit the survivor, delete two duplicates
			wantReason: true,
		},
		{
			// The survivor must carry the newest run id too, else a later older run (say 7)
			// would see run 5 on top and overwrite what run 9 wrote.
			name: "duplicates with equal text converge on the highest run's marker",
			seeds: []seed{
				{botLogin, body(5, "same")},
				{botLogin, body(9, "same")},
			},
			req:        forge.CommentRequest{Number: 7, Context: ctxName, RunID: 6, Body: "same"},
			wantAction: forge.CommentUnchanged,
			wantBodies: []string{body(9, "same")},
			wantWrites: 2, // edit the survivor's marker, delete the duplicate
		},
	}
	for _, fc := range forgeCases() {
		for _, tt := range tests {
			t.Run(fc.name+"/"+tt.name, func(t *testing.T) {
				f, p := fc.setup(t, forgefake.Options{}, nil)
				for _, s := range tt.seeds {
					f.AddComment(owner, repoName, 7, s.author, s.body)
				}
				res, err := p.Repo(owner, repoName).UpsertComment(context.Background(), tt.req)
				if err != nil {
					t.Fatal(err)
				}
				if res.Action != tt.wantAction {
					t.Errorf("action = %q, want %q (reason %q)", res.Action, tt.wantAction, res.Reason)
				}
				if (res.Reason != "") != tt.wantReason {
					t.Errorf("reason = %q", res.Reason)
				}
				if (res.URL == "") != tt.wantNoURL {
					t.Errorf("comment URL = %q, want empty %v", res.URL, tt.wantNoURL)
				}
				var got []string
				for _, c := range f.Comments(owner, repoName, 7) {
					got = append(got, c.Body)
				}
				if diff := cmp.Diff(tt.wantBodies, got); diff != "" {
					t.Errorf("comments (-want +got):\n%s", diff)
				}
				if w := writes(f.Requests()); len(w) != tt.wantWrites {
					t.Errorf("writes = %v, want %d", w, tt.wantWrites)
				}
			})
		}
	}
}

func TestUpsertCommentRequests(t *testing.T) {
	for _, fc := range forgeCases() {
		t.Run(fc.name, func(t *testing.T) {
			f, p := fc.setup(t, forgefake.Options{}, nil)
			id := f.AddComment(owner, repoName, 7, botLogin, body(1, "old"))
			f.ResetRequests()
			if _, err := p.Repo(owner, repoName).UpsertComment(context.Background(), forge.CommentRequest{Number: 7, Context: ctxName, RunID: 2, Body: "new"}); err != nil {
				t.Fatal(err)
			}
			reqs := f.Requests()
			var got []string
			for _, r := range reqs {
				got = append(got, r.Method+" "+r.Path)
			}
			// The identity and the list are one round: they arrive in either order.
			if len(got) >= 2 && got[0] > got[1] {
				got[0], got[1] = got[1], got[0]
				reqs[0], reqs[1] = reqs[1], reqs[0]
			}
			want := []string{
				"GET " + fc.commentsPath(7),
				"GET " + fc.apiPrefix + "/user",
				fc.editMethod + " " + fc.commentPath(id),
				"GET " + fc.commentsPath(7), // verify after the write
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("requests (-want +got):\n%s", diff)
			}
			var gotBody map[string]any
			if err := json.Unmarshal(reqs[2].Body, &gotBody); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(map[string]any{"body": body(2, "new")}, gotBody); diff != "" {
				t.Errorf("edit body (-want +got):\n%s", diff)
			}
			if fc.pageSize > 0 && !strings.Contains(reqs[0].Query, "per_page=100") {
				t.Errorf("list query = %q, want per_page=100", reqs[0].Query)
			}
		})
	}
}

// TestUpsertCommentManyPages: 250 comments (3 pages of 100) still find the
// marker on the last page, and the update costs one list per page.
func TestUpsertCommentManyPages(t *testing.T) {
	for _, fc := range forgeCases() {
		t.Run(fc.name, func(t *testing.T) {
			f, p := fc.setup(t, forgefake.Options{}, nil)
			for i := 0; i < 249; i++ {
				f.AddComment(owner, repoName, 7, "alice", fmt.Sprintf("comment %d", i))
			}
			f.AddComment(owner, repoName, 7, botLogin, body(1, "old"))
			res, err := p.Repo(owner, repoName).UpsertComment(context.Background(), forge.CommentRequest{Number: 7, Context: ctxName, RunID: 2, Body: "new"})
			if err != nil {
				t.Fatal(err)
			}
			if res.Action != forge.CommentUpdated {
				t.Errorf("action = %q, want updated", res.Action)
			}
			cs := f.Comments(owner, repoName, 7)
			if len(cs) != 250 || cs[249].Body != body(2, "new") {
				t.Errorf("comments = %d, last = %q", len(cs), cs[len(cs)-1].Body)
			}
			lists := 0
			for _, r := range f.Requests() {
				if r.Method == http.MethodGet && r.Path == fc.commentsPath(7) {
					lists++
				}
			}
			wantLists := 2 // unpaginated: the look and the verification
			if fc.pageSize > 0 {
				wantLists = 6 // 3 pages, twice
			}
			if lists != wantLists {
				t.Errorf("list requests = %d, want %d", lists, wantLists)
			}
		})
	}
}

// TestUpsertCommentStoredThen502: the forge stores the POST but answers 502;
// the provider must not post twice.
func TestUpsertCommentStoredThen502(t *testing.T) {
	for _, fc := range forgeCases() {
		t.Run(fc.name, func(t *testing.T) {
			f, p := fc.setup(t, forgefake.Options{}, nil)
			f.SetFault(forgefake.Fault{Kind: forgefake.FaultStoreThen502, Method: http.MethodPost, PathContains: "/comments", Times: 1})
			f.SetFault(forgefake.Fault{Kind: forgefake.FaultStoreThen502, Method: http.MethodPost, PathContains: "/notes", Times: 1})
			res, err := p.Repo(owner, repoName).UpsertComment(context.Background(), forge.CommentRequest{Number: 7, Context: ctxName, RunID: 3, Body: "hello"})
			if err != nil {
				t.Fatal(err)
			}
			if res.Action != forge.CommentCreated {
				t.Errorf("action = %q, want created", res.Action)
			}
			cs := f.Comments(owner, repoName, 7)
			if len(cs) != 1 || cs[0].Body != body(3, "hello") {
				t.Errorf("comments = %+v, want exactly one", cs)
			}
			posts := 0
			for _, r := range f.Requests() {
				if r.Method == http.MethodPost {
					posts++
				}
			}
			if posts != 1 {
				t.Errorf("POSTs = %d, want 1", posts)
			}
		})
	}
}

// TestUpsertCommentPostNotStored: a 502 before storing: the provider re-lists,
// finds nothing and creates once more.
func TestUpsertCommentPostNotStored(t *testing.T) {
	for _, fc := range forgeCases() {
		t.Run(fc.name, func(t *testing.T) {
			f, p := fc.setup(t, forgefake.Options{}, nil)
			f.SetFault(forgefake.Fault{Kind: forgefake.FaultStatus, Status: http.StatusBadGateway, Method: http.MethodPost, Times: 1})
			res, err := p.Repo(owner, repoName).UpsertComment(context.Background(), forge.CommentRequest{Number: 7, Context: ctxName, RunID: 3, Body: "hello"})
			if err != nil {
				t.Fatal(err)
			}
			if cs := f.Comments(owner, repoName, 7); res.Action != forge.CommentCreated || len(cs) != 1 {
				t.Errorf("action %q, comments %+v", res.Action, cs)
			}
		})
	}
}

func TestUpsertCommentReadOnlyToken(t *testing.T) {
	for _, fc := range forgeCases() {
		t.Run(fc.name, func(t *testing.T) {
			f, _ := fc.setup(t, forgefake.Options{}, nil)
			f.AddToken("fork-token", forgefake.Token{Login: "fork-user", ReadOnly: true})
			p := fc.newProvider(t, f, Options{Token: "fork-token", HTTPClient: testClient(t, nil), VerifyDelay: time.Millisecond})
			res, err := p.Repo(owner, repoName).UpsertComment(context.Background(), forge.CommentRequest{Number: 7, Context: ctxName, RunID: 3, Body: "hello"})
			if !errors.Is(err, forge.ErrForbidden) {
				t.Errorf("err = %v, want ErrForbidden", err)
			}
			if res.Action != forge.CommentSkipped || res.Reason == "" {
				t.Errorf("result = %+v, want skipped with a reason", res)
			}
			if cs := f.Comments(owner, repoName, 7); len(cs) != 0 {
				t.Errorf("comments = %+v", cs)
			}
		})
	}
}

func TestUpsertCommentRefusedBeforeAnyRequest(t *testing.T) {
	tests := []struct {
		name string
		req  forge.CommentRequest
	}{
		{"body over 65536 characters", forge.CommentRequest{Number: 7, Context: ctxName, RunID: 1, Body: strings.Repeat("é", forge.MaxCommentBody)}},
		{"context breaking the marker", forge.CommentRequest{Number: 7, Context: "a-->b", RunID: 1, Body: "x"}},
		{"empty context", forge.CommentRequest{Number: 7, Context: "", RunID: 1, Body: "x"}},
		{"no PR number", forge.CommentRequest{Number: 0, Context: ctxName, RunID: 1, Body: "x"}},
	}
	for _, fc := range forgeCases() {
		for _, tt := range tests {
			t.Run(fc.name+"/"+tt.name, func(t *testing.T) {
				f, p := fc.setup(t, forgefake.Options{}, nil)
				if _, err := p.Repo(owner, repoName).UpsertComment(context.Background(), tt.req); err == nil {
					t.Error("no error")
				}
				if n := len(f.Requests()); n != 0 {
					t.Errorf("requests = %d, want 0", n)
				}
			})
		}
	}
}

// TestUpsertCommentConcurrent: 20 runs upsert at once against a fake with
// random latency; exactly one marker comment remains, holding the body of
// the highest run.
func TestUpsertCommentConcurrent(t *testing.T) {
	for _, fc := range forgeCases() {
		t.Run(fc.name, func(t *testing.T) {
			f, _ := fc.setup(t, forgefake.Options{Latency: 3 * time.Millisecond}, nil)
			f.AddComment(owner, repoName, 7, "alice", "a human comment")
			const runs = 20
			var wg sync.WaitGroup
			errs := make(chan error, runs)
			for i := 1; i <= runs; i++ {
				p := fc.newProvider(t, f, Options{Token: testToken, HTTPClient: testClient(t, nil)})
				wg.Add(1)
				go func(run int64) {
					defer wg.Done()
					_, err := p.Repo(owner, repoName).UpsertComment(context.Background(),
						forge.CommentRequest{Number: 7, Context: ctxName, RunID: run, Body: fmt.Sprintf("body of run %d", run)})
					if err != nil {
						errs <- fmt.Errorf("run %d: %w", run, err)
					}
				}(int64(i))
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			t.Logf("%d requests", len(f.Requests()))
			var got []string
			for _, c := range f.Comments(owner, repoName, 7) {
				got = append(got, c.Author+": "+c.Body)
			}
			want := []string{"alice: a human comment", botLogin + ": " + body(runs, fmt.Sprintf("body of run %d", runs))}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("comments (-want +got):\n%s", diff)
			}
		})
	}
}

// TestUpsertCommentConcurrentLag: 20 runs upsert at once against a fake whose lists lag its
// writes by 200 ms (a read replica; forgefake.Options.ReadLag), with the default settings:
// exactly one marker comment remains. Each run's re-read waits until it shows the run's own
// writes (the fence), so the last run to create sees every earlier comment and removes its
// own. Which run's body survives is logged, not asserted: newest-wins holds only for racing
// writes that land within the settle wait, and 200 ms of lag is longer (docs/design.md, Racing
// runs).
func TestUpsertCommentConcurrentLag(t *testing.T) {
	for _, fc := range forgeCases() {
		t.Run(fc.name, func(t *testing.T) {
			f, _ := fc.setup(t, forgefake.Options{Latency: 3 * time.Millisecond, ReadLag: 200 * time.Millisecond}, nil)
			f.AddComment(owner, repoName, 7, "alice", "a human comment")
			const runs = 20
			var wg sync.WaitGroup
			for i := int64(1); i <= runs; i++ {
				p := fc.newProvider(t, f, Options{Token: testToken, HTTPClient: testClient(t, nil)})
				wg.Go(func() {
					_, err := p.Repo(owner, repoName).UpsertComment(t.Context(),
						forge.CommentRequest{Number: 7, Context: ctxName, RunID: i, Body: fmt.Sprintf("body of run %d", i)})
					if err != nil {
						t.Errorf("run %d: %v", i, err)
					}
				})
			}
			wg.Wait()
			var ours []string
			for _, c := range f.Comments(owner, repoName, 7) {
				if c.Author == botLogin {
					ours = append(ours, c.Body)
				}
			}
			if len(ours) != 1 {
				t.Fatalf("%d comments of ours after 20 racing runs on a lagging replica, want 1: %q", len(ours), ours)
			}
			t.Logf("the survivor holds %q (%d requests)", strings.SplitN(ours[0], "\n", 2)[1], len(f.Requests()))
		})
	}
}

// TestGitHubJobTokenIdentity: the job token is github-actions[bot], known without GET /user
// (which answers it 403).
func TestGitHubJobTokenIdentity(t *testing.T) {
	f, _ := newGitHubFake(t, forgefake.Options{})
	f.AddToken("ghs_job", forgefake.Token{Login: "github-actions[bot]", Integration: true})
	f.AddComment(owner, repoName, 7, "github-actions[bot]", body(1, "old"))
	f.AddComment(owner, repoName, 7, "alice", body(2, "quoted by a human"))
	g := newGitHubProvider(t, f, nil, func(o *Options) { o.Token, o.JobToken = "ghs_job", true })
	res, err := g.Repo(owner, repoName).UpsertComment(context.Background(), forge.CommentRequest{Number: 7, Context: ctxName, RunID: 3, Body: "new"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Action != forge.CommentUpdated {
		t.Errorf("action = %q, want updated", res.Action)
	}
	cs := f.Comments(owner, repoName, 7)
	if cs[0].Body != body(3, "new") || cs[1].Body != body(2, "quoted by a human") {
		t.Errorf("comments = %+v", cs)
	}
	for _, r := range f.Requests() {
		if r.Path == "/user" {
			t.Errorf("GET /user was called for the job token")
		}
	}
}

// TestGitHubAppTokenNeedsLogin: another GitHub App's installation token is answered 403 on GET
// /user like the job token, and writes as APP-SLUG[bot], which no REST endpoint tells. Without
// Options.Login the provider refuses to guess (it used to take the token for
// github-actions[bot] and edit that bot's marker comment, which GitHub lets an App with write
// access do): the comment and issue upserts fail with forge.ErrIdentityUnknown and write
// nothing. With Login it keeps its own comment, run after run, and leaves the other bot's alone.
func TestGitHubAppTokenNeedsLogin(t *testing.T) {
	f, _ := newGitHubFake(t, forgefake.Options{})
	f.AddToken("ghs_app", forgefake.Token{Login: "tinyforge-app[bot]", Integration: true})
	other := body(1, "written by a workflow_run job")
	f.AddComment(owner, repoName, 7, "github-actions[bot]", other)

	g := newGitHubProvider(t, f, nil, func(o *Options) { o.Token = "ghs_app" })
	f.ResetRequests()
	_, err := g.Repo(owner, repoName).UpsertComment(t.Context(), forge.CommentRequest{Number: 7, Context: ctxName, RunID: 2, Body: "run 2"})
	if !errors.Is(err, forge.ErrIdentityUnknown) || errors.Is(err, forge.ErrForbidden) {
		t.Errorf("comment without a login: err = %v, want ErrIdentityUnknown (not a read-only token's ErrForbidden)", err)
	}
	_, err = g.Repo(owner, repoName).UpsertIssue(t.Context(), forge.IssueRequest{Context: ctxName, Workload: 42, RunID: 2, Open: true,
		Title: "t", Body: func(time.Time) string { return "b" }})
	if !errors.Is(err, forge.ErrIdentityUnknown) {
		t.Errorf("issue without a login: err = %v, want ErrIdentityUnknown", err)
	}
	if w := writes(f.Requests()); len(w) != 0 {
		t.Errorf("writes without a login: %v", w)
	}

	g = newGitHubProvider(t, f, nil, func(o *Options) { o.Token, o.Login = "ghs_app", "tinyforge-app[bot]" })
	for run := int64(3); run <= 5; run++ {
		res, err := g.Repo(owner, repoName).UpsertComment(t.Context(), forge.CommentRequest{Number: 7, Context: ctxName, RunID: run, Body: fmt.Sprintf("run %d", run)})
		if err != nil {
			t.Fatalf("run %d: %v", run, err)
		}
		want := []forgefake.Comment{{Author: "github-actions[bot]", Body: other}, {Author: "tinyforge-app[bot]", Body: body(run, fmt.Sprintf("run %d", run))}}
		var got []forgefake.Comment
		for _, c := range f.Comments(owner, repoName, 7) {
			got = append(got, forgefake.Comment{Author: c.Author, Body: c.Body})
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("after run %d (%s) (-want +got):\n%s", run, res.Action, diff)
		}
	}
}

// TestUpsertCommentUnchangedCost: a rerun with nothing new reads the
// identity and one page of comments, and writes nothing (the budget of docs/design.md, Budgets).
func TestUpsertCommentUnchangedCost(t *testing.T) {
	for _, fc := range forgeCases() {
		t.Run(fc.name, func(t *testing.T) {
			f, p := fc.setup(t, forgefake.Options{}, nil)
			for i := 0; i < 60; i++ {
				f.AddComment(owner, repoName, 7, "alice", fmt.Sprintf("c%d", i))
			}
			f.AddComment(owner, repoName, 7, botLogin, body(4, "in sync"))
			f.ResetRequests()
			res, err := p.Repo(owner, repoName).UpsertComment(context.Background(), forge.CommentRequest{Number: 7, Context: ctxName, RunID: 5, Body: "in sync"})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range f.Requests() {
				got = append(got, r.Method+" "+r.Path)
			}
			sort.Strings(got) // one round: the identity and the list in either order
			want := []string{"GET " + fc.apiPrefix + "/user", "GET " + fc.commentsPath(7)}
			sort.Strings(want)
			if diff := cmp.Diff(want, got); diff != "" || res.Action != forge.CommentUnchanged {
				t.Errorf("action %q; requests (-want +got):\n%s", res.Action, diff)
			}
		})
	}
}
