package providers

import (
	"context"
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

// startRound reads the identity and the list. With parallel they go out at once and list gets
// no login; otherwise the list waits for the identity and gets its login (a list the forge
// filters by author).
func startRound[T any](ctx context.Context, key int, parallel bool, identity func(context.Context) (string, error),
	list func(ctx context.Context, login string) ([]T, error)) *readRound[T] {
	p := &readRound[T]{key: key, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		if parallel {
			var wg sync.WaitGroup
			wg.Go(func() { p.all, p.listErr = list(ctx, "") })
			p.login, p.loginErr = identity(ctx)
			wg.Wait()
			return
		}
		if p.login, p.loginErr = identity(ctx); p.loginErr == nil {
			p.all, p.listErr = list(ctx, p.login)
		}
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
