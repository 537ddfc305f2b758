package providers

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tinyforge/tinyforge-check/forge"
)

// The hidden first line of a drift issue: <!-- tinyforge-check-issue:{context} workload={id}
// run={runID} since={RFC 3339} -->. since is when the current drift began; it survives edits.
const issueMarkerPrefix = "<!-- tinyforge-check-issue:"

// duplicateMarkerPrefix starts the first line of a duplicate closed by a racing run: the same
// fields as the issue's marker, so that the duplicate keeps its run's body for the survivor (the
// newest run's body may live only there), while it is never taken for the issue itself.
const duplicateMarkerPrefix = "<!-- tinyforge-check-issue-duplicate:"

// IssueMarker returns the hidden first line of the drift issue of a status context and workload.
func IssueMarker(context string, workload, runID int64, since time.Time) string {
	return markerLine(issueMarkerPrefix, context, workload, runID, since)
}

// markerLine renders a marker line of prefix; a negative runID (an untrusted one, see
// trustedRun) is written as 0.
func markerLine(prefix, context string, workload, runID int64, since time.Time) string {
	runID = max(runID, 0)
	return prefix + context + " workload=" + strconv.FormatInt(workload, 10) +
		" run=" + strconv.FormatInt(runID, 10) + " since=" + since.UTC().Format(time.RFC3339) + markerSuffix
}

// issueMark is what an issue's marker line says.
type issueMark struct {
	context  string
	workload int64
	run      int64
	since    time.Time
}

// parseIssueMarker reads the marker from the first line of an issue body; ok is false when the
// first line is not exactly a marker.
func parseIssueMarker(body string) (issueMark, bool) {
	return parseMarkerLine(issueMarkerPrefix, body)
}

// parseMarkerLine reads a marker line of prefix (an issue's or a duplicate's).
func parseMarkerLine(prefix, body string) (issueMark, bool) {
	inner, ok := markerFields(prefix, body)
	// The last three fields are fixed; the context before them may hold spaces.
	fields := strings.Split(inner, " ")
	if !ok || len(fields) < 4 {
		return issueMark{}, false
	}
	n := len(fields)
	m := issueMark{context: strings.Join(fields[:n-3], " ")}
	fields = append([]string{m.context}, fields[n-3:]...)
	if validContext(m.context) != nil {
		return issueMark{}, false
	}
	num := func(field, key string) (int64, bool) {
		v, ok := strings.CutPrefix(field, key+"=")
		n, valid := markerNumber(v)
		return n, ok && valid
	}
	if m.workload, ok = num(fields[1], "workload"); !ok {
		return issueMark{}, false
	}
	if m.run, ok = num(fields[2], "run"); !ok {
		return issueMark{}, false
	}
	since, ok := strings.CutPrefix(fields[3], "since=")
	t, err := time.Parse(time.RFC3339, since)
	if !ok || err != nil || t.Nanosecond() != 0 {
		return issueMark{}, false
	}
	m.since = t.UTC()
	return m, true
}

// issue is one issue as the sticky-issue logic sees it.
type issue struct {
	Number int
	Author string
	Title  string
	Body   string
	Open   bool
	URL    string
}

// issueStore is what the sticky-issue logic needs from a forge for one repo.
type issueStore interface {
	identity(ctx context.Context) (string, error)
	// listIssues returns every issue (never a pull request) login opened in the repo, open and
	// closed.
	listIssues(ctx context.Context, login string) ([]issue, error)
	// createIssue opens an issue; labels it could not set are returned in missing.
	createIssue(ctx context.Context, title, body string, labels []string) (created issue, missing []string, err error)
	// editIssue sets an issue's title, body and state.
	editIssue(ctx context.Context, number int, title, body string, open bool) (issue, error)
	// commentIssue adds a comment to an issue.
	commentIssue(ctx context.Context, number int, body string) error
	// listBy says what login listIssues filters by: none where the forge filters by the token
	// itself (GitLab's scope=created_by_me), else the identity's, or first the login the token
	// probably has (Options.LoginHint).
	listBy() listBy
}

