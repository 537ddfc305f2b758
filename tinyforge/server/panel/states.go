package panel

import (
	"context"
	"sync"
	"time"

	"github.com/tinyforge/tinyforge-check/gitops"
	"github.com/tinyforge/tinyforge-check/internal/secret"
	"github.com/tinyforge/tinyforge-check/tinyforge"
)

// Workload states of the list's status column. They are the data-status values of its cells,
// which scripts and tests read, so they never change.
const (
	// stateInSync: the file is valid and every field it declares equals live.
	stateInSync = "in_sync"
	// stateDrift: the file is valid and some declared fields differ from live (data-drift says
	// how many).
	stateDrift = "drift"
	// stateInvalid: the file fails lint.
	stateInvalid = "invalid"
	// stateNoFile: the file does not exist at the branch head.
	stateNoFile = "no_file"
	// stateFetchFailed: the file could not be fetched, or the view did not arrive in time.
	stateFetchFailed = "fetch_failed"
	// stateDisabled: GitOps is off (or the source type cannot use it).
	stateDisabled = "disabled"
)

const (
	// DefaultListTimeout is the workload list's budget: how long it waits for its GitOps
	// views. A row whose view is not there in time shows its last known state and when that
	// was checked (fetch failed when there is none); the fetch goes on, so a reload shows it.
	DefaultListTimeout = 3 * time.Second
	// maxListFetches is how many GitOps views the list asks for at once.
	maxListFetches = 8
)

// state is one workload's GitOps state, as the list's status column and the GitOps panel show it.
type state struct {
	// Key is one of the state constants.
	Key string
	// Drift is the number of declared fields that differ from live; 0 unless Key is stateDrift.
	Drift int
	// Text is Key in the page's language, e.g. "drift: 2 fields".
	Text string
	// RateLimited: the forge is rate limiting the repo's token, so the state is the last known
	// one (or, with none, fetch failed).
	RateLimited bool
	// Stale: a fresh state was not ready within the list's budget; this is the last known.
	Stale bool
	// AsOf is when the state was checked, shown when it is stale or rate limited.
	AsOf timeText
	// at is the view's checked_at (or when the list saw it), RFC 3339; "" when unknown.
	at string
	// late: the view did not arrive within the list's budget.
	late bool
}

// stateOf is the state a GitOps view (or the error of fetching it) stands for.
func stateOf(v *View, err error) state {
	if err != nil || v == nil {
		return state{Key: stateFetchFailed}
	}
	s := stateOfStatus(v)
	s.RateLimited, s.at = v.RateLimitedUntil != "", v.CheckedAt
	return s
}

// stateOfStatus is stateOf a view's status and drift.
func stateOfStatus(v *View) state {
	switch gitops.FetchStatus(v.Status) {
	case gitops.StatusOK:
		if n := len(v.Drift); n > 0 {
			return state{Key: stateDrift, Drift: n}
		}
		return state{Key: stateInSync}
	case gitops.StatusInvalid:
		return state{Key: stateInvalid}
	case gitops.StatusNoFile:
		return state{Key: stateNoFile}
	case gitops.StatusDisabled:
		return state{Key: stateDisabled}
	}
	return state{Key: stateFetchFailed}
}

// text fills s.Text in the catalogue's language.
func (s state) text(c *catalogue) state {
	// Every key is spelled out, so that the catalogue test sees each one used.
	switch s.Key {
	case stateInSync:
		s.Text = c.T("list.in_sync")
	case stateDrift:
		s.Text = c.T("list.drift", s.Drift)
	case stateInvalid:
		s.Text = c.T("list.invalid")
	case stateNoFile:
		s.Text = c.T("list.no_file")
	case stateDisabled:
		s.Text = c.T("list.disabled")
	case stateFetchFailed:
		s.Text = c.T("list.fetch_failed")
		if s.RateLimited {
			s.Text = c.T("list.rate_limited")
		}
	default:
		s.Text = c.T("list.fetch_failed")
	}
	if (s.Stale || s.RateLimited) && s.at != "" {
		s.AsOf = c.when(s.at)
	}
	return s
}

