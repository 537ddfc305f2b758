package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"

	"github.com/tinyforge/tinyforge-check/checker"
	"github.com/tinyforge/tinyforge-check/internal/testenv"
)

// dockerStage is one FROM ... block of a Dockerfile.
type dockerStage struct {
	from         string
	instructions []string // "RUN ...", "COPY ...", one per logical line
}

// parseDockerfile splits a Dockerfile into stages of logical instructions (continuations
// joined, comments dropped).
func parseDockerfile(t testing.TB, text string) []dockerStage {
	t.Helper()
	var stages []dockerStage
	var logical []string
	cur := ""
	for _, line := range strings.Split(text, "\n") {
		trimmed := strings.TrimSpace(line)
		if cur == "" && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if strings.HasSuffix(trimmed, "\\") {
			cur += strings.TrimSuffix(trimmed, "\\") + " "
			continue
		}
		logical = append(logical, cur+trimmed)
		cur = ""
	}
	for _, ins := range logical {
		word, rest, _ := strings.Cut(ins, " ")
		if strings.EqualFold(word, "FROM") {
			stages = append(stages, dockerStage{from: rest})
			continue
		}
		if len(stages) == 0 {
			t.Fatalf("instruction before FROM: %q", ins)
		}
		stages[len(stages)-1].instructions = append(stages[len(stages)-1].instructions, strings.ToUpper(word)+" "+rest)
	}
	return stages
}

// dockerBuildCommand returns the go build command of the Dockerfile's build stage, so the
// end-to-end tests build the binary exactly as the image does.
func dockerBuildCommand(t testing.TB) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(testenv.ModuleRoot(t), "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range parseDockerfile(t, string(data)) {
		for _, ins := range st.instructions {
			if strings.HasPrefix(ins, "RUN ") && strings.Contains(ins, "go build") {
				return strings.TrimPrefix(ins, "RUN ")
			}
		}
	}
	t.Fatal("the Dockerfile has no RUN go build")
	return ""
}

func TestDockerfileStructure(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(testenv.ModuleRoot(t), "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	stages := parseDockerfile(t, string(data))
	if len(stages) < 2 {
		t.Fatalf("want a multi-stage build, got %d stage(s)", len(stages))
	}
	build, final := stages[0], stages[len(stages)-1]
	if !regexp.MustCompile(`^golang:1\.26[.\w-]* AS build$`).MatchString(build.from) {
		t.Errorf("build stage FROM %q: want a pinned golang:1.26 image named build", build.from)
	}
	if final.from != "scratch" {
		t.Errorf("final stage FROM %q, want scratch", final.from)
	}
	cmd := dockerBuildCommand(t)
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", "./cmd/tinyforge-check", "-o /out/tinyforge-check"} {
		if !strings.Contains(cmd, want) {
			t.Errorf("build command %q lacks %q", cmd, want)
		}
	}
	var got []string
	for _, ins := range final.instructions {
		word, _, _ := strings.Cut(ins, " ")
		switch word {
		case "WORKDIR", "USER":
			t.Errorf("final stage has %q: container actions need no WORKDIR and must run as root", ins)
		}
		got = append(got, ins)
	}
	want := []string{
		"COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt",
		"COPY --from=build /out/tinyforge-check /tinyforge-check",
		`ENTRYPOINT ["/tinyforge-check"]`,
		`CMD ["action"]`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("final stage (-want +got):\n%s", diff)
	}
}

