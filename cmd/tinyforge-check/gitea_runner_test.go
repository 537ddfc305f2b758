package main

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tinyforge/tinyforge-check/internal/forgefake"
)

// recordedRun is one job recorded under Gitea's own runner: the step's environment and the
// event payload (testdata/gitea-runner/README.md).
type recordedRun struct {
	env   map[string]string
	event map[string]any
}

func readRecordedRun(t *testing.T, dir string) recordedRun {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "env-run.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	run := recordedRun{env: map[string]string{}}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			run.env[k] = v
		}
	}
	data, err := os.ReadFile(filepath.Join(dir, "event.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &run.event); err != nil {
		t.Fatal(err)
	}
	return run
}

// TestGiteaRunnerRecordings runs the action with the exact environment and payloads that Gitea
// 1.26's runner gave a step (same-repo and fork PRs, opened and synchronized), against the Gitea
// fake: the recorded Gitea's address is replaced by the fake's and the runner's paths by temp
// files, nothing else. The job token is gitea-actions; on a fork it may comment but not set
// statuses, so the status becomes a notice and the comment is still written.
func TestGiteaRunnerRecordings(t *testing.T) {
	t.Parallel()
	bin := buildAction(t, t.TempDir())
	dirs, err := filepath.Glob(filepath.Join("testdata", "gitea-runner", "run*"))
	if err != nil || len(dirs) != 4 {
		t.Fatalf("recordings: %v %v", dirs, err)
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			rec := readRecordedRun(t, dir)
			pr, _ := rec.event["pull_request"].(map[string]any)
			head, _ := pr["head"].(map[string]any)
			base, _ := pr["base"].(map[string]any)
			headRepo, _ := head["repo"].(map[string]any)
			headSHA, _ := head["sha"].(string)
			baseSHA, _ := base["sha"].(string)
			fork := headRepo["full_name"] != rec.env["GITHUB_REPOSITORY"]
			owner, repo, _ := strings.Cut(rec.env["GITHUB_REPOSITORY"], "/")
			number := int(rec.event["number"].(float64))

			// What the recording says about the runner, asserted so that a re-recording that
			// changes it is noticed.
			if rec.env["GITEA_ACTIONS"] != "true" || rec.env["GITHUB_TOKEN"] != "" || !strings.HasSuffix(rec.env["GITHUB_API_URL"], "/api/v1") ||
				rec.env["GITHUB_REF"] != "refs/pull/"+rec.env["GITHUB_REF_NAME"]+"/head" {
				t.Fatalf("the recording changed: GITEA_ACTIONS=%q GITHUB_TOKEN set=%v API=%q REF=%q",
					rec.env["GITEA_ACTIONS"], rec.env["GITHUB_TOKEN"] != "", rec.env["GITHUB_API_URL"], rec.env["GITHUB_REF"])
			}

			h := newHarness(t, bin, "gitea")
			jobToken := "gitea-job-token-CANARY-7f3e"
			h.forge.AddToken(jobToken, forgefake.Token{Login: "gitea-actions", CannotSetStatus: fork})
			h.forge.PutFileAt(owner, repo, baseSHA, ".tinyforge.yml", []byte(e2eInSync))
			h.forge.PutFileAt(owner, repo, headSHA, ".tinyforge.yml", []byte(e2eDrift))

			// The recorded environment, moved to this machine.
			recorded := rec.env["GITHUB_SERVER_URL"]
			tmp := t.TempDir()
			env := map[string]string{}
			for k, v := range rec.env {
				if strings.Contains(v, "/home/runner/") || v == "<redacted>" {
					continue
				}
				env[k] = strings.ReplaceAll(v, recorded, h.forge.URL())
			}
			eventJSON, _ := json.Marshal(rec.event)
			eventPath := filepath.Join(tmp, "event.json")
			os.WriteFile(eventPath, []byte(strings.ReplaceAll(string(eventJSON), recorded, h.forge.URL())), 0o644)
			for k, v := range map[string]string{
				"GITHUB_EVENT_PATH": eventPath, "GITHUB_WORKSPACE": h.ws, "PATH": "/usr/bin:/bin",
				"GITHUB_OUTPUT": filepath.Join(tmp, "output"), "GITHUB_STEP_SUMMARY": filepath.Join(tmp, "summary"),
				"RUNNER_TEMP": tmp, "TINYFORGE_COMMENT_VERIFY_DELAY": "0s",
				"INPUT_TOKEN": jobToken, "INPUT_JOB-TOKEN": jobToken, "INPUT_TINYFORGE-URL": h.tf.srv.URL, "INPUT_TINYFORGE-TOKEN": tfCanary, "INPUT_WORKLOAD": "web",
			} {
				env[k] = v
			}
			res := h.run(env, "action")
			if res.code != 0 || res.outputs["verdict"] != "drift" {
				t.Fatalf("exit %d, verdict %q\nstdout:\n%s\nstderr:\n%s", res.code, res.outputs["verdict"], res.stdout, res.stderr)
			}
			comments := h.forge.Comments(owner, repo, number)
			if len(comments) != 1 || comments[0].Author != "gitea-actions" || !strings.Contains(comments[0].Body, "9090") {
				t.Errorf("comments: %+v, want one by gitea-actions about the drift", comments)
			}
			statuses := h.forge.Statuses(owner, repo, headSHA)
			if fork {
				if len(statuses) != 0 || !strings.Contains(res.stdout, "::notice title=tinyforge-check::could not set the commit status: the token is read-only") {
					t.Errorf("fork PR: statuses %+v (want none) and a notice in:\n%s", statuses, res.stdout)
				}
			} else if len(statuses) != 1 || statuses[0].State != "warning" {
				t.Errorf("statuses on the PR head %s: %+v, want one warning", headSHA, statuses)
			}
			if len(h.forge.Statuses(owner, repo, rec.env["GITHUB_SHA"])) != 0 && rec.env["GITHUB_SHA"] != headSHA {
				t.Errorf("a status landed on GITHUB_SHA %s instead of the PR head", rec.env["GITHUB_SHA"])
			}
		})
	}
}
