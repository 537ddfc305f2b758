package providers

import (
	"testing"

	"github.com/tinyforge/tinyforge-check/forge"
)

// TestCommentDecisions pins the two decisions of the sticky comment's loop: what a run does at
// its first look, and which body the surviving comment must then hold. A run never replaces
// the body of a higher run, and the survivor always carries the highest run id.
func TestCommentDecisions(t *testing.T) {
	mark := func(run int64, text string) markerComment {
		return markerComment{comment: comment{ID: run, Body: body(run, text), URL: "u"}, run: run}
	}
	tests := []struct {
		name       string
		run        int64
		text       string
		top        markerComment
		wantAction forge.CommentAction
		wantBody   string
	}{
		{"an older comment with another body is updated", 10, "in sync", mark(5, "drift"), forge.CommentUpdated, body(10, "in sync")},
		{"the same body from an older run is left alone", 10, "in sync", mark(5, "in sync"), forge.CommentUnchanged, body(5, "in sync")},
		{"the same body from a newer run is left alone", 3, "in sync", mark(5, "in sync"), forge.CommentUnchanged, body(5, "in sync")},
		{"a newer run's other body wins", 3, "in sync", mark(5, "drift"), forge.CommentSkipped, body(5, "drift")},
		{"a rerun of the same run rewrites its body", 5, "in sync", mark(5, "drift"), forge.CommentUpdated, body(5, "in sync")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := forge.CommentRequest{Number: 7, Context: ctxName, RunID: tt.run, Body: tt.text}
			res := firstCommentAction(req, "survivor", tt.top)
			if res.Action != tt.wantAction || res.URL != "survivor" {
				t.Errorf("first action = %+v, want %s at the survivor's URL", res, tt.wantAction)
			}
			if (res.Action == forge.CommentSkipped) != (res.Reason != "") {
				t.Errorf("first action = %+v: a skip, and only a skip, gives a reason", res)
			}
			if got := wantedComment(req, res, body(tt.run, tt.text), tt.top); got != tt.wantBody {
				t.Errorf("wanted body = %q, want %q", got, tt.wantBody)
			}
		})
	}
	// A comment this run created is its own: the survivor gets this run's body unless a newer
	// run has written since.
	req := forge.CommentRequest{Number: 7, Context: ctxName, RunID: 10, Body: "in sync"}
	created := forge.CommentResult{Action: forge.CommentCreated}
	if got := wantedComment(req, created, body(10, "in sync"), mark(9, "drift")); got != body(10, "in sync") {
		t.Errorf("after creating, an older duplicate's body won: %q", got)
	}
	if got := wantedComment(req, created, body(10, "in sync"), mark(11, "drift")); got != body(11, "drift") {
		t.Errorf("after creating, a newer run's body lost: %q", got)
	}
}
