package providers

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// settleRTTs is how many of its measured round trips a run that wrote waits before its verify
// re-read. A racing run's write that could undo this one was decided on a read answered before
// this write landed, and lands within about one of its own round trips after that read (its read
// round ends, then its writes go out at once); two more are margin for jitter and for a racer
// whose other reads (Tinyforge, the base file) end later. See docs/design.md, Racing runs.
const settleRTTs = 3

// maxSettle caps the adaptive part of the settle wait: a request measured long because the HTTP
// client retried it (a 5xx, a Retry-After) says nothing of the forge's round trip.
const maxSettle = 2 * time.Second

// minFence is the longest a run re-reads, after its settle wait, for the forge to show its own
// writes (a read replica that lags its primary), unless a floor asks for longer (settle.fence).
// After it the run goes on with what it read. A forge that reads its writes shows them at the
// first re-read, so this is never waited on there, except by a run whose created comment a
// racing run deleted as a duplicate before any re-read of this run could see it: no list can
// tell that from a lagging one.
const minFence = time.Second

// maxFencePoll caps the pause between two fence re-reads; the first pause is one round trip,
// and each next one doubles.
const maxFencePoll = 250 * time.Millisecond

// settle is how a run that wrote waits before it trusts a re-read: a multiple of the longest
// request it measured, never a constant, and at least floor. The zero value waits the adaptive
// bound alone, on the real clock.
type settle struct {
	// floor is the least wait after a write (Options.VerifyDelay when positive): raise it for a
	// forge whose replicas lag more than its round trips suggest.
	floor time.Duration
	// off skips the settle wait (Options.VerifyDelay negative); the fence still re-reads until
	// the run's writes show.
	off bool
	// now and sleep are the clock; nil means the real one (time.Now, sleep).
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error
}

// newSettle is the settle of Options.VerifyDelay d: 0 adaptive, negative off, positive a floor.
func newSettle(d time.Duration) settle {
	return settle{floor: max(d, 0), off: d < 0}
}

func (s settle) clock() time.Time {
	if s.now == nil {
		return time.Now()
	}
	return s.now()
}

func (s settle) wait(ctx context.Context, d time.Duration) error {
	if s.sleep == nil {
		return sleep(ctx, d)
	}
	return s.sleep(ctx, d)
}

// bound is the settle wait after a write, for a run whose longest request took rtt: settleRTTs
// times rtt, at most maxSettle, at least floor.
func (s settle) bound(rtt time.Duration) time.Duration {
	if s.off {
		return 0
	}
	return max(s.floor, min(settleRTTs*rtt, maxSettle))
}

// fence is the longest the re-reads after a write wait for the run's writes to show: minFence,
// or twice the floor when that is longer.
func (s settle) fence() time.Duration {
	return max(minFence, 2*s.floor)
}

// rttMeter keeps the longest request of one upsert's convergence (its writes and re-reads, not
// the first read round, whose requests may include opening the connection): the round-trip
// time its waits are multiples of. Make one with settle.meter; safe for concurrent use.
type rttMeter struct {
	now     func() time.Time
	mu      sync.Mutex
	longest time.Duration
}

// meter is a new rttMeter on s's clock.
func (s settle) meter() *rttMeter { return &rttMeter{now: s.clock} }

// request starts timing one request; calling what it returns records it, as in
// defer m.request()().
func (m *rttMeter) request() func() {
	start := m.now()
	return func() {
		d := m.now().Sub(start)
		m.mu.Lock()
		m.longest = max(m.longest, d)
		m.mu.Unlock()
	}
}

func (m *rttMeter) rtt() time.Duration {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.longest
}

// fence is what a re-read must show before the run trusts it: each of the run's writes of one
// look (a created item, an edit, a removal). The zero value holds no write.
type fence[T any] struct {
	checks []func(all []T) bool
}

// add records a write; shown reports whether a list shows it.
func (f *fence[T]) add(shown func(all []T) bool) { f.checks = append(f.checks, shown) }

// wrote reports whether the look wrote anything.
func (f fence[T]) wrote() bool { return len(f.checks) > 0 }

// shows reports whether all shows every write of the fence.
func (f fence[T]) shows(all []T) bool {
	for _, shown := range f.checks {
		if !shown(all) {
			return false
		}
	}
	return true
}

// maxConvergeRounds bounds the verify-and-repair loop of an upsert (converge).
const maxConvergeRounds = 8

// converge is the verify-and-repair loop of an upsert: look gets the list of the first read
// round (reads), then, after every look that wrote, a fresh one from relist (prev is the list
// before), read once the settle wait for the run's longest request (meter) is over and again
// until it shows the look's writes (the fence); it ends at the first look that wrote nothing or
// failed, and fails when what (the sticky comment, the drift issue) still changed after
// maxConvergeRounds looks.
func converge[T any](ctx context.Context, what string, st settle, meter *rttMeter, reads *readRound[T],
	relist func(ctx context.Context, prev []T) ([]T, error),
	look func(ctx context.Context, all []T, listErr error) (fence[T], error)) error {
	all, listErr := reads.all, reads.listErr
	for round := 0; round < maxConvergeRounds; round++ {
		wrote, err := look(ctx, all, listErr)
		if err != nil || !wrote.wrote() {
			return err
		}
		if all, listErr, err = reread(ctx, st, meter, wrote, all, relist); err != nil {
			return err
		}
	}
	return fmt.Errorf("the %s kept changing under concurrent runs: rerun the check", what)
}

// reread is the verify read after a look that wrote: it waits the settle bound, reads, and
// reads again (one round trip later, then doubling up to maxFencePoll) while the list does not
// show the writes of wrote, for at most st.fence(). An error is the context's; a failed list is
// listErr.
func reread[T any](ctx context.Context, st settle, meter *rttMeter, wrote fence[T], prev []T,
	relist func(ctx context.Context, prev []T) ([]T, error)) (all []T, listErr error, err error) {
	if err := st.wait(ctx, st.bound(meter.rtt())); err != nil {
		return nil, nil, err
	}
	start := st.clock()
	pause := max(meter.rtt(), time.Millisecond)
	for {
		all, listErr = relist(ctx, prev)
		if listErr != nil || wrote.shows(all) || st.clock().Sub(start) >= st.fence() {
			return all, listErr, nil
		}
		if err := st.wait(ctx, pause); err != nil {
			return nil, nil, err
		}
		pause = min(2*pause, maxFencePoll)
	}
}