// TestKoConfigMatchesGoReleaser: the release image (.ko.yaml, built by scripts/release-image.sh)
// compiles tinyforge-check with exactly the env, flags and ldflags of GoReleaser's build, so that
// it holds the binary whose SHA-256 is in checksums.txt (the release rehearsal checks the bytes).
func TestKoConfigMatchesGoReleaser(t *testing.T) {
	root := testenv.ModuleRoot(t)
	type build struct {
		ID      string   `yaml:"id"`
		Main    string   `yaml:"main"`
		Env     []string `yaml:"env"`
		Flags   []string `yaml:"flags"`
		Ldflags []string `yaml:"ldflags"`
	}
	var ko struct {
		DefaultBaseImage string   `yaml:"defaultBaseImage"`
		DefaultPlatforms []string `yaml:"defaultPlatforms"`
		Builds           []build  `yaml:"builds"`
	}
	var gr struct {
		Builds []build `yaml:"builds"`
	}
	for name, v := range map[string]any{".ko.yaml": &ko, ".goreleaser.yaml": &gr} {
		data, err := os.ReadFile(filepath.Join(root, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := yaml.Unmarshal(data, v); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	if len(ko.Builds) != 1 || len(gr.Builds) == 0 {
		t.Fatalf("builds: ko %d, goreleaser %d", len(ko.Builds), len(gr.Builds))
	}
	want := gr.Builds[0]
	if want.ID != "tinyforge-check" {
		t.Fatalf("GoReleaser's first build is %q, want tinyforge-check", want.ID)
	}
	// The one difference: GoReleaser's template {{ .Version }} is ko's {{ .Env.VERSION }}.
	for i, l := range want.Ldflags {
		want.Ldflags[i] = strings.ReplaceAll(l, "{{ .Version }}", "{{ .Env.VERSION }}")
	}
	if diff := cmp.Diff(want, ko.Builds[0]); diff != "" {
		t.Errorf(".ko.yaml's build differs from .goreleaser.yaml's (-goreleaser +ko):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"linux/amd64", "linux/arm64"}, ko.DefaultPlatforms); diff != "" {
		t.Errorf("image platforms (-want +got):\n%s", diff)
	}
	if ko.DefaultBaseImage == "" {
		t.Error(".ko.yaml names no base image")
	}
}

// actionMetadata is the part of action.yml the tests check.
type actionMetadata struct {
	Name     string `yaml:"name"`
	Branding struct {
		Icon  string `yaml:"icon"`
		Color string `yaml:"color"`
	} `yaml:"branding"`
	Inputs map[string]struct {
		Description string  `yaml:"description"`
		Default     *string `yaml:"default"`
	} `yaml:"inputs"`
	Outputs map[string]struct {
		Description string `yaml:"description"`
	} `yaml:"outputs"`
	Runs struct {
		Using string   `yaml:"using"`
		Image string   `yaml:"image"`
		Args  []string `yaml:"args"`
	} `yaml:"runs"`
}

func TestActionMetadata(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(testenv.ModuleRoot(t), "action.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var md actionMetadata
	if err := yaml.Unmarshal(data, &md); err != nil {
		t.Fatal(err)
	}
	// Inputs and their defaults: the binary applies the same ones when a variable is empty.
	defaults := map[string]string{}
	for name, in := range md.Inputs {
		if in.Description == "" || in.Default == nil {
			t.Errorf("input %s lacks a description or a default", name)
			continue
		}
		defaults[name] = *in.Default
	}
	wantDefaults := map[string]string{
		"path": "", "tinyforge-url": "", "tinyforge-token": "", "workload": "", "token": "${{ github.token }}", "job-token": "${{ github.token }}", "token-login": "",
		"fail-on": checker.DefaultFailOn.String(), "comment": string(checker.CommentAuto),
		"status-context": checker.DefaultStatusContext, "source-type": "", "report": "", "issue-labels": "",
	}
	if diff := cmp.Diff(wantDefaults, defaults); diff != "" {
		t.Errorf("inputs and defaults (-want +got):\n%s", diff)
	}
	var inputNames []string
	for _, in := range actionInputs() {
		inputNames = append(inputNames, in.name)
		delete(wantDefaults, in.name)
	}
	if len(wantDefaults) != 0 {
		t.Errorf("inputs the binary does not read: %v", wantDefaults)
	}
	for _, name := range inputNames {
		if _, ok := md.Inputs[name]; !ok {
			t.Errorf("the binary reads input %s, which action.yml does not declare", name)
		}
	}
	var outputs []string
	for name, o := range md.Outputs {
		if o.Description == "" {
			t.Errorf("output %s has no description", name)
		}
		outputs = append(outputs, name)
	}
	var wantOutputs []string
	for _, o := range checker.Outputs(&checker.Report{}) {
		wantOutputs = append(wantOutputs, o.Name)
	}
	sortStrings := cmp.Transformer("sort", func(in []string) []string {
		out := append([]string(nil), in...)
		for i := range out {
			for j := i + 1; j < len(out); j++ {
				if out[j] < out[i] {
					out[i], out[j] = out[j], out[i]
				}
			}
		}
		return out
	})
	if diff := cmp.Diff(wantOutputs, outputs, sortStrings); diff != "" {
		t.Errorf("outputs (-want +got):\n%s", diff)
	}
	// A development ref builds Dockerfile; a release commit (scripts/pin-release.sh) runs the
	// prebuilt image of the version whose binaries host/release.sha256 commits to, so that no
	// job compiles on a release.
	wantImage := "Dockerfile"
	if sums, err := os.ReadFile(filepath.Join(testenv.ModuleRoot(t), "host", "release.sha256")); err == nil {
		m := regexp.MustCompile(`  tinyforge-check_([^_]+)_linux_amd64\n`).FindSubmatch(sums)
		if m == nil {
			t.Fatalf("host/release.sha256 has no linux_amd64 line:\n%s", sums)
		}
		wantImage = "docker://ghcr.io/tinyforge/tinyforge-check:v" + string(m[1]) + "@sha256:"
	}
	// A release pins the image by digest too: the tag is for people, the digest for trust.
	pinned := wantImage == "Dockerfile" && md.Runs.Image == wantImage ||
		strings.HasPrefix(md.Runs.Image, wantImage) && regexp.MustCompile(`@sha256:[0-9a-f]{64}$`).MatchString(md.Runs.Image)
	if md.Runs.Using != "docker" || !pinned || !cmp.Equal(md.Runs.Args, []string{"action"}) {
		t.Errorf("runs = %+v, want docker %s [action]", md.Runs, wantImage)
	}
	if md.Name == "" || md.Branding.Icon == "" || md.Branding.Color == "" {
		t.Errorf("name or branding missing: %+v", md)
	}
}

// TestExamplesAndDocs checks that the example workflows use only inputs the action has, that
// the GitLab example sets only variables the binary reads, and that docs/action.md documents
// every input and output.
func TestExamplesAndDocs(t *testing.T) {
	root := testenv.ModuleRoot(t)
	inputs := map[string]bool{}
	fallbacks := map[string]bool{"TINYFORGE_FORGE_TOKEN": true, "GITLAB_TOKEN": true, "TINYFORGE_COMMENT_VERIFY_DELAY": true}
	for _, in := range actionInputs() {
		inputs[in.name] = true
		if in.fallback != "" {
			fallbacks[in.fallback] = true
		}
	}
	workflows, err := filepath.Glob(filepath.Join(root, "examples", "*.yml"))
	if err != nil || len(workflows) < 4 {
		t.Fatalf("examples: %v, %d files", err, len(workflows))
	}
	for _, p := range workflows {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var doc map[string]any
		if err := yaml.Unmarshal(data, &doc); err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		if filepath.Base(p) == "gitlab-ci.yml" {
			job, _ := doc["tinyforge"].(map[string]any)
			vars, _ := job["variables"].(map[string]any)
			if len(vars) == 0 {
				t.Errorf("%s: no variables", p)
			}
			script, _ := json.Marshal(job["script"])
			for k := range vars {
				// A variable is either read by the binary or used by the job's own script (the
				// release to download and its pinned SHA-256).
				if !fallbacks[k] && !strings.Contains(string(script), "${"+k+"}") {
					t.Errorf("%s: variable %s is neither read by the binary nor used by the script", p, k)
				}
			}
			if strings.Contains(string(script), "go run") || strings.Contains(string(script), "go install") {
				t.Errorf("%s compiles the tool in every pipeline: run the release binary", p)
			}
			if !strings.Contains(string(script), "sha256sum -c") {
				t.Errorf("%s runs a downloaded binary without checking its SHA-256", p)
			}
			continue
		}
		if strings.Contains(filepath.Base(p), "scheduled") {
			// yaml.v3 reads the key "on" as the string "on".
			on, _ := doc["on"].(map[string]any)
			if _, ok := on["schedule"]; !ok {
				t.Errorf("%s: a scheduled example without a schedule trigger", p)
			}
			if perms, ok := doc["permissions"].(map[string]any); ok && perms["issues"] != "write" {
				t.Errorf("%s: permissions %v lack issues: write, which the drift issue needs", p, perms)
			}
		}
		jobs, _ := doc["jobs"].(map[string]any)
		uses := 0
		for _, j := range jobs {
			steps, _ := j.(map[string]any)["steps"].([]any)
			for _, s := range steps {
				step, _ := s.(map[string]any)
				u, _ := step["uses"].(string)
				if !strings.Contains(u, "tinyforge-check") {
					continue
				}
				uses++
				with, _ := step["with"].(map[string]any)
				for k := range with {
					// download-url is an input of the composite action (host/action.yml) only.
					if !inputs[k] && !(k == "download-url" && strings.Contains(u, "tinyforge-check/host@")) {
						t.Errorf("%s: input %q does not exist", p, k)
					}
				}
			}
		}
		if uses == 0 {
			t.Errorf("%s does not use the action", p)
		}
	}
	doc, err := os.ReadFile(filepath.Join(root, "docs", "action.md"))
	if err != nil {
		t.Fatal(err)
	}
	for name := range inputs {
		if !strings.Contains(string(doc), "| `"+name+"` |") {
			t.Errorf("docs/action.md has no row for input %s", name)
		}
	}
	for _, o := range checker.Outputs(&checker.Report{}) {
		if !strings.Contains(string(doc), "| `"+o.Name+"` |") {
			t.Errorf("docs/action.md has no row for output %s", o.Name)
		}
	}
}
