package checkwire

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tinyforge/tinyforge-check/checker"
	"github.com/tinyforge/tinyforge-check/forge"
	"github.com/tinyforge/tinyforge-check/providers"
	"github.com/tinyforge/tinyforge-check/tinyforge"
)

// A provider bound to a repo is everything the checker writes through, and the Tinyforge client
// needs only liveSource to be its live source.
var (
	_ checker.FileReader        = (*providers.Repo)(nil)
	_ checker.StatusSetter      = (*providers.Repo)(nil)
	_ checker.CommentUpserter   = (*providers.Repo)(nil)
	_ checker.CommentPrefetcher = (*providers.Repo)(nil)
	_ checker.IssueUpserter     = (*providers.Repo)(nil)
	_ checker.IssuePrefetcher   = (*providers.Repo)(nil)
	_ checker.LiveSource        = liveSource{}
)

// TestLiveErrorsMatchForge: the Tinyforge client's 404, 403 and unknown name reach the checker
// as forge.ErrNotFound and forge.ErrForbidden with no mapping in between, text unchanged.
func TestLiveErrorsMatchForge(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.URL.Path == "/api/workloads/1":
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"error":"no such workload"}`))
		case r.URL.Path == "/api/workloads/2":
			w.WriteHeader(http.StatusForbidden)
			_, _ = w.Write([]byte(`{"error":"not your workload"}`))
		default:
			_, _ = w.Write([]byte(`[]`))
		}
	}))
	defer srv.Close()
	c, err := tinyforge.NewClient(srv.URL, "tok", srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	live := Live(c)
	ctx := context.Background()
	_, err = live.GetWorkload(ctx, 1)
	if !errors.Is(err, forge.ErrNotFound) || !errors.Is(err, tinyforge.ErrNotFound) || errors.Is(err, forge.ErrForbidden) {
		t.Errorf("404: %v: want forge.ErrNotFound and tinyforge.ErrNotFound only", err)
	}
	_, err = live.GetWorkload(ctx, 2)
	if !errors.Is(err, forge.ErrForbidden) || !errors.Is(err, tinyforge.ErrForbidden) || errors.Is(err, forge.ErrNotFound) {
		t.Errorf("403: %v: want forge.ErrForbidden and tinyforge.ErrForbidden only", err)
	}
	_, err = live.FindWorkload(ctx, "web")
	if !errors.Is(err, forge.ErrNotFound) || !strings.HasSuffix(err.Error(), "tinyforge: not found") {
		t.Errorf("unknown name: %v: want forge.ErrNotFound, ending in the client's text", err)
	}
}
