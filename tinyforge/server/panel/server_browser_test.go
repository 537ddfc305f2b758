package panel_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
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

// realServer is the reference server with one workload per GitOps status, served on loopback.
type realServer struct {
	url                       string
	api                       *tinyforge.Client
	adminSecret, viewerSecret string
	// ids maps each GitOps status (ok, disabled, no_file, fetch_failed, invalid) to its workload.
	ids map[string]int64
}

// The ok workload's commit and file on the fake forge.
const (
	realOKCommit = "3333333333333333333333333333333333333333"
	realOKRaw    = "version: 1\ndeploy:\n  port: 8080\n  healthcheck: /healthz\n  deploy_strategy: rolling\n"
)

// startRealServer starts the reference server (SQLite in a temp dir, real tokens, a fake forge)
// with a workload in each GitOps status.
func startRealServer(t *testing.T) *realServer {
	t.Helper()
	ctx := context.Background()
	const badRaw = "version: 1\ndeploy:\n  prot: 8080\n"
	fg := &forge{
		heads: map[string]string{"api": realOKCommit, "nofile": "4444444444444444444444444444444444444444", "bad": "5555555555555555555555555555555555555555"},
		files: map[string][]byte{
			"api@" + realOKCommit + ":.tinyforge.yml":                     []byte(realOKRaw),
			"bad@5555555555555555555555555555555555555555:.tinyforge.yml": []byte(badRaw),
		},
	}
	store, err := server.Open(ctx, filepath.Join(t.TempDir(), "tinyforge.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
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
	t.Cleanup(ts.Close)

	rs := &realServer{url: ts.URL, ids: map[string]int64{}}
	if rs.adminSecret, _, err = store.CreateToken(ctx, "ops", server.RoleAdmin, 0); err != nil {
		t.Fatal(err)
	}
	if rs.viewerSecret, _, err = store.CreateToken(ctx, "dev", server.RoleViewer, 0); err != nil {
		t.Fatal(err)
	}
	if rs.api, err = tinyforge.NewClient(ts.URL, rs.adminSecret, nil); err != nil {
		t.Fatal(err)
	}
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
		wl, err := rs.api.CreateWorkload(ctx, tinyforge.CreateWorkloadRequest{Name: w.name, SourceType: w.sourceType, SourceConfig: []byte(w.cfg),
			Repo: &tinyforge.RepoSettings{Provider: "gitea", BaseURL: "https://gitea.example.com", Owner: "acme", Repo: w.name, Branch: "main", AccessToken: "forge-secret-" + w.name}})
		if err != nil {
			t.Fatal(err)
		}
		if w.enable {
			v, err := rs.api.SetGitOps(ctx, wl.ID, tinyforge.SetGitOpsRequest{Enabled: true, Path: gitops.DefaultPath})
			if err != nil {
				t.Fatal(err)
			}
			if v.Status != w.status {
				t.Fatalf("workload %s: status %s, want %s (%s)", w.name, v.Status, w.status, v.Message)
			}
		}
		rs.ids[w.status] = wl.ID
	}
	return rs
}

// TestBrowserRealServer runs the browser scenario against the reference server: SQLite in a
// temp dir, real tokens, the API's Sync with its lock and audit row, and a fake forge.
func TestBrowserRealServer(t *testing.T) {
	t.Parallel() // each browser test starts its own chromium and servers
	ctx := context.Background()
	rs := startRealServer(t)
	api, ids, adminSecret := rs.api, rs.ids, rs.adminSecret
	live := func() string {
		wl, err := api.GetWorkload(ctx, ids["ok"])
		if err != nil {
			t.Fatal(err)
		}
		return string(wl.SourceConfig)
	}

	panel.RunBrowserScenario(t, panel.BrowserTarget{
		URL: rs.url, ViewerToken: rs.viewerSecret, AdminToken: adminSecret, IDs: ids,
		OKCommit: realOKCommit, OKFile: gitops.FileSHA([]byte(realOKRaw)), OKDrift: 2, Live: live,
		WantLiveAfterSync: `{"deploy_strategy":"rolling","dockerfile_path":"Dockerfile","healthcheck":"/healthz","port":8080}`,
		ScreenshotPrefix:  "server",
		// Drift attribution: the workload's creation set the healthcheck that drifts.
		OKSetByField: "deploy.healthcheck",
		OKSetBy: map[string]string{"en": "set when the workload was created · by token:ops#1 (admin)",
			"ru": "задано при создании приложения · токеном token:ops#1 (admin)"},
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
	want := []row{{server.ActionSync, server.OutcomeApplied, realOKCommit, gitops.FileSHA([]byte(realOKRaw))}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Sync audit rows (-want +got):\n%s", diff)
	}
}

// TestListStatesRealServer reads the workload list of the reference server over HTTP, as a
// script would: each row's status cell carries its state in data-status and data-drift.
func TestListStatesRealServer(t *testing.T) {
	rs := startRealServer(t)
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Jar: jar}
	get := func(path string) string {
		t.Helper()
		res, err := c.Get(rs.url + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d\n%s", path, res.StatusCode, body)
		}
		return string(body)
	}
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(get("/login"))
	if csrf == nil {
		t.Fatal("no CSRF token on the sign-in page")
	}
	res, err := c.PostForm(rs.url+"/login", url.Values{"token": {rs.viewerSecret}, "csrf": {csrf[1]}, "next": {"/apps"}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	list := get("/apps")
	cells := regexp.MustCompile(`<tr data-id="(\d+)">(?s:.*?)<td class="status" data-status="([a-z_]+)" data-drift="(\d+)">`).FindAllStringSubmatch(list, -1)
	got := map[int64]string{}
	for _, m := range cells {
		id, _ := strconv.ParseInt(m[1], 10, 64)
		got[id] = m[2] + " " + m[3]
	}
	want := map[int64]string{
		rs.ids["ok"]: "drift 2", rs.ids["disabled"]: "disabled 0", rs.ids["no_file"]: "no_file 0",
		rs.ids["fetch_failed"]: "fetch_failed 0", rs.ids["invalid"]: "invalid 0",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("status cells (-want +got):\n%s", diff)
	}
	for _, secret := range []string{rs.viewerSecret, rs.adminSecret, "forge-secret-"} {
		if strings.Contains(list, secret) {
			t.Errorf("the list shows a secret")
		}
	}
}
