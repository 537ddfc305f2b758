package providers

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// markerPrefix and markerSuffix frame the hidden first line of a sticky
// comment: <!-- tinyforge-check:{context} run={runID} -->.
const (
	markerPrefix = "<!-- tinyforge-check:"
	markerSuffix = " -->"
)

// Marker returns the hidden first line identifying the sticky comment of a
// status context, e.g. "<!-- tinyforge-check:tinyforge/gitops run=42 -->".
// Contexts that could break the HTML comment are rejected by UpsertComment.
func Marker(context string, runID int64) string {
	return markerPrefix + context + " run=" + strconv.FormatInt(runID, 10) + markerSuffix
}

// ParseMarker reads the marker from the first line of a comment body. ok is
// false when the first line is not exactly a marker (a marker quoted anywhere
// else does not count).
func ParseMarker(body string) (context string, runID int64, ok bool) {
	line, _, _ := strings.Cut(body, "\n")
	line = strings.TrimSuffix(line, "\r")
	if !strings.HasPrefix(line, markerPrefix) || !strings.HasSuffix(line, markerSuffix) {
		return "", 0, false
	}
	inner := line[len(markerPrefix) : len(line)-len(markerSuffix)]
	i := strings.LastIndex(inner, " run=")
	if i <= 0 {
		return "", 0, false
	}
	context, digits := inner[:i], inner[i+len(" run="):]
	if digits == "" || len(digits) > 19 || strings.TrimLeft(digits, "0123456789") != "" {
		return "", 0, false
	}
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || validContext(context) != nil {
		return "", 0, false
	}
	return context, n, true
}

// validContext refuses status contexts that cannot live inside the marker.
func validContext(c string) error {
	switch {
	case c == "":
		return errors.New("status context is empty: set status-context")
	case len(c) > 255:
		return errors.New("status context is longer than 255 bytes: shorten status-context")
	case !utf8.ValidString(c):
		return errors.New("status context is not valid UTF-8: fix status-context")
	case strings.Contains(c, "--"), strings.ContainsAny(c, "<>\r\n"):
		return fmt.Errorf("status context %q contains \"--\", \"<\", \">\" or a line break: choose a plain name like tinyforge/gitops", c)
	}
	return nil
}

// stripMarker returns a body without its first (marker) line.
func stripMarker(body string) string {
	_, rest, _ := strings.Cut(body, "\n")
	return rest
}

// comment is one issue/MR comment as the sticky logic sees it.
type comment struct {
	ID     int64
	Author string
	Body   string
	URL    string
}

// commentStore is what the sticky logic needs from a forge for one PR.
type commentStore interface {
	identity(ctx context.Context) (string, error)
	// list returns every comment of the PR. expected is how many there probably are (0:
	// unknown); a forge that paginates fetches the pages that many comments fill at once.
	list(ctx context.Context, expected int) ([]comment, error)
	create(ctx context.Context, body string) (comment, error)
	edit(ctx context.Context, id int64, body string) (comment, error)
	remove(ctx context.Context, id int64) error
}

// maxConvergeRounds bounds the verify-and-repair loop of upsert.
const maxConvergeRounds = 8

// upsert keeps exactly one marker comment per (PR, context), written by our
// identity, holding the body of the highest run seen. Forges offer no
// conditional writes, so every run that wrote re-reads after a delay and
// repairs what a racing run did (a stale write of a lower run, a duplicate
// create); a run never overwrites a comment whose marker has a higher run id.
func upsert(ctx context.Context, s commentStore, req CommentRequest, verify time.Duration) (CommentResult, error) {
	if err := validContext(req.Context); err != nil {
		return CommentResult{}, err
	}
	if req.RunID < 0 {
		return CommentResult{}, errors.New("run id is negative: pass the CI run id")
	}
	if req.Number <= 0 {
		return CommentResult{}, errors.New("pull request number must be positive: pass the PR (MR) number")
	}
	desired := Marker(req.Context, req.RunID) + "\n" + req.Body
	if n := utf8.RuneCountInString(desired); n > MaxCommentBody {
		return CommentResult{}, fmt.Errorf("comment is %d characters, over the forge limit of %d: shorten the body", n, MaxCommentBody)
	}
	reads := req.Prefetch
	if reads == nil || reads.number != req.Number {
		reads = startReads(ctx, s, req.Number, 0)
	}
	if err := reads.wait(ctx); err != nil {
		return CommentResult{}, err
	}
	login, err := reads.login, reads.loginErr
	if err != nil {
		return forbiddenSkip("read the token's identity", err)
	}
	var res CommentResult
	recreated := false
	seen := 0
	for round := 0; round < maxConvergeRounds; round++ {
		var all []comment
		if round == 0 {
			all, err = reads.all, reads.listErr
		} else {
			if verify > 0 {
				if err := sleep(ctx, verify); err != nil {
					return res, err
				}
			}
			all, err = s.list(ctx, seen)
		}
		if err != nil {
			return forbiddenSkip("list comments", err)
		}
		seen = len(all)
		ours := markerComments(all, login, req.Context)
		if len(ours) == 0 && res.Action == "" && req.UpdateOnly {
			return CommentResult{Action: CommentSkipped, Reason: "no earlier comment to update"}, nil
		}
		if len(ours) == 0 {
			if res.Action != "" && recreated {
				// Ours vanished twice (deleted by someone): stop fighting.
				return res, errors.New("the sticky comment was deleted while being written: rerun the check")
			}
			recreated = res.Action != ""
			c, err := createOrAdopt(ctx, s, login, req.Context, desired)
			if err != nil {
				return forbiddenSkip("create comment", err)
			}
			res = CommentResult{Action: CommentCreated, URL: c.URL}
			continue // verify: a racing run may have created one too
		}
		survivor := ours[0] // lowest id
		top := ours[0]
		for _, c := range ours[1:] {
			if c.run > top.run {
				top = c
			}
		}
		if res.Action == "" { // first look: decide what this run does
			switch {
			case top.run > req.RunID && stripMarker(top.Body) != req.Body:
				res = CommentResult{Action: CommentSkipped, URL: survivor.URL,
					Reason: fmt.Sprintf("a newer run (%d) already wrote the comment", top.run)}
			case stripMarker(top.Body) == req.Body:
				res = CommentResult{Action: CommentUnchanged, URL: survivor.URL}
			default:
				res = CommentResult{Action: CommentUpdated, URL: survivor.URL}
			}
		}
		want := top.Body
		mine := res.Action == CommentCreated || res.Action == CommentUpdated
		if mine && req.RunID >= top.run && stripMarker(top.Body) != req.Body {
			want = desired
		}
		wrote := false
		// Compare whole bodies, marker included: the survivor must also carry the highest run
		// id, or a later older run would take it for the newest and overwrite it.
		if survivor.Body != want {
			c, err := s.edit(ctx, survivor.ID, want)
			if err != nil && !errors.Is(err, ErrNotFound) {
				return forbiddenSkip("update comment", err)
			}
			if err == nil && c.URL != "" {
				survivor.URL = c.URL
			}
			wrote = true
		}
		for _, c := range ours[1:] {
			if err := s.remove(ctx, c.ID); err != nil && !errors.Is(err, ErrNotFound) {
				return forbiddenSkip("delete duplicate comment", err)
			}
			wrote = true
		}
		res.URL = survivor.URL
		if !wrote {
			return res, nil
		}
	}
	return res, errors.New("the sticky comment kept changing under concurrent runs: rerun the check")
}

