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

	"github.com/tinyforge/tinyforge-check/forge"
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
	inner, ok := markerFields(markerPrefix, body)
	i := strings.LastIndex(inner, " run=")
	if !ok || i <= 0 {
		return "", 0, false
	}
	context = inner[:i]
	n, ok := markerNumber(inner[i+len(" run="):])
	if !ok || validContext(context) != nil {
		return "", 0, false
	}
	return context, n, true
}

// markerFields is what the first line of body holds between prefix and markerSuffix; ok is
// false when that line is not exactly a marker line of prefix.
func markerFields(prefix, body string) (string, bool) {
	line, _, _ := strings.Cut(body, "\n")
	line = strings.TrimSuffix(line, "\r")
	if !strings.HasPrefix(line, prefix) || !strings.HasSuffix(line, markerSuffix) {
		return "", false
	}
	return line[len(prefix) : len(line)-len(markerSuffix)], true
}

// markerNumber reads a marker's number: decimal digits only (no sign), at most 19.
func markerNumber(digits string) (int64, bool) {
	if digits == "" || len(digits) > 19 || strings.TrimLeft(digits, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.ParseInt(digits, 10, 64)
	return n, err == nil
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

// upsert keeps exactly one marker comment per (PR, context), written by our identity, holding
// the body of the highest run seen. Forges offer no conditional writes, so every run that wrote
// re-reads, once the settle wait (st) is over and until the list shows its writes, and repairs
// what a racing run did (a stale write of a lower run, a duplicate create); a run never
// overwrites a comment whose marker has a higher (trusted) run id. reads, when it is a prefetch
// of the same PR, holds the first read round; nil reads now.
func upsert(ctx context.Context, s commentStore, req forge.CommentRequest, reads *readRound[comment], st settle) (forge.CommentResult, error) {
	desired, err := desiredComment(req)
	if err != nil {
		return forge.CommentResult{}, err
	}
	if reads == nil || reads.key != req.Number {
		reads = startReads(ctx, s, req.Number, 0)
	}
	if err := reads.wait(ctx); err != nil {
		return forge.CommentResult{}, err
	}
	if reads.loginErr != nil {
		return forbiddenSkip("read the token's identity", reads.loginErr)
	}
	meter := st.meter()
	s = timedComments{commentStore: s, meter: meter}
	run := &stickyRun{s: s, req: req, login: reads.login, desired: desired}
	err = converge(ctx, "sticky comment", st, meter, reads, func(ctx context.Context, prev []comment) ([]comment, error) {
		return s.list(ctx, len(prev))
	}, run.look)
	return run.res, err
}

// timedComments is a commentStore whose every request meter times.
type timedComments struct {
	commentStore
	meter *rttMeter
}

func (t timedComments) list(ctx context.Context, expected int) ([]comment, error) {
	defer t.meter.request()()
	return t.commentStore.list(ctx, expected)
}

func (t timedComments) create(ctx context.Context, body string) (comment, error) {
	defer t.meter.request()()
	return t.commentStore.create(ctx, body)
}

func (t timedComments) edit(ctx context.Context, id int64, body string) (comment, error) {
	defer t.meter.request()()
	return t.commentStore.edit(ctx, id, body)
}

func (t timedComments) remove(ctx context.Context, id int64) error {
	defer t.meter.request()()
	return t.commentStore.remove(ctx, id)
}

// desiredComment checks a comment request and returns the body this run writes, marker line
// included.
func desiredComment(req forge.CommentRequest) (string, error) {
	if err := validContext(req.Context); err != nil {
		return "", err
	}
	if req.RunID < 0 {
		return "", errors.New("run id is negative: pass the CI run id")
	}
	if req.Number <= 0 {
		return "", errors.New("pull request number must be positive: pass the PR (MR) number")
	}
	desired := Marker(req.Context, req.RunID) + "\n" + req.Body
	if n := utf8.RuneCountInString(desired); n > forge.MaxCommentBody {
		return "", fmt.Errorf("comment is %d characters, over the forge limit of %d: shorten the body", n, forge.MaxCommentBody)
	}
	return desired, nil
}

// stickyRun is one upsert's convergence loop: what the run wants written, and what it did.
type stickyRun struct {
	s       commentStore
	req     forge.CommentRequest
	login   string
	desired string // this run's body, marker line included
	// res is what the run did, and what upsert reports; Action "" before the first look.
	res forge.CommentResult
	// recreated reports that the run created the comment again after it had acted once.
	recreated bool
	// wrote is what the current look wrote, for the re-read to wait for.
	wrote fence[comment]
}

// look is one look of converge at the PR's comments (all, or the error listing them); it
// returns what it wrote.
func (run *stickyRun) look(ctx context.Context, all []comment, listErr error) (fence[comment], error) {
	run.wrote = fence[comment]{}
	if listErr != nil {
		err := run.fail("list comments", listErr)
		return fence[comment]{}, err
	}
	ours := markerComments(all, run.login, run.req.Context)
	for i := range ours {
		ours[i].run = trustedRun(ours[i].run, run.req.RunID)
	}
	if err := run.step(ctx, ours); err != nil {
		return fence[comment]{}, err
	}
	return run.wrote, nil
}

// step makes one look at the comments converge: ours are the marker comments of our identity,
// by ascending id. The survivor (the lowest id) gets the wanted body and the others are deleted.
// Its writes go to run.wrote, after which upsert re-reads to verify; on an error run.res is what to
// report.
func (run *stickyRun) step(ctx context.Context, ours []markerComment) error {
	if len(ours) == 0 {
		return run.create(ctx)
	}
	survivor, top := ours[0], newestComment(ours)
	if run.res.Action == "" {
		run.res = firstCommentAction(run.req, survivor.URL, top)
	}
	want := wantedComment(run.req, run.res, run.desired, top)
	// Compare whole bodies, marker included: the survivor must also carry the highest run
	// id, or a later older run would take it for the newest and overwrite it.
	if survivor.Body != want {
		c, err := run.s.edit(ctx, survivor.ID, want)
		if err != nil && !errors.Is(err, forge.ErrNotFound) {
			return run.fail("update comment", err)
		}
		if err == nil && c.URL != "" {
			survivor.URL = c.URL
		}
		run.wrote.add(commentChanged(survivor.ID, survivor.Body))
	}
	if len(ours) > 1 {
		if err := removeComments(ctx, run.s, ours[1:]); err != nil {
			return run.fail("delete duplicate comment", err)
		}
		for _, c := range ours[1:] {
			run.wrote.add(commentChanged(c.ID, c.Body))
		}
	}
	run.res.URL = survivor.URL
	return nil
}

// create is the step when there is no comment of ours: skip when the run may only update and
// has not written, give up when ours vanished twice under the run (someone deletes it), else
// create it. Creating counts as a write: a racing run may have created one too.
func (run *stickyRun) create(ctx context.Context) error {
	acted := run.res.Action != ""
	switch {
	case !acted && run.req.UpdateOnly:
		run.res = forge.CommentResult{Action: forge.CommentSkipped, Reason: "no earlier comment to update"}
		return nil
	case acted && run.recreated: // ours vanished twice (deleted by someone): stop fighting
		return errors.New("the sticky comment was deleted while being written: rerun the check")
	}
	run.recreated = acted
	c, err := createOrAdopt(ctx, run.s, run.login, run.req.Context, run.desired)
	if err != nil {
		return run.fail("create comment", err)
	}
	run.login = writtenAs(run.login, c.Author)
	run.res = forge.CommentResult{Action: forge.CommentCreated, URL: c.URL}
	run.wrote.add(commentCreated(c.ID))
	return nil
}

// commentCreated is the fence of a created comment id: a list shows it once it holds a comment
// of that id or a later one (ids grow; a racing run may have deleted this one meanwhile).
func commentCreated(id int64) func([]comment) bool {
	return func(all []comment) bool {
		for _, c := range all {
			if c.ID >= id {
				return true
			}
		}
		return false
	}
}

// commentChanged is the fence of an edit or a removal of comment id, whose body was old: a list
// shows it once that comment is gone or holds another body.
func commentChanged(id int64, old string) func([]comment) bool {
	return func(all []comment) bool {
		for _, c := range all {
			if c.ID == id && c.Body == old {
				return false
			}
		}
		return true
	}
}

// writtenAs is the identity to look for after the token wrote something authored by author:
// author, when the forge named one. No identity is inferred any more (GET /user 403 fails with
// forge.ErrIdentityUnknown), so it only corrects a given Options.Login the forge contradicts,
// so that the verify re-read finds what the run wrote instead of writing it again.
func writtenAs(login, author string) string {
	if author == "" {
		return login
	}
	return author
}

// fail ends the loop on a failed write of op: a 403 reports a skip.
func (run *stickyRun) fail(op string, err error) error {
	run.res, err = forbiddenSkip(op, err)
	return err
}

// newestComment is the comment of the highest run (the lowest id among equals).
func newestComment(ours []markerComment) markerComment {
	top := ours[0]
	for _, c := range ours[1:] {
		if c.run > top.run {
			top = c
		}
	}
	return top
}

// firstCommentAction decides, at the run's first look, what the run does: skip when a newer
// run already wrote another body, nothing when the newest body is this run's, else update.
// survivorURL is the comment that stays.
func firstCommentAction(req forge.CommentRequest, survivorURL string, top markerComment) forge.CommentResult {
	switch {
	case top.run > req.RunID && stripMarker(top.Body) != req.Body:
		return forge.CommentResult{Action: forge.CommentSkipped, URL: survivorURL,
			Reason: fmt.Sprintf("a newer run (%d) already wrote the comment", top.run)}
	case stripMarker(top.Body) == req.Body:
		return forge.CommentResult{Action: forge.CommentUnchanged, URL: survivorURL}
	}
	return forge.CommentResult{Action: forge.CommentUpdated, URL: survivorURL}
}

// wantedComment is the whole body the survivor must hold: desired (this run's) when the run
// writes, is not older than the newest marker and has another body; else the newest
// comment's, marker included.
func wantedComment(req forge.CommentRequest, res forge.CommentResult, desired string, top markerComment) string {
	mine := res.Action == forge.CommentCreated || res.Action == forge.CommentUpdated
	if mine && req.RunID >= top.run && stripMarker(top.Body) != req.Body {
		return desired
	}
	return top.Body
}

// removeComments deletes duplicates; one already gone is fine.
func removeComments(ctx context.Context, s commentStore, dups []markerComment) error {
	for _, c := range dups {
		if err := s.remove(ctx, c.ID); err != nil && !errors.Is(err, forge.ErrNotFound) {
			return err
		}
	}
	return nil
}

// startReads starts the identity and the comment list of PR number at once; expected, the
// event payload's comment count, lets every page be requested at once.
func startReads(ctx context.Context, s commentStore, number, expected int) *readRound[comment] {
	return startRound(ctx, number, listBy{none: true}, s.identity, func(ctx context.Context, _ string) ([]comment, error) {
		return s.list(ctx, expected)
	})
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

// firstSeen collects a list's items once each by key, in the order first met: the pages of one
// list may repeat an item (pages read at once are not one snapshot: an item added meanwhile
// shifts the next ones a page on). The zero value is ready to use.
type firstSeen[K comparable, V any] struct {
	seen  map[K]bool
	items []V
}

// add appends v unless an item of the same key was added before.
func (f *firstSeen[K, V]) add(key K, v V) {
	if f.seen[key] {
		return
	}
	if f.seen == nil {
		f.seen = map[K]bool{}
	}
	f.seen[key] = true
	f.items = append(f.items, v)
}

// forbiddenSkip turns a 403 into a skipped result (fork PRs get a
// read-only token: a notice, not a crash) while still returning the error.
func forbiddenSkip(op string, err error) (forge.CommentResult, error) {
	if errors.Is(err, forge.ErrForbidden) {
		return forge.CommentResult{Action: forge.CommentSkipped, Reason: "the token may not " + op + " (read-only token, e.g. a fork PR)"}, err
	}
	return forge.CommentResult{}, err
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

// maxRunAhead is how far a marker's run id may be ahead of this run's and still be trusted as a
// newer run's (2^24, about 16.8 million: GitHub's and GitLab.com's run and pipeline ids are
// global counters that a racing run of the same pull request is not that far ahead on). A
// marker is text anyone who can post as the check's account can write (issue 22: a
// workflow_run job posting as github-actions[bot]); a run id further ahead is taken for such a
// write, not for a newer run, and cannot pin the comment or the issue.
const maxRunAhead int64 = 1 << 24

// trustedRun is the order a marker's run gets against this run's (ours): run itself, or -1
// (older than every run) when it is further ahead than maxRunAhead.
func trustedRun(run, ours int64) int64 {
	if run > ours && run-ours > maxRunAhead {
		return -1
	}
	return run
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

// sleep waits d or until ctx ends; it does not wait at all (and never fails) when d <= 0.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
