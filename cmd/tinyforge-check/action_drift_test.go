package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"

	"github.com/tinyforge/tinyforge-check/gitops"
	"github.com/tinyforge/tinyforge-check/tinyforge"
)

func TestDriftFromTinyforge(t *testing.T) {
	disabled := webWorkload("")
	disabled.ID, disabled.Name, disabled.GitOps.Enabled = 4, "old", false
	tf := newFakeTinyforge(t, tfCanary, webWorkload(""), disabled,
		tinyforge.Workload{ID: 9, Name: "builder", SourceType: "buildpack", SourceConfig: json.RawMessage(`{}`)})
	files := fstest.MapFS{".tinyforge.yml": {Data: []byte(e2eDrift)}, "live.json": {Data: []byte(e2eLiveWeb)}}
	env := map[string]string{"TINYFORGE_TOKEN": tfCanary}
	pinned := fmt.Sprintf("%s/apps/3?file=%s#gitops", tf.srv.URL, gitops.FileSHA([]byte(e2eDrift)))

	tests := []struct {
		name       string
		env        map[string]string
		args       []string
		wantCode   int
		wantStdout []string // lines stdout must contain
		wantStderr string   // substring
		wantReqs   []string
	}{
		{name: "text by name", env: env, args: []string{"drift", "--tinyforge-url", tf.srv.URL, "--workload", "web"}, wantCode: 1,
			wantStdout: []string{".tinyforge.yml: 1 field differs from live: Sync required", "  deploy.port: repo 9090, live 8080",
				"Review and Sync in Tinyforge: " + pinned},
			wantReqs: []string{"GET /api/workloads?name=web"}},
		{name: "json by id takes the source type from Tinyforge", env: env,
			args: []string{"drift", "--tinyforge-url", tf.srv.URL, "--workload", "3", "--format", "json"}, wantCode: 1,
			wantStdout: []string{`  "source_type": "dockerfile",`}, wantReqs: []string{"GET /api/workloads/3"}},
		{name: "markdown from Tinyforge: the comment with the pinned link", env: env,
			args: []string{"drift", "--tinyforge-url", tf.srv.URL, "--workload", "3", "--format", "markdown"}, wantCode: 1,
			wantStdout: []string{"### ⚠️ Tinyforge GitOps: drift", "| `deploy.port` | 9090 | 8080 | differs from live |",
				// A local run has no commit: the link pins the file only, and says so.
				"**[Review and Sync in Tinyforge](" + pinned + ")** — the link is pinned to this file, so Tinyforge refuses a Sync of any other content."},
			wantReqs: []string{"GET /api/workloads/3"}},
		{name: "markdown from a live file", env: nil, args: []string{"drift", "--live", "live.json", "--source-type", "dockerfile", "--format", "markdown"},
			wantCode: 1, wantStdout: []string{"### ⚠️ Tinyforge GitOps: drift", "Source type dockerfile · File .tinyforge.yml · blob ff04d9f · check tinyforge/gitops"}},
		{name: "a source type that cannot use GitOps", env: env, args: []string{"drift", "--tinyforge-url", tf.srv.URL, "--workload", "builder"},
			wantCode: 1, wantStdout: []string{`.tinyforge.yml: source type "buildpack" cannot use GitOps: only dockerfile and static workloads can read their config from the repo`},
			wantReqs: []string{"GET /api/workloads?name=builder"}},
		{name: "GitOps disabled: nothing compared, like the markdown", env: env, args: []string{"drift", "--tinyforge-url", tf.srv.URL, "--workload", "old"},
			wantCode: 0, wantStdout: []string{".tinyforge.yml: GitOps is disabled for this workload in Tinyforge: the file is not read, so there is nothing to compare"},
			wantReqs: []string{"GET /api/workloads?name=old"}},
		{name: "no token", env: nil, args: []string{"drift", "--tinyforge-url", tf.srv.URL, "--workload", "3"}, wantCode: 2, wantStderr: "TINYFORGE_TOKEN is empty"},
		{name: "a URL without a scheme", env: env, args: []string{"drift", "--tinyforge-url", strings.TrimPrefix(tf.srv.URL, "http://"), "--workload", "3"},
			wantCode: 2, wantStderr: "must be an absolute http(s) URL"},
		{name: "a URL with the panel's path: not the API", env: env, args: []string{"drift", "--tinyforge-url", tf.srv.URL + "/apps", "--workload", "3"},
			wantCode: 3, wantStderr: tf.srv.URL + "/apps does not answer as a Tinyforge API: give the base URL"},
		{name: "a missing live file", env: nil, args: []string{"drift", "--live", "nope.json"}, wantCode: 2, wantStderr: "live config nope.json"},
		{name: "a wrong token: 401, never echoed", env: map[string]string{"TINYFORGE_TOKEN": "wrong-" + tfCanary},
			args: []string{"drift", "--tinyforge-url", tf.srv.URL, "--workload", "3", "--format", "markdown"}, wantCode: 3,
			wantStdout: []string{"### ⛔ Tinyforge GitOps: the check could not finish"}, wantStderr: "401", wantReqs: []string{"GET /api/workloads/3"}},
		{name: "both sources", env: env, args: []string{"drift", "--live", "live.json", "--tinyforge-url", tf.srv.URL, "--workload", "3"}, wantCode: 2, wantStderr: "not both"},
		{name: "url without workload", env: env, args: []string{"drift", "--tinyforge-url", tf.srv.URL}, wantCode: 2, wantStderr: "needs --workload"},
		{name: "neither source", env: env, args: []string{"drift"}, wantCode: 2, wantStderr: "is required"},
		{name: "markdown from stdin", env: env, args: []string{"drift", "--live", "live.json", "--format", "markdown", "-"}, wantCode: 2, wantStderr: "needs a file path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tf.resetLog()
			code, stdout, stderr := run(t, tt.env, files, "", tt.args...)
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.wantCode, stdout, stderr)
			}
			lines := strings.Split(stdout, "\n")
			for _, w := range tt.wantStdout {
				found := false
				for _, l := range lines {
					found = found || l == w
				}
				if !found {
					t.Errorf("stdout lacks line %q:\n%s", w, stdout)
				}
			}
			if !strings.Contains(stderr, tt.wantStderr) {
				t.Errorf("stderr %q lacks %q", stderr, tt.wantStderr)
			}
			if strings.Contains(stdout+stderr, tfCanary) {
				t.Errorf("the token leaked:\n%s%s", stdout, stderr)
			}
			if diff := cmp.Diff(tt.wantReqs, tf.requestLog()); diff != "" {
				t.Errorf("tinyforge requests (-want +got):\n%s", diff)
			}
		})
	}
}