// CommentPrefetch is the read round of an upsert, started early: the token's identity and
// every comment of one PR, fetched at once. Get one from a provider's PrefetchComments and pass
// it in CommentRequest.Prefetch; the upsert then starts with its writes. The zero value is not
// usable.
type CommentPrefetch struct {
	number   int
	done     chan struct{}
	login    string
	loginErr error
	all      []comment
	listErr  error
}

// startReads starts the identity and the comment list of PR number at once.
func startReads(ctx context.Context, s commentStore, number, expected int) *CommentPrefetch {
	p := &CommentPrefetch{number: number, done: make(chan struct{})}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		p.login, p.loginErr = s.identity(ctx)
	}()
	go func() {
		defer wg.Done()
		p.all, p.listErr = s.list(ctx, expected)
	}()
	go func() {
		wg.Wait()
		close(p.done)
	}()
	return p
}

// wait blocks until both reads have answered, or ctx ends.
func (p *CommentPrefetch) wait(ctx context.Context) error {
	select {
	case <-p.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// maxParallelPages caps how many pages of one list are requested at once.
const maxParallelPages = 8

// fetchPages requests pages first..last (1-based, inclusive) at once, at most
// maxParallelPages at a time, and returns the answers in page order. The first
// error wins; the other requests still finish.
func fetchPages[T any](ctx context.Context, first, last int, get func(ctx context.Context, page int) (T, error)) ([]T, error) {
	if last < first {
		return nil, nil
	}
	out := make([]T, last-first+1)
	errs := make([]error, len(out))
	sem := make(chan struct{}, maxParallelPages)
	var wg sync.WaitGroup
	for i := range out {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			out[i], errs[i] = get(ctx, first+i)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// pagesFor is how many pages of perPage items expected items fill (at least 1).
func pagesFor(expected, perPage int) int {
	if expected <= perPage {
		return 1
	}
	return (expected + perPage - 1) / perPage
}

// forbiddenSkip turns a 403 into a skipped result (fork PRs get a
// read-only token: a notice, not a crash) while still returning the error.
func forbiddenSkip(op string, err error) (CommentResult, error) {
	if errors.Is(err, ErrForbidden) {
		return CommentResult{Action: CommentSkipped, Reason: "the token may not " + op + " (read-only token, e.g. a fork PR)"}, err
	}
	return CommentResult{}, err
}

// createOrAdopt creates the comment. A POST is never retried blindly: after
// an ambiguous failure (5xx, timeout) it re-lists and adopts the comment if it
// was stored, and only creates once more if it was not.
func createOrAdopt(ctx context.Context, s commentStore, login, context, body string) (comment, error) {
	c, err := s.create(ctx, body)
	if err == nil || !ambiguous(err) {
		return c, err
	}
	all, lerr := s.list(ctx, 0)
	if lerr != nil {
		return comment{}, errors.Join(err, lerr)
	}
	for _, o := range markerComments(all, login, context) {
		if o.Body == body {
			return o.comment, nil
		}
	}
	return s.create(ctx, body)
}

// markerComment is a comment of ours carrying a marker.
type markerComment struct {
	comment
	run int64
}

// markerComments returns the comments written by login whose first line is
// the marker of context, by ascending id.
func markerComments(all []comment, login, context string) []markerComment {
	var out []markerComment
	for _, c := range all {
		if !strings.EqualFold(c.Author, login) {
			continue
		}
		ctx, run, ok := ParseMarker(c.Body)
		if !ok || ctx != context {
			continue
		}
		out = append(out, markerComment{comment: c, run: run})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
