package server

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tinyforge/tinyforge-check/tinyforge"
)

// TestViewAtCommit checks the view the panel previews for a PR's link: the file at the PR's
// head commit (not on the branch), compared with live, without resolving the branch; a commit
// that is no full SHA is refused before the forge is asked, and the caller's workload limit
// holds.
func TestViewAtCommit(t *testing.T) {
	e := newEnv(t)
	w := e.createWorkload("app", "dockerfile", `{"port":8080,"healthcheck":"/healthz","deploy_strategy":"rolling"}`)
	e.forge.push("main", "c1", ".tinyforge.yml", []byte(goodFile))
	e.enable(w.ID)
	prHead := strings.Repeat("ab", 20)
	e.forge.push("feature", prHead, ".tinyforge.yml", []byte(strings.Replace(goodFile, "8080", "9090", 1)))
	ctx := context.Background()
	viewer, err := e.srv.Authenticate(ctx, e.viewer)
	if err != nil {
		t.Fatal(err)
	}
	heads, _ := e.forge.counts()
	v, _, branch, err := e.srv.viewAt(ctx, viewer, w.ID, strings.ToUpper(prHead))
	if err != nil {
		t.Fatal(err)
	}
	if v.Status != "ok" || v.CommitSHA != prHead || branch != "main" {
		t.Errorf("view at the PR head: status %q commit %q branch %q; want ok, %s, main", v.Status, v.CommitSHA, branch, prHead)
	}
	if diff := cmp.Diff([]tinyforge.DriftEntry{{Field: "deploy.port", RepoValue: "9090", LiveValue: "8080"}}, v.Drift); diff != "" {
		t.Errorf("drift (-want +got):\n%s", diff)
	}
	if h, _ := e.forge.counts(); h != heads {
		t.Errorf("the branch head was resolved %d times; a view at a commit needs none", h-heads)
	}
	for _, bad := range []string{"", "c1", "main", strings.Repeat("g", 40), prHead + "0"} {
		var se *Error
		if _, _, _, err := e.srv.viewAt(ctx, viewer, w.ID, bad); !errors.As(err, &se) || se.Kind != KindInvalid {
			t.Errorf("viewAt(%q) = %v; want an invalid-request error", bad, err)
		}
	}
	limited, err := e.srv.Authenticate(ctx, e.limited)
	if err != nil {
		t.Fatal(err)
	}
	other := e.createWorkload("other", "dockerfile", `{}`)
	if _, _, _, err := e.srv.viewAt(ctx, limited, other.ID, prHead); err == nil {
		t.Errorf("a token limited to workload 1 viewed workload %d", other.ID)
	}
}
