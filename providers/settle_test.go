package providers

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tinyforge/tinyforge-check/forge"
)

// timelineStore is a commentStore on a fake clock: every request takes rtt of it, and the
// store records each request and each wait of the run, in order. The list hides comments
// created less than lag ago (a read replica). The zero value is not usable: see newTimeline.
type timelineStore struct {
	mu       sync.Mutex
	clock    time.Time
	rtt, lag time.Duration
	comments []comment
	created  map[int64]time.Time
	nextID   int64
	events   []string
	waited   time.Duration
}

func newTimeline(rtt, lag time.Duration, seed ...string) *timelineStore {
	s := &timelineStore{clock: time.Date(2026, 12, 8, 4, 0, 0, 0, time.UTC), rtt: rtt, lag: lag, created: map[int64]time.Time{}, nextID: 100}
	for _, b := range seed {
		s.nextID++
		s.comments = append(s.comments, comment{ID: s.nextID, Author: botLogin, Body: b})
	}
	return s
}

func (s *timelineStore) now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.clock
}

// request records what and lets rtt pass.
func (s *timelineStore) request(what string) {
	s.events = append(s.events, what)
	s.clock = s.clock.Add(s.rtt)
}

// sleep records a wait and lets it pass on the fake clock.
func (s *timelineStore) sleep(_ context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d > 0 {
		s.events = append(s.events, "wait "+d.String())
		s.clock = s.clock.Add(d)
		s.waited += d
	}
	return nil
}

func (s *timelineStore) identity(context.Context) (string, error) { return botLogin, nil }

func (s *timelineStore) list(context.Context, int) ([]comment, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []comment
	for _, c := range s.comments {
		if at, ok := s.created[c.ID]; !ok || s.clock.Sub(at) >= s.lag {
			out = append(out, c)
		}
	}
	s.request(fmt.Sprintf("list (%d shown)", len(out)))
	return out, nil
}

func (s *timelineStore) create(_ context.Context, body string) (comment, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.request("create")
	s.nextID++
	c := comment{ID: s.nextID, Author: botLogin, Body: body}
	s.comments = append(s.comments, c)
	s.created[c.ID] = s.clock
	return c, nil
}

func (s *timelineStore) edit(_ context.Context, id int64, body string) (comment, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.request("edit")
	for i := range s.comments {
		if s.comments[i].ID == id {
			s.comments[i].Body = body
			return s.comments[i], nil
		}
	}
	return comment{}, forge.ErrNotFound
}

func (s *timelineStore) remove(context.Context, int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.request("remove")
	return nil
}

// TestSettleTimeline: a run with no concurrent run, on a fake clock where every request takes
// 40 ms, waits exactly its adaptive bound (settleRTTs round trips, 120 ms) once after it writes
// and then re-reads once: no fixed sleep. Creating and editing cost the same wait; an unchanged
// run waits nothing. On a replica lagging 300 ms, the re-reads go on (one round trip apart, then
// doubling) until the created comment shows, and never past the fence.
func TestSettleTimeline(t *testing.T) {
	const rtt = 40 * time.Millisecond
	tests := []struct {
		name string
		lag  time.Duration
		seed []string
		body string
		want []string
	}{
		{"first run creates", 0, nil, "drift", []string{"list (0 shown)", "create", "wait 120ms", "list (1 shown)"}},
		{"changed run edits", 0, []string{body(4, "in sync")}, "drift", []string{"list (1 shown)", "edit", "wait 120ms", "list (1 shown)"}},
		{"unchanged run", 0, []string{body(4, "drift")}, "drift", []string{"list (1 shown)"}},
		{"lagging replica", 300 * time.Millisecond, nil, "drift", []string{"list (0 shown)", "create",
			"wait 120ms", "list (0 shown)", "wait 40ms", "list (0 shown)", "wait 80ms", "list (1 shown)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTimeline(rtt, tt.lag, tt.seed...)
			st := settle{now: s.now, sleep: s.sleep}
			res, err := upsert(t.Context(), s, forge.CommentRequest{Number: 7, Context: ctxName, RunID: 5, Body: tt.body}, nil, st)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, s.events); diff != "" {
				t.Errorf("%s: timeline (-want +got):\n%s", res.Action, diff)
			}
			waited := s.waited
			if limit := st.bound(rtt) + st.fence(); waited > limit {
				t.Errorf("waited %v, over the adaptive bound plus the fence (%v)", waited, limit)
			}
			if tt.lag == 0 && waited > st.bound(rtt) {
				t.Errorf("waited %v with no concurrent run, over the adaptive bound %v", waited, st.bound(rtt))
			}
		})
	}
}

// TestSettleBound: the wait is settleRTTs round trips, at most 2 s (a retried request is no
// round trip), at least the floor (VerifyDelay), none when off; the fence is a second, or twice
// a longer floor.
func TestSettleBound(t *testing.T) {
	tests := []struct {
		verify, rtt time.Duration
		want, fence time.Duration
	}{
		{0, 50 * time.Millisecond, 150 * time.Millisecond, time.Second},
		{0, time.Millisecond, 3 * time.Millisecond, time.Second},
		{2 * time.Second, 50 * time.Millisecond, 2 * time.Second, 4 * time.Second},
		{-1, 50 * time.Millisecond, 0, time.Second},
		{0, 30 * time.Second, 2 * time.Second, time.Second}, // a request the client retried
		{5 * time.Second, 30 * time.Second, 5 * time.Second, 10 * time.Second},
	}
	for _, tt := range tests {
		st := newSettle(tt.verify)
		if got := st.bound(tt.rtt); got != tt.want {
			t.Errorf("VerifyDelay %v, rtt %v: bound %v, want %v", tt.verify, tt.rtt, got, tt.want)
		}
		if got := st.fence(); got != tt.fence {
			t.Errorf("VerifyDelay %v: fence %v, want %v", tt.verify, got, tt.fence)
		}
	}
}
