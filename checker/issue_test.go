package checker

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tinyforge/tinyforge-check/forge"
)

// fakeIssues records the issue requests of a run.
type fakeIssues struct {
	mu         sync.Mutex
	got        []forge.IssueRequest
	prefetched bool
	err        error
}

func (f *fakeIssues) PrefetchIssues(context.Context) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.prefetched = true
}

func (f *fakeIssues) UpsertIssue(_ context.Context, req forge.IssueRequest) (forge.IssueResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.got = append(f.got, req)
	if f.err != nil {
		return forge.IssueResult{}, f.err
	}
	if req.Open {
		return forge.IssueResult{Action: "opened", Number: 1001, URL: "https://forge.test/issues/1001"}, nil
	}
	return forge.IssueResult{Action: "closed", Number: 1001}, nil
}

func mergeGroupEvent() Event {
	return Event{Name: EventMergeGroup, CommitSHA: "group555555", MergeGroup: "gh-readonly-queue/main/pr-42-group555555"}
}

func scheduleEvent() Event { return Event{Name: EventSchedule, CommitSHA: "main4444444"} }

// TestScheduledRunKeepsAnIssue: a scheduled run reports through the drift issue instead of a
// status on the default branch; drift and an invalid file keep it open, in sync closes it, and
// other verdicts leave it alone.
func TestScheduledRunKeepsAnIssue(t *testing.T) {
	for _, tc := range []struct {
		name       string
		event      Event
		report     ReportMode
		file       string
		wantOpen   []bool // one entry per issue request
		wantTitle  string
		wantStatus bool
	}{
		{name: "schedule, drift: open", event: scheduleEvent(), file: driftYAML, wantOpen: []bool{true}, wantTitle: "Tinyforge: web drifts from live (tinyforge/gitops)"},
		{name: "dispatch, invalid: open", event: Event{Name: EventWorkflowDispatch, CommitSHA: "main4444444"}, file: "version: 1\ndeploy:\n  port: 0\n",
			wantOpen: []bool{true}, wantTitle: "Tinyforge: .tinyforge.yml of web is invalid (tinyforge/gitops)"},
		{name: "schedule, in sync: close", event: scheduleEvent(), file: inSyncYAML, wantOpen: []bool{false}},
		{name: "schedule, no file: leave it", event: scheduleEvent()},
		{name: "schedule, report status: no issue, a status", event: scheduleEvent(), report: ReportStatus, file: driftYAML, wantStatus: true},
		{name: "schedule, report none: nothing", event: scheduleEvent(), report: ReportNone, file: driftYAML},
		{name: "push: a status, no issue", event: pushEvent(), file: driftYAML, wantStatus: true},
		{name: "push, report issue: open", event: pushEvent(), report: ReportIssue, file: driftYAML, wantOpen: []bool{true}, wantTitle: "Tinyforge: web drifts from live (tinyforge/gitops)"},
		{name: "pull request: never an issue", event: prEvent(), report: ReportIssue, file: driftYAML, wantStatus: true},
		{name: "merge group, report issue: a status, no issue", event: mergeGroupEvent(), report: ReportIssue, file: driftYAML, wantStatus: true},
		{name: "merge group, report none: still a status", event: mergeGroupEvent(), report: ReportNone, file: driftYAML, wantStatus: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ws := fstest.MapFS{}
			if tc.file != "" {
				ws[".tinyforge.yml"] = &fstest.MapFile{Data: []byte(tc.file)}
			}
			issues, status := &fakeIssues{}, &fakeStatus{}
			c := &Checker{Workspace: ws, Live: &fakeLive{workloads: []*Workload{liveWeb()}}, Files: &fakeFiles{}, Status: status, Issues: issues, Comments: &fakeComments{}}
			r, err := c.Run(t.Context(), Inputs{Workload: "3", FailOn: DefaultFailOn, Forge: ForgeGitHub, Event: tc.event,
				Report: tc.report, RunID: 12, IssueLabels: []string{"tinyforge"}, Secrets: []string{"s3cret"}})
			if err != nil {
				t.Fatal(err)
			}
			var open []bool
			for _, req := range issues.got {
				open = append(open, req.Open)
				if req.Workload != 3 || req.RunID != 12 || req.Context != DefaultStatusContext {
					t.Errorf("request keyed %d/%d/%q", req.Workload, req.RunID, req.Context)
				}
				if req.Open {
					if req.Title != tc.wantTitle {
						t.Errorf("title %q, want %q", req.Title, tc.wantTitle)
					}
					since := time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC)
					body := req.Body(since)
					if !strings.Contains(body, "**Since 2026-12-01 06:00 UTC**") || !strings.Contains(body, "](https://tf.example/apps/3?file=") || body != req.Body(since) {
						t.Errorf("body is not the deterministic table with since and the Sync link:\n%s", body)
					}
					if diff := cmp.Diff([]string{"tinyforge"}, req.Labels); diff != "" {
						t.Errorf("labels (-want +got):\n%s", diff)
					}
				} else if !strings.Contains(req.CloseComment, "main444") {
					t.Errorf("close comment %q does not name the commit", req.CloseComment)
				}
			}
			if diff := cmp.Diff(tc.wantOpen, open); diff != "" {
				t.Errorf("issue requests (open?) (-want +got):\n%s", diff)
			}
			if got := len(status.got) > 0; got != tc.wantStatus {
				t.Errorf("status set %v, want %v", got, tc.wantStatus)
			}
			if want := tc.wantOpen != nil; issues.prefetched != (want || (tc.event.PR == nil && r.Verdict == VerdictNoFile && tc.report == "")) {
				t.Errorf("prefetched %v for %s (report %q)", issues.prefetched, tc.event.Name, tc.report)
			}
			if len(tc.wantOpen) == 1 && tc.wantOpen[0] && r.Issue.URL != "https://forge.test/issues/1001" {
				t.Errorf("report's issue %+v", r.Issue)
			}
		})
	}
}

