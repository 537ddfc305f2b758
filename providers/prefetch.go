package providers

import (
	"context"
	"strings"
	"sync"
)

// readRound is the first read round of an upsert, started early (Repo.PrefetchComments,
// Repo.PrefetchIssues) so that it overlaps the checker's other reads: the token's identity and
// a list of T (comments, issues), each with its error. The upsert that takes it waits for it.
// The zero value is not usable: startRound makes one.
type readRound[T any] struct {
	key      int // what the list is of (a PR's number), for the upsert to check
	done     chan struct{}
	login    string
	loginErr error
	all      []T
	listErr  error
}

// listBy says what login a round's list is filtered by: none (the list goes out with the
// identity), the identity's (it waits for it), or a hint's (it goes out with the identity, and
// again with the identity's login when that is another).
type listBy struct {
	none bool
	hint string
}

// startRound reads the identity and the list, at once or the list after the identity, as by
// says.
func startRound[T any](ctx context.Context, key int, by listBy, identity func(context.Context) (string, error),
	list func(ctx context.Context, login string) ([]T, error)) *readRound[T] {
	p := &readRound[T]{key: key, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		if by.none || by.hint != "" {
			var wg sync.WaitGroup
			first := by.hint
			if by.none {
				first = ""
			}
			wg.Go(func() { p.all, p.listErr = list(ctx, first) })
			p.login, p.loginErr = identity(ctx)
			wg.Wait()
			if by.none || p.loginErr != nil || strings.EqualFold(p.login, by.hint) {
				return
			}
		} else if p.login, p.loginErr = identity(ctx); p.loginErr != nil {
			return
		}
		p.all, p.listErr = list(ctx, p.login)
	}()
	return p
}

// wait blocks until the round has answered, or ctx ends.
func (p *readRound[T]) wait(ctx context.Context) error {
	select {
	case <-p.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
