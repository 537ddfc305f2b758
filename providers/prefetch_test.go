package providers

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tinyforge/tinyforge-check/forge"
	"github.com/tinyforge/tinyforge-check/internal/forgefake"
)

// roundsTransport holds the requests of each round until the whole round has arrived: rounds
// lists how many requests each round has. A provider that sends them one after another never
// completes a round, and its first request fails after the timeout. Requests after the last
// round pass straight through.
type roundsTransport struct {
	next    http.RoundTripper
	rounds  []int
	timeout time.Duration

	mu      sync.Mutex
	round   int // index into rounds
	arrived []string
	open    chan struct{}
	seen    [][]string // the requests of each completed round, sorted
}

func newRoundsTransport(next http.RoundTripper, rounds ...int) *roundsTransport {
	return &roundsTransport{next: next, rounds: rounds, timeout: 5 * time.Second, open: make(chan struct{})}
}

func (rt *roundsTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	name := req.Method + " " + req.URL.EscapedPath()
	if q := req.URL.Query().Get("page"); q != "" {
		name += "?page=" + q
	}
	rt.mu.Lock()
	if rt.round >= len(rt.rounds) {
		rt.mu.Unlock()
		return rt.next.RoundTrip(req)
	}
	open := rt.open
	rt.arrived = append(rt.arrived, name)
	if len(rt.arrived) == rt.rounds[rt.round] {
		sort.Strings(rt.arrived)
		rt.seen = append(rt.seen, rt.arrived)
		rt.arrived, rt.round = nil, rt.round+1
		close(open)
		rt.open = make(chan struct{})
	}
	rt.mu.Unlock()
	select {
	case <-open:
		return rt.next.RoundTrip(req)
	case <-time.After(rt.timeout):
		rt.mu.Lock()
		defer rt.mu.Unlock()
		return nil, fmt.Errorf("%s waited %v for round %d to fill (%d requests), only %v arrived: the requests are not sent at once",
			name, rt.timeout, rt.round+1, rt.rounds[rt.round], rt.arrived)
	}
}

func (rt *roundsTransport) rounded() [][]string {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return append([][]string(nil), rt.seen...)
}

// TestPrefetchReadsAtOnce: the identity and every page of 250 comments are requested in one
// round (GitLab: page 1, then the pages its X-Total-Pages announces), and the upsert that gets
// the prefetch writes without another read.
func TestPrefetchReadsAtOnce(t *testing.T) {
	page := func(fc forgeCase, n int) string { return "GET " + fc.commentsPath(7) + "?page=" + itoa(int64(n)) }
	for _, tc := range []struct {
		forge    string
		expected int
		rounds   func(fc forgeCase) [][]string
	}{
		{"github", 250, func(fc forgeCase) [][]string {
			return [][]string{{page(fc, 1), page(fc, 2), page(fc, 3), "GET /user"}}
		}},
		{"github", 40, func(fc forgeCase) [][]string { // the payload's count was stale: one more round
			return [][]string{{page(fc, 1), "GET /user"}, {page(fc, 2), page(fc, 3)}}
		}},
		{"gitea", 250, func(fc forgeCase) [][]string {
			return [][]string{{page(fc, 1), "GET /api/v1/user"}} // one unpaginated answer
		}},
		{"gitlab", 250, func(fc forgeCase) [][]string {
			return [][]string{{page(fc, 1), "GET /api/v4/user"}, {page(fc, 2), page(fc, 3)}}
		}},
	} {
		t.Run(fmt.Sprintf("%s/expected=%d", tc.forge, tc.expected), func(t *testing.T) {
			fc := forgeCaseNamed(t, tc.forge)
			want := tc.rounds(fc)
			f, p, rt := setupRounds(t, fc, want, nil)
			for i := 0; i < 249; i++ {
				f.AddComment(owner, repoName, 7, "alice", fmt.Sprintf("c%d", i))
			}
			f.AddComment(owner, repoName, 7, botLogin, body(4, "in sync"))
			f.ResetRequests()

			ctx := context.Background()
			r := p.Repo(owner, repoName)
			r.PrefetchComments(ctx, 7, tc.expected)
			res, err := r.UpsertComment(ctx, forge.CommentRequest{Number: 7, Context: ctxName, RunID: 5, Body: "in sync"})
			if err != nil || res.Action != forge.CommentUnchanged {
				t.Fatalf("upsert: %+v %v", res, err)
			}
			if diff := cmp.Diff(want, rt.rounded()); diff != "" {
				t.Errorf("rounds of requests (-want +got):\n%s", diff)
			}
			if n, total := len(f.Requests()), len(slices.Concat(want...)); n != total {
				t.Errorf("%d requests, want only the prefetch's %d: an unchanged upsert reads nothing more", n, total)
			}
		})
	}
}

