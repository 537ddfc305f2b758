package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/tinyforge/tinyforge-check/forge"
)

// How the server spends forge requests (docs/tinyforge-api.md, Forge traffic): one read of a
// branch head in flight per (repo, branch, token), shared by every request that asks; a head
// kept for the head TTL for the workload list; at most a fixed number of forge requests at once
// server-wide; and after a rate-limit answer, no request for that repo's token until the forge
// said to come back.
const (
	// DefaultHeadTTL is how long the workload list reuses a branch head it read: one forge
	// request per workload per TTL, however many people reload the list.
	DefaultHeadTTL = 30 * time.Second
	// DefaultMaxForgeRequests is how many forge requests the server makes at once, all
	// workloads and people together; more wait their turn (within their fetch deadline).
	DefaultMaxForgeRequests = 16
	// defaultRateLimitWait is the back-off after a rate limit whose answer did not say how long.
	defaultRateLimitWait = time.Minute
	// maxRateLimitWait caps a back-off, whatever the forge asked.
	maxRateLimitWait = time.Hour
	// maxHeads bounds the head cache; past it the oldest reads are dropped first.
	maxHeads = 4096
)

// flight is one call in progress: done closes when val and err are set.
type flight[T any] struct {
	done chan struct{}
	val  T
	err  error
}

// flights runs at most one call per key at a time and gives its result to everyone who asked
// for that key meanwhile (single-flight). The zero value is not usable; see newFlights.
type flights[T any] struct {
	mu sync.Mutex
	m  map[string]*flight[T]
}

func newFlights[T any]() *flights[T] { return &flights[T]{m: map[string]*flight[T]{}} }

// do returns fn's result for key: of a call started now, or of the one already in flight. fn
// runs on its own goroutine, bounded by its own deadline and not by ctx: a caller that stops
// waiting (ctx ended) gets ctx's error and leaves the call running for the others, whose
// result then fills the caches.
func (g *flights[T]) do(ctx context.Context, key string, fn func() (T, error)) (T, error) {
	g.mu.Lock()
	f, ok := g.m[key]
	if !ok {
		f = &flight[T]{done: make(chan struct{})}
		g.m[key] = f
		go func() {
			f.val, f.err = fn()
			g.mu.Lock()
			delete(g.m, key)
			g.mu.Unlock()
			close(f.done)
		}()
	}
	g.mu.Unlock()
	select {
	case <-f.done:
		return f.val, f.err
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}

// headCache maps headKey to head, bounded by maxHeads.
type headCache struct {
	mu sync.Mutex
	m  map[string]head
}

func (c *headCache) get(k string) (head, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[k]
	return e, ok
}

// update changes k's entry with fn, dropping the oldest read first when the cache is full.
func (c *headCache) update(k string, fn func(*head)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[k]
	if !ok && len(c.m) >= maxHeads {
		var oldest string
		for key, v := range c.m {
			if oldest == "" || v.at.Before(c.m[oldest].at) {
				oldest = key
			}
		}
		delete(c.m, oldest)
	}
	fn(&e)
	c.m[k] = e
}

// headKey identifies a branch as read with one token: workloads of one repo share reads, but a
// workload never gets what another's token read.
func headKey(wl *Workload, token string) string {
	sum := sha256.Sum256([]byte(token))
	return strings.Join([]string{wl.Repo.Provider, wl.Repo.BaseURL, wl.Repo.Owner, wl.Repo.Name, wl.Repo.Branch, hex.EncodeToString(sum[:8])}, "\x00")
}

// head is a branch head as a fetch uses it, and what the server knows of one branch (headCache).
type head struct {
	// sha is the last head read, at at; "" when none was read yet.
	sha string
	// at is when it was read from the forge.
	at time.Time
	// limitedUntil is the end of a rate-limit back-off: no request before it. In a fetch's
	// head it is set when the forge is rate limiting and sha is the last one known.
	limitedUntil time.Time
}

// rateLimitedError is a read not made, or refused, for a forge's rate limit: it says until when
// the server leaves that repo's token alone.
type rateLimitedError struct{ until time.Time }

func (e *rateLimitedError) Error() string {
	return fmt.Sprintf("the forge is rate limiting this repo's token; the server asks again after %s", timeString(e.until))
}

func (e *rateLimitedError) Is(target error) bool { return target == forge.ErrRateLimited }

// resolveHead returns wl's branch head. A head read less than maxAge ago is reused (0: always
// read); during a rate-limit back-off no request is made and, when maxAge allows reuse, the last
// head known is returned with its back-off, else a *rateLimitedError. A read joins the one in
// flight for the same branch and token, and takes a turn of the server's forge requests.
func (s *Server) resolveHead(ctx context.Context, fg Forge, wl *Workload, token string, maxAge time.Duration) (head, error) {
	key := headKey(wl, token)
	now := time.Now()
	e, _ := s.heads.get(key)
	switch {
	case now.Before(e.limitedUntil) && e.sha != "" && maxAge > 0:
		return e, nil // the last head known, in the back-off
	case now.Before(e.limitedUntil):
		return head{}, &rateLimitedError{until: e.limitedUntil}
	case e.sha != "" && maxAge > 0 && now.Sub(e.at) < maxAge:
		return head{sha: e.sha, at: e.at}, nil
	}
	h, err := s.headFlights.do(ctx, key, func() (head, error) {
		// A read that ended between this caller's look at the cache and its flight: use it.
		if e, _ := s.heads.get(key); e.sha != "" && maxAge > 0 && e.at.After(now) {
			return head{sha: e.sha, at: e.at}, nil
		}
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.fetchTimeout)
		defer cancel()
		release, err := s.forgeTurn(fctx)
		if err != nil {
			return head{}, err
		}
		sha, err := fg.BranchHead(fctx, wl.Repo.Owner, wl.Repo.Name, wl.Repo.Branch)
		release()
		if err != nil {
			return head{}, s.noteRateLimit(key, err)
		}
		h := head{sha: sha, at: time.Now()}
		if sha != "" {
			s.heads.update(key, func(e *head) { e.sha, e.at = sha, h.at })
		}
		return h, nil
	})
	return h, err
}

