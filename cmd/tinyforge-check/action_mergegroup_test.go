package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"

	"github.com/tinyforge/tinyforge-check/internal/forgefake"
	"github.com/tinyforge/tinyforge-check/internal/testenv"
)

// mergeGroupFixture is GitHub's merge_group payload (testdata/events/README.md says whence).
const mergeGroupFixture = "testdata/events/merge_group.json"

// TestActionMergeGroup runs the built action on a merge_group event of GitHub's fake, with the
// inputs that would write a comment and an issue on other events: it sets one status on the
// merge group's head, writes nothing else, and its summary names the merge group.
func TestActionMergeGroup(t *testing.T) {
	t.Parallel()
	payload, err := os.ReadFile(mergeGroupFixture)
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		MergeGroup struct {
			HeadSHA string `json:"head_sha"`
			HeadRef string `json:"head_ref"`
		} `json:"merge_group"`
	}
	if err := json.Unmarshal(payload, &p); err != nil {
		t.Fatal(err)
	}
	head := p.MergeGroup.HeadSHA
	h := newHarness(t, buildAction(t, t.TempDir()), "github")
	h.setFile(head, ".tinyforge.yml", e2eDrift) // read through the API at the group's head
	env := h.env("merge_group", json.RawMessage(payload), map[string]string{"comment": "always", "report": "issue"})
	env["GITHUB_SHA"], env["GITHUB_REF"] = head, p.MergeGroup.HeadRef
	h.forge.ResetRequests()
	res := h.run(env, "action")
	if res.code != 0 || res.outputs["verdict"] != "drift" {
		t.Fatalf("exit %d, outputs %v\n%s%s", res.code, res.outputs, res.stdout, res.stderr)
	}
	var got []string
	for _, st := range h.forge.Statuses(h.owner, "r", head) {
		got = append(got, st.State+" "+st.Context)
	}
	if diff := cmp.Diff([]string{"success tinyforge/gitops"}, got); diff != "" {
		t.Errorf("statuses on the merge group's head (-want +got):\n%s", diff)
	}
	if st := h.statuses(); len(st) != 0 {
		t.Errorf("statuses on other commits: %+v", st)
	}
	if n := h.writeCount(); n != 1 {
		t.Errorf("%d writes, want the one status:\n%s", n, strings.Join(h.requestLog(), "\n"))
	}
	if is := h.forge.(issueForge).Issues(h.owner, "r"); len(is) != 0 {
		t.Errorf("a merge group opened issues: %+v", is)
	}
	for _, want := range []string{"merge group gh-readonly-queue/main/pr-42-4c7a9b1e0d2f3a5b6c8d9e0f1a2b3c4d5e6f7a8b", "commit ec26c3e", "a merge group gets no comment and no issue"} {
		if !strings.Contains(res.summary, want) {
			t.Errorf("summary lacks %q:\n%s", want, res.summary)
		}
	}
}

// TestMergeGroupFixtureMatchesGitHub checks the merge_group fixture against GitHub's REST
// description: every property each schema requires is there, and every property there is one
// the schema declares.
func TestMergeGroupFixtureMatchesGitHub(t *testing.T) {
	path, err := forgefake.GitHubSpecPath()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("GitHub's OpenAPI description: %v (scripts/fetch-openapi.sh installs it)", err)
		}
		t.Skipf("GitHub's OpenAPI description is not installed (%v): run scripts/fetch-openapi.sh, or set %s", err, forgefake.GitHubSpecEnv)
	}
	type schema struct {
		Required   []string                   `json:"required"`
		Properties map[string]json.RawMessage `json:"properties"`
	}
	var spec struct {
		Components struct {
			Schemas map[string]schema `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(raw, &spec); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(testenv.ModuleRoot(t), "cmd", "tinyforge-check", mergeGroupFixture))
	if err != nil {
		t.Fatal(err)
	}
	var event map[string]any
	if err := json.Unmarshal(data, &event); err != nil {
		t.Fatal(err)
	}
	group, _ := event["merge_group"].(map[string]any)
	commit, _ := group["head_commit"].(map[string]any)
	for _, c := range []struct {
		schema string
		obj    map[string]any
	}{
		{"webhook-merge-group-checks-requested", event},
		{"merge-group", group},
		{"simple-commit", commit},
	} {
		s, ok := spec.Components.Schemas[c.schema]
		if !ok {
			t.Errorf("GitHub's description has no schema %s", c.schema)
			continue
		}
		for _, k := range s.Required {
			if _, ok := c.obj[k]; !ok {
				t.Errorf("%s: the fixture lacks required property %s", c.schema, k)
			}
		}
		for k := range c.obj {
			if _, ok := s.Properties[k]; !ok {
				t.Errorf("%s: the fixture has property %s, which the schema does not declare", c.schema, k)
			}
		}
	}
	if event["action"] != "checks_requested" {
		t.Errorf("action %v, want checks_requested", event["action"])
	}
}

// TestExamplesShowMergeGroup: the GitHub example, the README and docs/action.md run the check
// on merge_group beside pull_request, as a merge queue with a required check needs.
func TestExamplesShowMergeGroup(t *testing.T) {
	root := testenv.ModuleRoot(t)
	data, err := os.ReadFile(filepath.Join(root, "examples", "github-workflow.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var wf struct {
		On map[string]any `yaml:"on"`
	}
	if err := yaml.Unmarshal(data, &wf); err != nil {
		t.Fatal(err)
	}
	for _, ev := range []string{"pull_request", "merge_group"} {
		if _, ok := wf.On[ev]; !ok {
			t.Errorf("examples/github-workflow.yml: on: lacks %s", ev)
		}
	}
	for _, doc := range []string{"README.md", "docs/action.md"} {
		data, err := os.ReadFile(filepath.Join(root, doc))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(data), "on:\n  pull_request:\n  merge_group:") {
			t.Errorf("%s: the quick start's on: lacks merge_group beside pull_request", doc)
		}
	}
}