// startIssueReads reads the identity and the issues it opened, the list as the store's listBy
// says: at once with the identity, after it (known without a request for a job token or a given
// Login), or at once filtered by the hint.
func startIssueReads(ctx context.Context, s issueStore) *readRound[issue] {
	return startRound(ctx, 0, s.listBy(), s.identity, s.listIssues)
}

// timedIssues is an issueStore whose every request meter times.
type timedIssues struct {
	issueStore
	meter *rttMeter
}

func (t timedIssues) listIssues(ctx context.Context, login string) ([]issue, error) {
	defer t.meter.request()()
	return t.issueStore.listIssues(ctx, login)
}

func (t timedIssues) createIssue(ctx context.Context, title, body string, labels []string) (issue, []string, error) {
	defer t.meter.request()()
	return t.issueStore.createIssue(ctx, title, body, labels)
}

func (t timedIssues) editIssue(ctx context.Context, number int, title, body string, open bool) (issue, error) {
	defer t.meter.request()()
	return t.issueStore.editIssue(ctx, number, title, body, open)
}

func (t timedIssues) commentIssue(ctx context.Context, number int, body string) error {
	defer t.meter.request()()
	return t.issueStore.commentIssue(ctx, number, body)
}

// issueCreated is the fence of a created issue: a list of ours shows it once it holds that
// number or a later one.
func issueCreated(number int) func([]issue) bool {
	return func(all []issue) bool {
		for _, is := range all {
			if is.Number >= number {
				return true
			}
		}
		return false
	}
}

// issueChanged is the fence of an edit of was: a list shows it once that issue is gone or
// differs from was in title, body or state.
func issueChanged(was issue) func([]issue) bool {
	return func(all []issue) bool {
		for _, is := range all {
			if is.Number == was.Number && is.Title == was.Title && is.Body == was.Body && is.Open == was.Open {
				return false
			}
		}
		return true
	}
}

// markedIssue is an issue of ours carrying the marker of the request's context and workload.
type markedIssue struct {
	issue
	mark issueMark
}

// markedIssues sorts login's issues of context and workload in one pass: marked are those whose
// first line is the issue marker, by ascending number; dups are the duplicates that still hold
// their run's body, seen as the issue they were (marker and body restored), for choosing the
// newest body.
func markedIssues(all []issue, login, context string, workload int64) (marked, dups []markedIssue) {
	for _, is := range all {
		if !strings.EqualFold(is.Author, login) {
			continue
		}
		if m, ok := parseIssueMarker(is.Body); ok && m.context == context && m.workload == workload {
			marked = append(marked, markedIssue{issue: is, mark: m})
			continue
		}
		m, ok := parseMarkerLine(duplicateMarkerPrefix, is.Body)
		if !ok || m.context != context || m.workload != workload {
			continue
		}
		if _, content, ok := strings.Cut(stripMarker(is.Body), "\n\n"); ok {
			is.Body = IssueMarker(m.context, m.workload, m.run, m.since) + "\n" + content
			dups = append(dups, markedIssue{issue: is, mark: m})
		}
	}
	sort.Slice(marked, func(i, j int) bool { return marked[i].Number < marked[j].Number })
	return marked, dups
}

// duplicateNote is the visible first paragraph of a duplicate's body.
func duplicateNote(survivor int) string {
	return fmt.Sprintf("Duplicate of #%d, opened by a concurrent run of tinyforge-check.", survivor)
}

// duplicateBody is the body of a duplicate closed in favour of survivor: the duplicate marker
// with its run, the note, and its run's body, which the survivor may still need (a racing run's
// stale edit can overwrite the survivor after the newest run verified it). Without the issue
// marker it is no longer ours to reopen. Too long a body keeps only the note.
func duplicateBody(survivor int, is markedIssue) string {
	m := is.mark
	out := markerLine(duplicateMarkerPrefix, m.context, m.workload, m.run, m.since) + "\n" + duplicateNote(survivor) + "\n\n" + stripMarker(is.Body)
	if utf8.RuneCountInString(out) > forge.MaxCommentBody {
		return duplicateNote(survivor)
	}
	return out
}

