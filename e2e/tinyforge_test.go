package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tinyforge/tinyforge-check/internal/testenv"
	"github.com/tinyforge/tinyforge-check/tinyforge"
)

// refServer is the reference Tinyforge server running as its own process on 127.0.0.1, as a
// user starts it, with an admin and a viewer token.
type refServer struct {
	url         string
	admin       *tinyforge.Client
	adminToken  string
	viewerToken string
	cmd         *exec.Cmd
	db          string
	logPath     string
}

// startRefServer starts tinyforge-server serve --dev on a free loopback port, allowed to fetch
// from the loopback Gitea, and stops it by its PID when the test ends.
func startRefServer(t *testing.T) *refServer {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(w.bins, "tinyforge-server")
	s := &refServer{db: filepath.Join(dir, "tf.db"), logPath: filepath.Join(dir, "server.log")}
	token := func(role string) string {
		out, err := exec.Command(bin, "token", "create", "--db", s.db, "--role", role, "--name", "e2e-"+role).Output()
		if err != nil {
			t.Fatalf("token create %s: %v", role, err)
		}
		return strings.TrimSpace(string(out))
	}
	s.adminToken, s.viewerToken = token("admin"), token("viewer")
	port, err := testenv.FreeLoopbackPort()
	if err != nil {
		t.Fatal(err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	s.url = "http://" + addr
	logFile, err := os.Create(s.logPath)
	if err != nil {
		t.Fatal(err)
	}
	s.cmd = exec.Command(bin, "serve", "--db", s.db, "--addr", addr, "--dev", "--allow-forge-net", "127.0.0.1/32")
	s.cmd.Stdout, s.cmd.Stderr = logFile, logFile
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		syscall.Kill(-s.cmd.Process.Pid, syscall.SIGTERM)
		s.cmd.Wait()
		logFile.Close()
		if t.Failed() {
			b, _ := os.ReadFile(s.logPath)
			t.Logf("tinyforge-server log:\n%s", b)
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(s.url + "/healthz")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("tinyforge-server did not answer on %s", s.url)
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.admin, err = tinyforge.NewClient(s.url, s.adminToken, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// workload creates a dockerfile workload whose repo is owner/repo on the real Gitea, read with
// repoToken, with the given live config, and enables GitOps on .tinyforge.yml.
func (s *refServer) workload(t *testing.T, name, owner, repo, repoToken, live string) *tinyforge.Workload {
	t.Helper()
	ctx := context.Background()
	wl, err := s.admin.CreateWorkload(ctx, tinyforge.CreateWorkloadRequest{Name: name, SourceType: "dockerfile",
		SourceConfig: json.RawMessage(live),
		Repo:         &tinyforge.RepoSettings{Provider: "gitea", BaseURL: w.gitea.url, Owner: owner, Repo: repo, Branch: "main", AccessToken: repoToken}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.admin.SetGitOps(ctx, wl.ID, tinyforge.SetGitOpsRequest{Enabled: true, Path: ".tinyforge.yml"}); err != nil {
		t.Fatal(err)
	}
	return wl
}

// TestServerFetchFromGitea: the reference server reads the file from the real Gitea at the
// branch and at a pinned commit, from a private repo with a read-only token, and says clearly
// when the token is wrong, never echoing it.
func TestServerFetchFromGitea(t *testing.T) {
	requireWorld(t)
	g := w.gitea
	ctx := context.Background()
	first := "version: 1\ndeploy:\n  port: 8080\n"
	f := newFixture(t, true, map[string]string{".tinyforge.yml": first})
	firstCommit := f.base

	// A deploy user that may only read the private repo, with a read-only token.
	deploy := g.user(t, "deploy")
	g.collaborator(t, f.owner, f.repo, deploy.user, "read")
	readOnly := g.token(t, deploy, "read:repository")

	srv := startRefServer(t)
	wl := srv.workload(t, "web", f.owner.user, f.repo, readOnly, `{"port":3000,"dockerfile_path":"Dockerfile"}`)
	view, err := srv.admin.GetGitOps(ctx, wl.ID)
	if err != nil {
		t.Fatal(err)
	}
	if view.Status != "ok" || view.CommitSHA != firstCommit || view.Raw != first || len(view.Drift) != 1 || view.Drift[0].Field != "deploy.port" {
		t.Fatalf("view at the branch: %+v", view)
	}

	// A push moves the branch: the view follows it; a Sync pinned to the reviewed first commit
	// is refused, a Sync of the new head applies it.
	second := "version: 1\ndeploy:\n  port: 9090\n"
	secondCommit := g.putFile(t, f.owner, f.repo, "main", ".tinyforge.yml", second)
	if view, err = srv.admin.GetGitOps(ctx, wl.ID); err != nil || view.CommitSHA != secondCommit || view.Raw != second {
		t.Fatalf("view after a push: %+v %v", view, err)
	}
	var apiErr *tinyforge.APIError
	_, err = srv.admin.Sync(ctx, wl.ID, tinyforge.SyncRequest{CommitSHA: firstCommit})
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusConflict {
		t.Errorf("a Sync pinned to an older commit: %v, want 409", err)
	}
	res, err := srv.admin.Sync(ctx, wl.ID, tinyforge.SyncRequest{CommitSHA: view.CommitSHA, FileSHA: view.FileSHA})
	if err != nil || res.CommitSHA != secondCommit {
		t.Fatalf("Sync of the reviewed head: %+v %v", res, err)
	}
	live, err := srv.admin.GetWorkload(ctx, wl.ID)
	if err != nil || !strings.Contains(string(live.SourceConfig), `"port":9090`) {
		t.Errorf("live after Sync: %s %v", live.SourceConfig, err)
	}

	// A wrong token: a clear fetch_failed, the token never in the answer.
	wrong := "feedfacefeedfacefeedfacefeedfacefeedface"
	if _, err := srv.admin.UpdateWorkload(ctx, wl.ID, tinyforge.UpdateWorkloadRequest{Repo: &tinyforge.RepoSettings{
		Provider: "gitea", BaseURL: g.url, Owner: f.owner.user, Repo: f.repo, Branch: "main", AccessToken: wrong}}); err != nil {
		t.Fatal(err)
	}
	view, err = srv.admin.GetGitOps(ctx, wl.ID)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(view)
	if view.Status != "fetch_failed" || !strings.Contains(strings.ToLower(view.Message), "token") || strings.Contains(string(b), wrong) {
		t.Errorf("view with a wrong token: status %q message %q (want fetch_failed, a message about the token, and no token)", view.Status, view.Message)
	}
	t.Logf("wrong token message: %s", view.Message)
}
