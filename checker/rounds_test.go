package checker

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tinyforge/tinyforge-check/forge"
)

// barrier holds every call of one round until all of the round's n calls have arrived. A
// checker that makes them one after another never completes the round: its first call waits
// out the timeout and fails, so these tests prove the parallelism without timing anything.
type barrier struct {
	n       int
	timeout time.Duration
	mu      sync.Mutex
	arrived []string
	all     chan struct{}
}

func newBarrier(n int) *barrier {
	return &barrier{n: n, timeout: 5 * time.Second, all: make(chan struct{})}
}

func (b *barrier) arrive(call string) error {
	b.mu.Lock()
	b.arrived = append(b.arrived, call)
	if len(b.arrived) == b.n {
		close(b.all)
	}
	b.mu.Unlock()
	select {
	case <-b.all:
		return nil
	case <-time.After(b.timeout):
		b.mu.Lock()
		defer b.mu.Unlock()
		return fmt.Errorf("%s waited %v for the rest of its round; only %v arrived: the calls are not made at once", call, b.timeout, b.arrived)
	}
}

func (b *barrier) calls() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := append([]string(nil), b.arrived...)
	sort.Strings(out)
	return out
}

// roundLive, roundFiles and roundComments are the checker's dependencies, each arriving at a
// barrier before it answers.
type roundLive struct{ b *barrier }

func (l roundLive) GetWorkload(_ context.Context, id int64) (*Workload, error) {
	if err := l.b.arrive(fmt.Sprintf("tinyforge: get %d", id)); err != nil {
		return nil, err
	}
	return liveWeb(), nil
}

func (l roundLive) FindWorkload(_ context.Context, name string) (*Workload, error) {
	return nil, fmt.Errorf("find %q: the test names the workload by id", name)
}

type roundFiles struct {
	b     *barrier
	files map[string]string
}

func (f roundFiles) ReadFile(_ context.Context, ref, path string) ([]byte, error) {
	if err := f.b.arrive("forge: file " + ref + ":" + path); err != nil {
		return nil, err
	}
	s, ok := f.files[ref+":"+path]
	if !ok {
		return nil, fmt.Errorf("%s at %s: %w", path, ref, forge.ErrFileNotFound)
	}
	return []byte(s), nil
}

type roundPublish struct {
	reads, writes *barrier
	mu            sync.Mutex
	prefetchErr   error
	prefetched    chan struct{}
}

func (p *roundPublish) PrefetchComments(_ context.Context, number, expected int) {
	p.prefetched = make(chan struct{})
	go func() {
		defer close(p.prefetched)
		err := p.reads.arrive(fmt.Sprintf("forge: comments of #%d (%d expected)", number, expected))
		p.mu.Lock()
		p.prefetchErr = err
		p.mu.Unlock()
	}()
}

func (p *roundPublish) UpsertComment(_ context.Context, req forge.CommentRequest) (forge.CommentResult, error) {
	if p.prefetched == nil {
		return forge.CommentResult{}, fmt.Errorf("UpsertComment without PrefetchComments: the comments were not read in the first round")
	}
	<-p.prefetched
	if err := p.writes.arrive(fmt.Sprintf("forge: comment on #%d", req.Number)); err != nil {
		return forge.CommentResult{}, err
	}
	return forge.CommentResult{Action: forge.CommentCreated, URL: "https://forge.test/c/1"}, nil
}

func (p *roundPublish) SetStatus(_ context.Context, st forge.CommitStatus) error {
	return p.writes.arrive("forge: status " + string(st.State) + " on " + st.SHA)
}

// TestReadsShareOneRound: the workload, the base branch's file, the PR's head file (through the
// API, at the PR head, never the merge commit) and the PR's comments are requested at once. A
// local checkout (Workspace) is read instead of the head file, with no request.
func TestReadsShareOneRound(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		event Event
		ws    fstest.MapFS
		want  []string
	}{
		{
			name:  "pull_request: workload, head and base files and comments",
			event: Event{Name: EventPullRequest, CommitSHA: "merge0000000", PR: &PullRequest{Number: 7, HeadSHA: "head1111111", BaseSHA: "base2222222", Comments: 250}},
			want: []string{"forge: comments of #7 (250 expected)", "forge: file base2222222:.tinyforge.yml",
				"forge: file head1111111:.tinyforge.yml", "tinyforge: get 3"},
		},
		{
			name:  "a local checkout: workload, base file and comments",
			event: Event{Name: EventPullRequest, PR: &PullRequest{Number: 7, HeadSHA: "head1111111", BaseSHA: "base2222222", Comments: 250}},
			ws:    fstest.MapFS{".tinyforge.yml": {Data: []byte(driftYAML)}},
			want: []string{"forge: comments of #7 (250 expected)", "forge: file base2222222:.tinyforge.yml",
				"tinyforge: get 3"},
		},
		{
			name:  "pull_request_target: the head file through the API too",
			event: Event{Name: EventPullRequestTarget, CommitSHA: "base2222222", PR: &PullRequest{Number: 7, HeadSHA: "head1111111", BaseSHA: "base2222222", Comments: 3}},
			want: []string{"forge: comments of #7 (3 expected)", "forge: file base2222222:.tinyforge.yml",
				"forge: file head1111111:.tinyforge.yml", "tinyforge: get 3"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			reads, writes := newBarrier(len(tc.want)), newBarrier(2)
			pub := &roundPublish{reads: reads, writes: writes}
			c := &Checker{Live: roundLive{reads},
				Files:  roundFiles{b: reads, files: map[string]string{"base2222222:.tinyforge.yml": inSyncYAML, "head1111111:.tinyforge.yml": driftYAML}},
				Status: pub, Comments: pub}
			if tc.ws != nil {
				c.Workspace = tc.ws
			}
			r, err := c.Run(t.Context(), Inputs{Workload: "3", FailOn: DefaultFailOn, Forge: ForgeGitHub, Event: tc.event, RunID: 9})
			if err != nil {
				t.Fatal(err)
			}
			if r.Verdict != VerdictDrift {
				t.Errorf("verdict %s (%s), want drift; notices %v", r.Verdict, r.Reason, r.Notices)
			}
			if diff := cmp.Diff(tc.want, reads.calls()); diff != "" {
				t.Errorf("the read round (-want +got):\n%s", diff)
			}
			pub.mu.Lock()
			if pub.prefetchErr != nil {
				t.Error(pub.prefetchErr)
			}
			pub.mu.Unlock()
			// The write round: the status and the comment at once.
			if !r.StatusWritten || r.Comment.Action != forge.CommentCreated {
				t.Errorf("status written %v, comment %+v; notices %v", r.StatusWritten, r.Comment, r.Notices)
			}
			wantWrites := []string{"forge: comment on #7", "forge: status success on head1111111"}
			if diff := cmp.Diff(wantWrites, writes.calls()); diff != "" {
				t.Errorf("the write round (-want +got):\n%s", diff)
			}
			for _, n := range r.Notices {
				if strings.Contains(n.Message, "waited") {
					t.Errorf("a call waited out the barrier: %s", n.Message)
				}
			}
		})
	}
}
