package checker

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"

	"github.com/tinyforge/tinyforge-check/forge"
)

// mergedComments is fakeComments that also answers which PRs a commit merged.
type mergedComments struct {
	fakeComments
	merged    map[string][]int
	lookupErr error
	asked     []string
}

func (m *mergedComments) MergedPulls(_ context.Context, sha string) ([]int, error) {
	m.asked = append(m.asked, sha)
	return m.merged[sha], m.lookupErr
}

// TestMergedPRComments: a push run finds the PRs its commit merged and rewrites only their
// existing comment (UpdateOnly) to say what is left to do, its link pinned to the pushed commit
// without pr=; PR runs, runs with comment: never, and runs that could not finish leave them.
func TestMergedPRComments(t *testing.T) {
	prior := "the PR run's comment"
	tests := []struct {
		name       string
		file       string
		event      Event
		comment    CommentMode
		liveErr    error
		lookupErr  error
		wantAsked  int
		wantTitle  string // "" for no update
		wantMerged []int
		wantNotice string
	}{
		{name: "drift: ready to Sync", file: driftYAML, event: pushEvent(), wantAsked: 1,
			wantTitle: "### 🔀 Merged in push333 — ready to Sync", wantMerged: []int{7}},
		{name: "in sync: nothing to Sync", file: inSyncYAML, event: pushEvent(), wantAsked: 1,
			wantTitle: "### 🔀 Merged in push333 — live matches it: nothing to Sync", wantMerged: []int{7}},
		{name: "invalid: merged, and what the check says", file: invalidYAML, event: pushEvent(), wantAsked: 1,
			wantTitle: "### 🔀 Merged in push333\n", wantMerged: []int{7}},
		{name: "Tinyforge unreachable: the comment stays", file: driftYAML, event: pushEvent(), liveErr: errors.New("connection refused"), wantAsked: 1},
		{name: "the lookup fails: a warning, the comment stays", file: driftYAML, event: pushEvent(), lookupErr: errors.New("HTTP 500"), wantAsked: 1,
			wantNotice: "could not find the pull requests commit push333 merged, so their comments still say they are not merged: HTTP 500"},
		{name: "a PR run does not look", file: driftYAML, event: prEvent()},
		{name: "comment: never", file: driftYAML, event: pushEvent(), comment: CommentNever},
		{name: "a schedule does not look", file: driftYAML, event: Event{Name: EventSchedule, CommitSHA: "push3333333"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := prior
			comments := &mergedComments{fakeComments: fakeComments{body: &body, runID: 1}, merged: map[string][]int{"push3333333": {7}}, lookupErr: tt.lookupErr}
			live := &fakeLive{workloads: []*Workload{liveWeb()}, err: tt.liveErr}
			c := &Checker{Workspace: fstest.MapFS{".tinyforge.yml": {Data: []byte(tt.file)}}, Live: live, Comments: comments,
				Files: &fakeFiles{files: map[string]string{"base2222222:.tinyforge.yml": inSyncYAML}}}
			r, err := c.Run(context.Background(), Inputs{Workload: "3", Event: tt.event, RunID: 2, Comment: tt.comment})
			if err != nil {
				t.Fatal(err)
			}
			if len(comments.asked) != tt.wantAsked {
				t.Errorf("asked which PRs %v merged; want %d lookups", comments.asked, tt.wantAsked)
			}
			var got []int
			for _, m := range r.Merged {
				got = append(got, m.Number)
			}
			if diff := cmp.Diff(tt.wantMerged, got); diff != "" {
				t.Errorf("merged PRs (-want +got):\n%s", diff)
			}
			var updates []forge.CommentRequest
			for _, req := range comments.got {
				if tt.event.PR == nil {
					updates = append(updates, req)
				}
			}
			switch {
			case tt.wantTitle == "" && tt.event.PR == nil && len(updates) > 0:
				t.Errorf("the merged PR's comment was written: %+v", updates)
			case tt.wantTitle != "":
				if len(updates) != 1 || !updates[0].UpdateOnly || updates[0].Number != 7 || updates[0].RunID != 2 {
					t.Fatalf("want one update-only request for PR 7 at run 2: %+v", updates)
				}
				b := updates[0].Body
				if !strings.HasPrefix(b, tt.wantTitle) {
					t.Errorf("body starts %q; want %q", b[:min(len(b), 80)], tt.wantTitle)
				}
				if strings.Contains(b, "pr=") || !strings.Contains(b, "commit=push3333333#gitops") {
					t.Errorf("the link is not pinned to the pushed commit alone:\n%s", b)
				}
			}
			if tt.wantNotice != "" {
				found := false
				for _, n := range r.Notices {
					found = found || (n.Level == LevelWarning && n.Message == tt.wantNotice)
				}
				if !found {
					t.Errorf("notices %v lack the warning %q", r.Notices, tt.wantNotice)
				}
			}
		})
	}
}

// TestMergedPRCommentForbidden: a token that may not edit the merged PR's comment is a notice,
// not a failed run.
func TestMergedPRCommentForbidden(t *testing.T) {
	body := "old"
	comments := &mergedComments{fakeComments: fakeComments{body: &body, err: fmt.Errorf("HTTP 403: %w", forge.ErrForbidden)},
		merged: map[string][]int{"push3333333": {7}}}
	c := &Checker{Workspace: fstest.MapFS{".tinyforge.yml": {Data: []byte(driftYAML)}}, Live: &fakeLive{workloads: []*Workload{liveWeb()}}, Comments: comments}
	r, err := c.Run(context.Background(), Inputs{Workload: "3", Event: pushEvent(), FailOn: FailOn{Error: true}})
	if err != nil {
		t.Fatal(err)
	}
	if r.PublishFailed || r.ExitCode() != ExitOK || len(r.Merged) != 0 {
		t.Errorf("publish failed %v, exit %d, merged %v; want a notice only", r.PublishFailed, r.ExitCode(), r.Merged)
	}
	if want := (Notice{Level: LevelNotice, Message: "could not update the comment of merged PR #7: " + readOnly}); !cmp.Equal(r.Notices[len(r.Notices)-1], want) {
		t.Errorf("last notice %v; want %v", r.Notices[len(r.Notices)-1], want)
	}
}