// maxKnown bounds knownStates; past it the table starts again empty.
const maxKnown = 10000

// knownStates is the last state the list saw of each workload (by id), shown when a fresh one
// is not ready within the list's budget. A state is the workload's, whoever looked.
type knownStates struct {
	mu sync.Mutex
	m  map[int64]state
}

func (k *knownStates) get(id int64) (state, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	s, ok := k.m[id]
	return s, ok
}

// put remembers s, seen at now, as workload id's state, unless it says nothing (fetch failed).
func (k *knownStates) put(id int64, s state, now time.Time) {
	if s.Key == stateFetchFailed {
		return
	}
	if s.at == "" {
		s.at = now.UTC().Format(time.RFC3339)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if len(k.m) >= maxKnown {
		k.m = map[int64]state{}
	}
	k.m[id] = s
}

// orKnown is s, or the last known state of workload id, marked, when s says nothing new: the
// view was not there in time, or the forge is rate limiting and knew no head. A view that
// failed otherwise shows as failed.
func (k *knownStates) orKnown(id int64, s state, now time.Time) state {
	if s.Key != stateFetchFailed {
		k.put(id, s, now)
		return s
	}
	old, ok := k.get(id)
	if !ok || !(s.late || s.RateLimited) {
		return s
	}
	old.Stale, old.RateLimited = !s.RateLimited, s.RateLimited
	return old
}

// StateText is the workload list's status label of a GitOps view in English, e.g. "in sync" or
// "drift: 2 fields": what the list shows a person whose page is in English. It is v.Status when
// the catalogue cannot be read (never with the embedded one).
func StateText(v *tinyforge.GitOpsView) string {
	cats, err := loadCatalogues()
	if err != nil {
		return v.Status
	}
	return stateOf(&View{GitOpsView: *v}, nil).text(cats["en"]).Text
}

// listStates returns the state of every workload in list, by id. A workload with GitOps off is
// disabled without a call; the others' views are fetched with Backend.ListGitOps, at most
// maxListFetches at a time, all within p.listTimeout. A view that fails, or has not arrived
// when the deadline passes, makes that workload show its last known state (stale), or
// fetch_failed when there is none, and no other: the list always renders.
func (p *Panel) listStates(ctx context.Context, pr Principal, list []tinyforge.WorkloadSummary) map[int64]state {
	out := make(map[int64]state, len(list))
	var ids []int64
	for _, w := range list {
		if !w.GitOps.Enabled || !gitops.SupportsGitOps(w.SourceType) {
			out[w.ID] = state{Key: stateDisabled}
			continue
		}
		out[w.ID] = state{Key: stateFetchFailed, late: true} // until its view arrives
		ids = append(ids, w.ID)
	}
	if len(ids) == 0 {
		return out
	}
	ctx, cancel := context.WithTimeout(ctx, p.listTimeout)
	defer cancel()
	type result struct {
		id int64
		st state
	}
	jobs := make(chan int64, len(ids))
	for _, id := range ids {
		jobs <- id
	}
	close(jobs)
	// Buffered for every result, so a worker never blocks after the list stopped waiting.
	results := make(chan result, len(ids))
	for range min(maxListFetches, len(ids)) {
		go func() {
			for id := range jobs {
				if ctx.Err() != nil {
					continue // its row already says fetch_failed
				}
				v, err := p.backend.ListGitOps(ctx, pr, id)
				if err != nil {
					p.log.Warn("workload list: GitOps view failed", "workload", id, "err", secret.Redact(err.Error(), pr.Credential))
				}
				results <- result{id, stateOf(v, err)}
			}
		}()
	}
	defer func() {
		for _, id := range ids {
			out[id] = p.known.orKnown(id, out[id], p.now())
		}
	}()
	for range ids {
		select {
		case r := <-results:
			out[r.id] = r.st
		case <-ctx.Done():
			p.log.Warn("workload list: GitOps views did not all arrive in time; the rest show their last known state", "timeout", p.listTimeout)
			for {
				select {
				case r := <-results:
					out[r.id] = r.st
				default:
					return out
				}
			}
		}
	}
	return out
}
