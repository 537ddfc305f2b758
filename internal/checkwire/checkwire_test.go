package checkwire

import (
	"context"
	"errors"
	"fmt"
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

// TestOpenForge: each kind opens its own provider; an unknown kind and a bad base URL are errors
// with a nil interface (never a typed nil, which a caller's err == nil check would let through).
func TestOpenForge(t *testing.T) {
	ok := providers.Options{BaseURL: "https://forge.example"}
	for kind, want := range map[string]string{"github": "*providers.GitHub", "gitea": "*providers.Gitea", "gitlab": "*providers.GitLab"} {
		f, err := OpenForge(kind, ok)
		if err != nil || fmt.Sprintf("%T", f) != want {
			t.Errorf("OpenForge(%q) = %T, %v; want a %s", kind, f, err, want)
		}
	}
	for _, tt := range []struct{ kind, url, err string }{
		{"bitbucket", "https://forge.example", `unknown forge "bitbucket": use github, gitea or gitlab`},
		{"gitea", "ftp://forge.example", "ftp"},
	} {
		f, err := OpenForge(tt.kind, providers.Options{BaseURL: tt.url})
		if f != nil || err == nil || !strings.Contains(err.Error(), tt.err) {
			t.Errorf("OpenForge(%q, %q) = %#v, %v; want nil and an error containing %q", tt.kind, tt.url, f, err, tt.err)
		}
	}
	if _, err := OpenRepo(checker.ForgeGitHub, providers.Options{BaseURL: "::"}, "o", "r"); err == nil || !strings.HasPrefix(err.Error(), "forge github: ") {
		t.Errorf("OpenRepo with a bad URL: %v, want an error naming the forge", err)
	}
}
