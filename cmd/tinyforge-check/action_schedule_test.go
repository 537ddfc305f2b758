package main

import (
	"strconv"
	"strings"
	"testing"

	"github.com/tinyforge/tinyforge-check/internal/forgefake"
)

// issueForge is a forge fake that holds issues.
type issueForge interface {
	Issues(owner, repo string) []forgefake.Issue
}

// TestActionScheduledIssue runs the built action as a scheduled job on each forge's fake: the
// first drifting run opens one issue and sets no status, a rerun writes nothing, a run in sync
// closes it with a comment, and the next drift reopens the same issue. GitLab's scheduled
// pipeline (CI_PIPELINE_SOURCE=schedule) is read the same way.
func TestActionScheduledIssue(t *testing.T) {
	t.Parallel()
	bin := buildAction(t, t.TempDir())
	for _, kind := range []string{"github", "gitea", "gitlab"} {
		t.Run(kind, func(t *testing.T) {
			h := newHarness(t, bin, kind)
			run := 100
			check := func(file string) actionResult {
				t.Helper()
				run++
				h.commit(map[string]string{".tinyforge.yml": file})
				var env map[string]string
				if kind == "gitlab" {
					env = h.gitlabEnv(map[string]string{
						"CI_COMMIT_SHA": e2ePush, "CI_PIPELINE_ID": strconv.Itoa(run), "CI_PIPELINE_SOURCE": "schedule",
						"TINYFORGE_ISSUE_LABELS": "tinyforge",
					})
				} else {
					env = h.env("schedule", map[string]any{"schedule": "17 * * * *"}, map[string]string{"issue-labels": "tinyforge"})
					env["GITHUB_RUN_ID"] = strconv.Itoa(run)
				}
				res := h.run(env, "action")
				if res.code != 0 {
					t.Fatalf("run %d: exit %d\n%s\n%s", run, res.code, res.stdout, res.stderr)
				}
				return res
			}
			issues := func() []forgefake.Issue {
				var out []forgefake.Issue
				for _, is := range h.forge.(issueForge).Issues(h.owner, "r") {
					if is.Author == botLogin {
						out = append(out, is)
					}
				}
				return out
			}

			res := check(e2eDrift)
			is := issues()
			if len(is) != 1 || !is[0].Open || !strings.Contains(is[0].Body, "<!-- tinyforge-check-issue:tinyforge/gitops workload=3 run=101 since=") ||
				!strings.Contains(is[0].Body, "`deploy.port`") || !strings.Contains(is[0].Title, "web drifts from live") {
				t.Fatalf("after the first drifting run: %+v\n%s", is, res.stdout)
			}
			if len(h.statuses()) != 0 {
				t.Errorf("a scheduled run set a status on the default branch: %+v", h.statuses())
			}
			if kind != "gitlab" && (res.outputs["issue-url"] == "" || res.outputs["verdict"] != "drift") {
				t.Errorf("outputs %v", res.outputs)
			}
			if !strings.Contains(res.stdout, "drift issue: opened") {
				t.Errorf("the log does not say what happened to the issue:\n%s", res.stdout)
			}

			writes := h.writeCount()
			check(e2eDrift)
			if n := h.writeCount() - writes; n != 0 {
				t.Errorf("an unchanged scheduled rerun made %d writes", n)
			}

			check(e2eInSync)
			is = issues()
			if len(is) != 1 || is[0].Open {
				t.Fatalf("after an in-sync run: %+v", is)
			}
			if cs := h.forge.Comments(h.owner, "r", is[0].Number); len(cs) != 1 || !strings.Contains(cs[0].Body, "Live matches the file again") {
				t.Errorf("closing comment: %+v", cs)
			}

			check(e2eDrift)
			if again := issues(); len(again) != 1 || !again[0].Open || again[0].Number != is[0].Number {
				t.Errorf("the next drift did not reopen #%d: %+v", is[0].Number, again)
			}
		})
	}
}