// upsertIssue keeps at most one open marker issue per (context, workload), written by our
// identity and holding the body of the highest run seen; closes it when live matches; reopens
// the newest closed one on the next drift instead of opening another. Like the sticky comment,
// every run that wrote re-reads after verify and repairs what racing runs did: duplicates are
// closed (issues cannot be deleted) and lose their marker.
//
// reads, when it is a prefetch of the same repo, holds the first read round; nil reads now.
func upsertIssue(ctx context.Context, s issueStore, req forge.IssueRequest, reads *readRound[issue], st settle) (forge.IssueResult, error) {
	if err := checkIssueRequest(req); err != nil {
		return forge.IssueResult{}, err
	}
	if reads == nil {
		reads = startIssueReads(ctx, s)
	}
	if err := reads.wait(ctx); err != nil {
		return forge.IssueResult{}, err
	}
	if reads.loginErr != nil {
		return issueForbiddenSkip("read the token's identity", reads.loginErr)
	}
	meter := st.meter()
	s = timedIssues{issueStore: s, meter: meter}
	run := &issueRun{s: s, req: req, login: reads.login, now: time.Now}
	if req.Now != nil {
		run.now = req.Now
	}
	err := converge(ctx, "drift issue", st, meter, reads, func(ctx context.Context, _ []issue) ([]issue, error) {
		return s.listIssues(ctx, run.login)
	}, run.look)
	return run.res, err
}

// checkIssueRequest refuses a request upsertIssue cannot key or write.
func checkIssueRequest(req forge.IssueRequest) error {
	if err := validContext(req.Context); err != nil {
		return err
	}
	switch {
	case req.RunID < 0:
		return errors.New("run id is negative: pass the CI run id")
	case req.Workload <= 0:
		return errors.New("workload id must be positive: the issue is keyed by the Tinyforge workload's id")
	case req.Open && (req.Body == nil || strings.TrimSpace(req.Title) == ""):
		return errors.New("an open issue needs a title and a body")
	}
	return nil
}

// issueRun is one upsertIssue's convergence loop: the request, and what the run did.
type issueRun struct {
	s     issueStore
	req   forge.IssueRequest
	login string // the token's identity, corrected by what it writes (see writtenAs)
	now   func() time.Time
	// res is what the run did, and what upsertIssue reports; Action "" before the first look.
	res forge.IssueResult
	// wrote is what the current look wrote, for the re-read to wait for.
	wrote fence[issue]
}

// look is one look of converge at our issues (all, or the error listing them).
func (run *issueRun) look(ctx context.Context, all []issue, listErr error) (fence[issue], error) {
	run.wrote = fence[issue]{}
	if listErr != nil {
		err := run.fail("list issues", listErr)
		return fence[issue]{}, err
	}
	ours, dups := markedIssues(all, run.login, run.req.Context, run.req.Workload)
	for _, list := range [][]markedIssue{ours, dups} {
		for i := range list {
			list[i].mark.run = trustedRun(list[i].mark.run, run.req.RunID)
		}
	}
	if err := run.step(ctx, ours, dups); err != nil {
		return fence[issue]{}, err
	}
	return run.wrote, nil
}

// step makes one look at the issues converge; ours are the marker issues of our identity, by
// ascending number, and dups the closed duplicates holding their runs' bodies. At the first
// look a newer run that decided the other way wins. Then, as the request wants the issue open
// or not and an issue of ours is open or not: nothing to do, close, reopen or open, or converge
// the open ones. Its writes go to run.wrote, after which upsertIssue re-reads to verify; on an error
// run.res is what to report.
func (run *issueRun) step(ctx context.Context, ours, dups []markedIssue) error {
	open, top := openIssues(ours), newestIssue(ours)
	first := run.res.Action == ""
	if first && top != nil && top.mark.run > run.req.RunID && top.Open != run.req.Open {
		run.res = forge.IssueResult{Action: forge.IssueSkipped, Number: top.Number, URL: top.URL,
			Reason: fmt.Sprintf("a newer run (%d) already decided the issue", top.mark.run)}
		return nil
	}
	switch {
	case !run.req.Open && len(open) == 0:
		if first {
			run.res = forge.IssueResult{Action: forge.IssueNone}
		}
		return nil
	case !run.req.Open:
		return run.close(ctx, open, first)
	case len(open) == 0 && first:
		return run.open(ctx, ours)
	case len(open) == 0:
		return run.closedUnder(top)
	}
	return run.converge(ctx, open, dups, first)
}