// noteRateLimit starts key's back-off when err is a rate limit, and returns the error to show.
func (s *Server) noteRateLimit(key string, err error) error {
	if !errors.Is(err, forge.ErrRateLimited) {
		return err
	}
	wait := defaultRateLimitWait
	var b interface{ Backoff() time.Duration }
	if errors.As(err, &b) && b.Backoff() > 0 {
		wait = min(max(b.Backoff(), time.Second), maxRateLimitWait)
	}
	until := time.Now().Add(wait)
	s.heads.update(key, func(e *head) { e.limitedUntil = until })
	s.log.Warn("the forge is rate limiting a repo's token; no request until the back-off ends", "until", timeString(until))
	return &rateLimitedError{until: until}
}

// forgeTurn waits for one of the server's forge request slots until ctx ends, and returns its
// release.
func (s *Server) forgeTurn(ctx context.Context) (func(), error) {
	select {
	case s.forgeSem <- struct{}{}:
		return func() { <-s.forgeSem }, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("wait for a turn to ask the forge (at most %d requests at once): %w", cap(s.forgeSem), ctx.Err())
	}
}

// listerTTL is how long the workload list's rows act for the caller its list call checked: a
// token revoked meanwhile still sees the rest of that one list (it has already seen the list).
const listerTTL = 5 * time.Second

// maxListers bounds listers (lists of the last listerTTL); past it the table starts again
// empty.
const maxListers = 1024

// listers remembers, by the SHA-256 of a token's secret, the Caller a workload list checked,
// the workloads it read and when, for that list's rows (panelBackend.ListGitOps): each row is
// computed from the list's own read of its workload. It never holds a secret.
type listers struct {
	mu sync.Mutex
	m  map[[32]byte]lister
}

type lister struct {
	c   Caller
	wls map[int64]*Workload
	at  time.Time
}

func (l *listers) put(secret string, c Caller, list []*Workload, now time.Time) {
	wls := make(map[int64]*Workload, len(list))
	for _, wl := range list {
		wls[wl.ID] = wl
	}
	k := sha256.Sum256([]byte(secret))
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.m) >= 64 { // drop the lists past their TTL: they hold workloads
		for key, e := range l.m {
			if now.Sub(e.at) >= listerTTL {
				delete(l.m, key)
			}
		}
	}
	if len(l.m) >= maxListers {
		l.m = map[[32]byte]lister{}
	}
	l.m[k] = lister{c, wls, now}
}

// get returns the Caller checked for secret less than listerTTL before now, and workload id as
// its list read it (nil when the list did not have it).
func (l *listers) get(secret string, id int64, now time.Time) (Caller, *Workload, bool) {
	k := sha256.Sum256([]byte(secret))
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.m[k]
	if !ok || now.Sub(e.at) >= listerTTL {
		return Caller{}, nil, false
	}
	return e.c, e.wls[id], true
}
