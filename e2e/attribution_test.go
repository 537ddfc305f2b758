package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tinyforge/tinyforge-check/tinyforge"
)

// TestGiteaDriftIssueAttribution: a scheduled check (the built tinyforge-check, as a Gitea
// Actions job) against the reference server process and the real Gitea opens a drift issue that
// says what set the drifting live value, when and the way in (an API edit today), and never the
// token's name.
func TestGiteaDriftIssueAttribution(t *testing.T) {
	requireWorld(t)
	g := w.gitea
	ctx := context.Background()
	file := "version: 1\ndeploy:\n  port: 8080\n"
	f := newFixture(t, false, map[string]string{".tinyforge.yml": file})
	srv := startRefServer(t)
	wl := srv.workload(t, "web", f.owner.user, f.repo, f.botToken, `{"port":8080}`)
	version := wl.Version
	if _, err := srv.admin.UpdateWorkload(ctx, wl.ID, tinyforge.UpdateWorkloadRequest{SourceConfig: json.RawMessage(`{"port":3000}`), Version: &version}); err != nil {
		t.Fatal(err)
	}

	ws := t.TempDir()
	if err := os.WriteFile(filepath.Join(ws, ".tinyforge.yml"), []byte(file), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	event := filepath.Join(dir, "event.json")
	if err := os.WriteFile(event, []byte(`{"schedule":"17 * * * *"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(w.bins, "tinyforge-check"), "action")
	cmd.Env = append(os.Environ(),
		"GITHUB_ACTIONS=true", "GITEA_ACTIONS=true", "GITHUB_EVENT_NAME=schedule", "GITHUB_EVENT_PATH="+event,
		"GITHUB_REPOSITORY="+f.owner.user+"/"+f.repo, "GITHUB_SHA="+f.base, "GITHUB_RUN_ID=1", "GITHUB_WORKSPACE="+ws,
		"GITHUB_OUTPUT="+filepath.Join(dir, "output"), "GITHUB_STEP_SUMMARY="+filepath.Join(dir, "summary"),
		"GITHUB_SERVER_URL="+g.url, "GITHUB_API_URL="+g.url+"/api/v1", "TINYFORGE_COMMENT_VERIFY_DELAY=0s",
		"INPUT_TINYFORGE-URL="+srv.url, "INPUT_TINYFORGE-TOKEN="+srv.viewerToken, "INPUT_WORKLOAD=web", "INPUT_TOKEN="+f.botToken)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "drift issue: opened") {
		t.Fatalf("scheduled check: %v\n%s", err, out)
	}

	var issues []giteaIssue
	g.must(t, f.owner, "GET", fmt.Sprintf("/repos/%s/%s/issues?state=open&type=issues", f.owner.user, f.repo), nil, http.StatusOK, &issues)
	if len(issues) != 1 {
		t.Fatalf("open issues: %+v", issues)
	}
	want := "- `deploy.port`: through Tinyforge's API on " + time.Now().UTC().Format("2006-01-02")
	body := issues[0].Body
	if !strings.Contains(body, "Why live differs") || !strings.Contains(body, want) {
		t.Errorf("the drift issue does not say what set live (%q):\n%s", want, body)
	}
	if strings.Contains(body, "e2e-admin") || strings.Contains(body, srv.adminToken) {
		t.Errorf("the drift issue names the token:\n%s", body)
	}
}