// closedUnder is how the loop ends when the issue was closed after this run opened or kept it:
// fine when a newer run (top) closed it, since its decision stands; else an error.
func (run *issueRun) closedUnder(top *markedIssue) error {
	if top != nil && top.mark.run > run.req.RunID {
		return nil
	}
	return errors.New("the drift issue was closed while being written: rerun the check")
}

// close closes every open issue of ours, keeping its since and the higher run id in its marker,
// with the close comment; at the first look the result names the (last) issue closed.
func (run *issueRun) close(ctx context.Context, open []markedIssue, first bool) error {
	req := run.req
	for _, is := range open {
		mark := IssueMarker(req.Context, req.Workload, max(req.RunID, is.mark.run), is.mark.since)
		if _, err := run.s.editIssue(ctx, is.Number, is.Title, mark+"\n"+stripMarker(is.Body), false); err != nil && !errors.Is(err, forge.ErrNotFound) {
			return run.fail("close the issue", err)
		}
		run.wrote.add(issueChanged(is.issue))
		if req.CloseComment != "" {
			if err := run.s.commentIssue(ctx, is.Number, req.CloseComment); err != nil {
				return run.fail("comment on the issue", err)
			}
		}
		if first {
			run.res = forge.IssueResult{Action: forge.IssueClosed, Number: is.Number, URL: is.URL}
		}
	}
	return nil
}

// open is the first look's step when live differs and no issue of ours is open: a drift begins
// now. It reopens the newest (highest-numbered) closed issue of ours with this run's title and
// body, or opens one when there is none.
func (run *issueRun) open(ctx context.Context, ours []markedIssue) error {
	req := run.req
	since := run.now().UTC().Truncate(time.Second)
	body := IssueMarker(req.Context, req.Workload, req.RunID, since) + "\n" + req.Body(since)
	if err := checkIssueLength(body); err != nil {
		return err
	}
	if len(ours) > 0 {
		closed := ours[len(ours)-1] // ours are by ascending number
		is, err := run.s.editIssue(ctx, closed.Number, req.Title, body, true)
		if err != nil {
			return run.fail("reopen the issue", err)
		}
		run.wrote.add(issueChanged(closed.issue))
		run.res = forge.IssueResult{Action: forge.IssueReopened, Number: closed.Number, URL: cmp.Or(is.URL, closed.URL), Since: since}
		return nil
	}
	is, missing, err := run.s.createIssue(ctx, req.Title, body, req.Labels)
	if err != nil {
		return run.fail("open an issue", err)
	}
	run.login = writtenAs(run.login, is.Author)
	run.wrote.add(issueCreated(is.Number))
	run.res = forge.IssueResult{Action: forge.IssueOpened, Number: is.Number, URL: is.URL, Since: since}
	if len(missing) > 0 {
		run.res.Reason = "labels not set (they do not exist in the repo): " + strings.Join(missing, ", ")
	}
	return nil
}

// converge is the step when live differs and issues of ours are open: the lowest-numbered one
// survives with the earliest since and the wanted title and body (the newest among open and
// dups); the others are closed as duplicates.
func (run *issueRun) converge(ctx context.Context, open, dups []markedIssue, first bool) error {
	survivor, newest, since := open[0], *newestIssue(open), earliestSince(open)
	if dup := newestIssue(dups); dup != nil && dup.mark.run > newest.mark.run {
		newest = *dup // the newest body may live in a closed duplicate only (see duplicateBody)
	}
	body := run.req.Body(since)
	if first {
		run.res = firstIssueAction(run.req, survivor, newest, since, body)
	}
	wantTitle, want := wantedIssue(run.req, run.res, newest, since, body)
	if err := checkIssueLength(want); err != nil {
		return err
	}
	if survivor.Body != want || survivor.Title != wantTitle {
		if _, err := run.s.editIssue(ctx, survivor.Number, wantTitle, want, true); err != nil {
			return run.fail("update the issue", err)
		}
		run.wrote.add(issueChanged(survivor.issue))
	}
	if len(open) > 1 {
		if err := closeDuplicates(ctx, run.s, survivor.Number, open[1:]); err != nil {
			return run.fail("close a duplicate issue", err)
		}
		for _, is := range open[1:] {
			run.wrote.add(issueChanged(is.issue))
		}
	}
	run.res.Number, run.res.URL = survivor.Number, survivor.URL
	return nil
}

