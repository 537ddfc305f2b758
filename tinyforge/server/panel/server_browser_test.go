package panel_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/tinyforge/tinyforge-check/gitops"
	"github.com/tinyforge/tinyforge-check/tinyforge"
	"github.com/tinyforge/tinyforge-check/tinyforge/server"
	"github.com/tinyforge/tinyforge-check/tinyforge/server/panel"
)

// forge is a fake forge for the real server: one branch head per repo, files by commit, and a
// repo named "broken" whose forge fails.
type forge struct {
	mu    sync.Mutex
	heads map[string]string
	files map[string][]byte // "repo@commit:path"
	calls []string
}

func (f *forge) BranchHead(_ context.Context, owner, repo, branch string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "head "+owner+"/"+repo+"@"+branch)
	if repo == "broken" {
		return "", errors.New("GET /api/v1/repos/acme/broken/branches/main: 502 Bad Gateway")
	}
	return f.heads[repo], nil
}

func (f *forge) DownloadFile(_ context.Context, owner, repo, ref, path string, maxBytes int64) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "file "+owner+"/"+repo+"@"+ref+":"+path)
	data, ok := f.files[repo+"@"+ref+":"+path]
	if !ok {
		return nil, fmt.Errorf("%s at %s: %w", path, ref, server.ErrFileNotFound)
	}
	return data, nil
}

// TestBrowserRealServer runs the browser scenario against the reference server: SQLite in a
// temp dir, real tokens, the API's Sync with its lock and audit row, and a fake forge.
func TestBrowserRealServer(t *testing.T) {
	ctx := context.Background()
	const (
		okCommit = "3333333333333333333333333333333333333333"
		okRaw    = "version: 1\ndeploy:\n  port: 8080\n  healthcheck: /healthz\n  deploy_strategy: rolling\n"
		badRaw   = "version: 1\ndeploy:\n  prot: 8080\n"
	)
	fg := &forge{
		heads: map[string]string{"api": okCommit, "nofile": "4444444444444444444444444444444444444444", "bad": "5555555555555555555555555555555555555555"},
		files: map[string][]byte{
			"api@" + okCommit + ":.tinyforge.yml":                         []byte(okRaw),
			"bad@5555555555555555555555555555555555555555:.tinyforge.yml": []byte(badRaw),
		},
	}
	store, err := server.Open(ctx, filepath.Join(t.TempDir(), "tinyforge.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	cipher, err := server.NewCipher([]byte(strings.Repeat("k", server.KeySize)))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Config{Store: store, Cipher: cipher,
		OpenForge: func(provider, baseURL, token string) (server.Forge, error) { return fg, nil }})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()

	adminSecret, _, err := store.CreateToken(ctx, "ops", server.RoleAdmin, 0)
	if err != nil {
		t.Fatal(err)
	}
	viewerSecret, _, err := store.CreateToken(ctx, "dev", server.RoleViewer, 0)
	if err != nil {
		t.Fatal(err)
	}
	api, err := tinyforge.NewClient(ts.URL, adminSecret, nil)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]int64{}
	for _, w := range []struct {
		status, name, sourceType, cfg string
		enable                        bool
	}{
		{"ok", "api", "dockerfile", `{"port":"8080","healthcheck":"/","dockerfile_path":"Dockerfile"}`, true},
		{"disabled", "site", "static", `{"build_command":"make"}`, false},
		{"no_file", "nofile", "dockerfile", `{"port":80}`, true},
		{"fetch_failed", "broken", "dockerfile", `{"port":80}`, true},
		{"invalid", "bad", "dockerfile", `{"port":80}`, true},
	} {
		wl, err := api.CreateWorkload(ctx, tinyforge.CreateWorkloadRequest{Name: w.name, SourceType: w.sourceType, SourceConfig: []byte(w.cfg),
			Repo: &tinyforge.RepoSettings{Provider: "gitea", BaseURL: "https://gitea.example.com", Owner: "acme", Repo: w.name, Branch: "main", AccessToken: "forge-secret-" + w.name}})
		if err != nil {
			t.Fatal(err)
		}
		if w.enable {
			v, err := api.SetGitOps(ctx, wl.ID, tinyforge.SetGitOpsRequest{Enabled: true, Path: gitops.DefaultPath})
			if err != nil {
				t.Fatal(err)
			}
			if v.Status != w.status {
				t.Fatalf("workload %s: status %s, want %s (%s)", w.name, v.Status, w.status, v.Message)
			}
		}
		ids[w.status] = wl.ID
	}
	live := func() string {
		wl, err := api.GetWorkload(ctx, ids["ok"])
		if err != nil {
			t.Fatal(err)
		}
		return string(wl.SourceConfig)
	}

	panel.RunBrowserScenario(t, panel.BrowserTarget{
		URL: ts.URL, ViewerToken: viewerSecret, AdminToken: adminSecret, IDs: ids,
		OKCommit: okCommit, OKFile: gitops.FileSHA([]byte(okRaw)), Live: live,
		WantLiveAfterSync: `{"deploy_strategy":"rolling","dockerfile_path":"Dockerfile","healthcheck":"/healthz","port":8080}`,
		ScreenshotPrefix:  "server",
	})

	// The Sync went through the API: one audit row, by the admin's token, pinned to the
	// reviewed commit and file.
	events, err := api.Events(ctx, ids["ok"])
	if err != nil {
		t.Fatal(err)
	}
	type row struct{ Action, Outcome, CommitSHA, FileSHA string }
	var got []row
	for _, e := range events {
		if e.Action == server.ActionSync {
			got = append(got, row{e.Action, e.Outcome, e.CommitSHA, e.FileSHA})
			if !strings.Contains(e.Actor, "ops") || strings.Contains(e.Actor, adminSecret) {
				t.Errorf("audit actor %q: want the token's name, never its secret", e.Actor)
			}
		}
	}
	want := []row{{server.ActionSync, server.OutcomeApplied, okCommit, gitops.FileSHA([]byte(okRaw))}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Sync audit rows (-want +got):\n%s", diff)
	}
}