// TestMergeGroupRun: a merge group run sets one status on the group's head commit and writes
// no comment and no issue, even with comment always; its summary names the merge group.
func TestMergeGroupRun(t *testing.T) {
	issues, status, comments := &fakeIssues{}, &fakeStatus{}, &fakeComments{}
	c := &Checker{Workspace: fstest.MapFS{".tinyforge.yml": {Data: []byte(driftYAML)}}, Live: &fakeLive{workloads: []*Workload{liveWeb()}},
		Files: &fakeFiles{}, Status: status, Issues: issues, Comments: comments}
	r, err := c.Run(t.Context(), Inputs{Workload: "3", FailOn: DefaultFailOn, Forge: ForgeGitHub, Event: mergeGroupEvent(),
		Comment: CommentAlways, StatusContext: DefaultStatusContext, RunID: 12})
	if err != nil {
		t.Fatal(err)
	}
	if len(status.got) != 1 || status.got[0].SHA != "group555555" || status.got[0].Context != DefaultStatusContext {
		t.Errorf("statuses %+v, want one on the group's head group555555", status.got)
	}
	if len(comments.got) != 0 || len(issues.got) != 0 || issues.prefetched {
		t.Errorf("a merge group wrote comments %+v, issues %+v (prefetched %v)", comments.got, issues.got, issues.prefetched)
	}
	summary := RenderSummary(r)
	for _, want := range []string{"merge group gh-readonly-queue/main/pr-42-group555555", "commit group55", "a merge group gets no comment and no issue"} {
		if !strings.Contains(summary, want) {
			t.Errorf("summary lacks %q:\n%s", want, summary)
		}
	}
}

// TestScheduledIssueReadOnly: a token that may not write issues is a notice, not a failure.
func TestScheduledIssueReadOnly(t *testing.T) {
	issues := &fakeIssues{err: fmt.Errorf("open an issue: HTTP 403: %w", forge.ErrForbidden)}
	c := &Checker{Workspace: fstest.MapFS{".tinyforge.yml": {Data: []byte(driftYAML)}}, Live: &fakeLive{workloads: []*Workload{liveWeb()}}, Issues: issues}
	r, err := c.Run(t.Context(), Inputs{Workload: "3", FailOn: DefaultFailOn, Forge: ForgeGitea, Event: scheduleEvent(), RunID: 1})
	if err != nil {
		t.Fatal(err)
	}
	if r.PublishFailed || r.Issue.Action != "skipped" {
		t.Errorf("publish failed %v, issue %+v", r.PublishFailed, r.Issue)
	}
	found := false
	for _, n := range r.Notices {
		found = found || (n.Level == LevelNotice && strings.Contains(n.Message, "write:issue"))
	}
	if !found {
		t.Errorf("no notice names the permission: %v", r.Notices)
	}
}

// roundIssues arrives at the read barrier when the issues are prefetched and at the write
// barrier when the issue is written.
type roundIssues struct {
	reads, writes *barrier
	prefetched    chan error
}

func (p *roundIssues) PrefetchIssues(context.Context) {
	p.prefetched = make(chan error, 1)
	go func() { p.prefetched <- p.reads.arrive("forge: issues") }()
}

func (p *roundIssues) UpsertIssue(_ context.Context, req forge.IssueRequest) (forge.IssueResult, error) {
	if p.prefetched == nil {
		return forge.IssueResult{}, fmt.Errorf("UpsertIssue without PrefetchIssues: the issues were not read in the first round")
	}
	if err := <-p.prefetched; err != nil {
		return forge.IssueResult{}, err
	}
	if err := p.writes.arrive(fmt.Sprintf("forge: issue open=%v", req.Open)); err != nil {
		return forge.IssueResult{}, err
	}
	return forge.IssueResult{Action: "opened"}, nil
}

// TestScheduledReadsShareOneRound: a scheduled run reads the workload and the repo's issues at
// once (the file comes from the checkout), then writes the issue.
func TestScheduledReadsShareOneRound(t *testing.T) {
	reads, writes := newBarrier(2), newBarrier(1)
	iss := &roundIssues{reads: reads, writes: writes}
	c := &Checker{Workspace: fstest.MapFS{".tinyforge.yml": {Data: []byte(driftYAML)}}, Live: roundLive{reads}, Issues: iss}
	r, err := c.Run(t.Context(), Inputs{Workload: "3", FailOn: DefaultFailOn, Forge: ForgeGitHub, Event: scheduleEvent(), RunID: 9})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"forge: issues", "tinyforge: get 3"}, reads.calls()); diff != "" {
		t.Errorf("the read round (-want +got):\n%s", diff)
	}
	if r.Issue.Action != "opened" || r.PublishFailed {
		t.Errorf("issue %+v, notices %v", r.Issue, r.Notices)
	}
}