// checkIssueLength refuses, before any write, a whole body (marker included) the forges would
// answer 422 to.
func checkIssueLength(body string) error {
	if n := utf8.RuneCountInString(body); n > forge.MaxCommentBody {
		return fmt.Errorf("issue body is %d characters, over the forge limit of %d: shorten it", n, forge.MaxCommentBody)
	}
	return nil
}

// fail ends the loop on a failed write of op: a 403 reports a skip.
func (run *issueRun) fail(op string, err error) error {
	run.res, err = issueForbiddenSkip(op, err)
	return err
}

// openIssues are the open ones of ours, in order.
func openIssues(ours []markedIssue) []markedIssue {
	var open []markedIssue
	for _, is := range ours {
		if is.Open {
			open = append(open, is)
		}
	}
	return open
}

// newestIssue is the issue of the highest run, open or closed (the first among equals); nil
// when there is none.
func newestIssue(ours []markedIssue) *markedIssue {
	var top *markedIssue
	for i := range ours {
		if top == nil || ours[i].mark.run > top.mark.run {
			top = &ours[i]
		}
	}
	return top
}

// earliestSince is when the drift the open issues report began: the earliest since among them.
func earliestSince(open []markedIssue) time.Time {
	since := open[0].mark.since
	for _, is := range open[1:] {
		if is.mark.since.Before(since) {
			since = is.mark.since
		}
	}
	return since
}

// firstIssueAction decides, at the run's first look at an open issue, what the run does: skip
// when a newer run already wrote another body, nothing when the title and body are already this
// run's, else update. body is this run's body for since, without the marker.
func firstIssueAction(req forge.IssueRequest, survivor, newest markedIssue, since time.Time, body string) forge.IssueResult {
	switch {
	case newest.mark.run > req.RunID && stripMarker(newest.Body) != body:
		return forge.IssueResult{Action: forge.IssueSkipped, Number: survivor.Number, URL: survivor.URL, Since: since,
			Reason: fmt.Sprintf("a newer run (%d) already wrote the issue", newest.mark.run)}
	case stripMarker(newest.Body) == body && newest.Title == req.Title:
		return forge.IssueResult{Action: forge.IssueUnchanged, Number: survivor.Number, URL: survivor.URL, Since: since}
	}
	return forge.IssueResult{Action: forge.IssueUpdated, Number: survivor.Number, URL: survivor.URL, Since: since}
}

// wantedIssue is the title and whole body (marker included, with since) the surviving issue
// must hold: this run's when the run writes and is not older than the newest run, else the
// newest issue's.
func wantedIssue(req forge.IssueRequest, res forge.IssueResult, newest markedIssue, since time.Time, body string) (title, whole string) {
	mine := res.Action == forge.IssueUpdated || res.Action == forge.IssueOpened || res.Action == forge.IssueReopened
	if mine && req.RunID >= newest.mark.run {
		return req.Title, IssueMarker(req.Context, req.Workload, req.RunID, since) + "\n" + body
	}
	return newest.Title, IssueMarker(req.Context, req.Workload, newest.mark.run, since) + "\n" + stripMarker(newest.Body)
}

// closeDuplicates closes the duplicates of survivor, replacing their bodies (and markers) by a
// pointer to it; one already gone is fine.
func closeDuplicates(ctx context.Context, s issueStore, survivor int, dups []markedIssue) error {
	for _, is := range dups {
		if _, err := s.editIssue(ctx, is.Number, is.Title, duplicateBody(survivor, is), false); err != nil && !errors.Is(err, forge.ErrNotFound) {
			return err
		}
	}
	return nil
}

// issueForbiddenSkip turns a 403 into a skipped result (a read-only token: a notice, not a
// crash) while still returning the error.
func issueForbiddenSkip(op string, err error) (forge.IssueResult, error) {
	if errors.Is(err, forge.ErrForbidden) {
		return forge.IssueResult{Action: forge.IssueSkipped, Reason: "the token may not " + op + " (give it issues: write, or write:issue on Gitea and Forgejo)"}, err
	}
	return forge.IssueResult{}, err
}