// TestPrefetchIssuesRounds: the reads of a scheduled run's issue upsert. GitLab filters the
// list by the token itself (scope=created_by_me), so the identity and the list go out at once
// whatever the token; GitHub and Gitea filter by login, so with a known identity (a job token,
// Options.Login) the list is the only read, and with a personal token it waits for GET /user.
func TestPrefetchIssuesRounds(t *testing.T) {
	for _, tc := range []struct {
		forge string
		login string // Options.Login
		hint  string // Options.LoginHint
		want  [][]string
	}{
		{"gitlab", "", "", [][]string{{"GET /api/v4/projects/acme%2Fapp/issues?page=1", "GET /api/v4/user"}}},
		{"github", botLogin, "", [][]string{{"GET /repos/acme/app/issues?page=1"}}},
		{"github", "", "", [][]string{{"GET /user"}, {"GET /repos/acme/app/issues?page=1"}}},
		{"gitea", botLogin, "", [][]string{{"GET /api/v1/repos/acme/app/issues?page=1"}}},
		{"gitea", "", "", [][]string{{"GET /api/v1/user"}, {"GET /api/v1/repos/acme/app/issues?page=1"}}},
		// A right hint: the list by it goes out with the lookup. A wrong one (the token is
		// tf-bot's, not the job user's) costs a second list, by the login the lookup answered.
		{"gitea", "", botLogin, [][]string{{"GET /api/v1/repos/acme/app/issues?page=1", "GET /api/v1/user"}}},
		{"gitea", "", "gitea-actions", [][]string{{"GET /api/v1/repos/acme/app/issues?page=1", "GET /api/v1/user"}, {"GET /api/v1/repos/acme/app/issues?page=1"}}},
		{"github", "", botLogin, [][]string{{"GET /repos/acme/app/issues?page=1", "GET /user"}}},
	} {
		t.Run(fmt.Sprintf("%s/login=%q/hint=%q", tc.forge, tc.login, tc.hint), func(t *testing.T) {
			f, p, rt := setupRounds(t, forgeCaseNamed(t, tc.forge), tc.want, func(o *Options) { o.Login, o.LoginHint = tc.login, tc.hint })
			f.ResetRequests()
			now := time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC)
			r := p.(issueForge).Repo(owner, repoName)
			r.PrefetchIssues(context.Background())
			res, err := r.UpsertIssue(context.Background(), issueReq(1, false, "", now))
			if err != nil || res.Action != forge.IssueNone {
				t.Fatalf("upsert of an in-sync run with no issue: %+v %v", res, err)
			}
			if diff := cmp.Diff(tc.want, rt.rounded()); diff != "" {
				t.Errorf("rounds of requests (-want +got):\n%s", diff)
			}
			if n := len(f.Requests()); n != len(slices.Concat(tc.want...)) {
				t.Errorf("%d requests, want only the prefetch's", n)
			}
		})
	}
}

// setupRounds starts fc's fake and a provider whose requests pass a roundsTransport expecting
// the rounds of want; mod, when set, changes the provider's options further.
func setupRounds(t *testing.T, fc forgeCase, want [][]string, mod func(*Options)) (fake, provider, *roundsTransport) {
	t.Helper()
	sizes := make([]int, len(want))
	for i, r := range want {
		sizes[i] = len(r)
	}
	var rt *roundsTransport
	f, p := fc.setup(t, forgefake.Options{}, func(o *Options) {
		rt = newRoundsTransport(o.HTTPClient.Transport, sizes...)
		hc := *o.HTTPClient
		hc.Transport = rt
		o.HTTPClient = &hc
		if mod != nil {
			mod(o)
		}
	})
	return f, p, rt
}

// forgeCaseNamed returns the forge case of name.
func forgeCaseNamed(t *testing.T, name string) forgeCase {
	t.Helper()
	for _, c := range forgeCases() {
		if c.name == name {
			return c
		}
	}
	t.Fatalf("no forge case %q", name)
	return forgeCase{}
}
