package main

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"

	"github.com/tinyforge/tinyforge-check/internal/testenv"
)

// TestActionInputsDeclaredOnce checks action.yml, host/action.yml, the inputs table of
// docs/action.md and the action command's usage against the one table in actionInputs: the
// same inputs, in the same order, with the same defaults and fallback variables.
func TestActionInputsDeclaredOnce(t *testing.T) {
	root := testenv.ModuleRoot(t)
	var names []string
	want := map[string]string{} // name -> default
	for _, in := range actionInputs() {
		names = append(names, in.name)
		want[in.name] = in.def
	}
	for _, file := range []string{"action.yml", "host/action.yml"} {
		gotNames, got := actionYAMLInputs(t, filepath.Join(root, file))
		if file == "host/action.yml" {
			// download-url is the composite action's own: where it downloads the binary from.
			gotNames = slices.DeleteFunc(gotNames, func(n string) bool { return n == "download-url" })
			delete(got, "download-url")
		}
		if diff := cmp.Diff(names, gotNames); diff != "" {
			t.Errorf("%s: inputs and their order (-actionInputs +%s):\n%s", file, file, diff)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: defaults (-actionInputs +%s):\n%s", file, file, diff)
		}
	}

	doc, err := os.ReadFile(filepath.Join(root, "docs", "action.md"))
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string][]string{}
	var docNames []string
	row := regexp.MustCompile("^\\| `([a-z-]+)` \\| ([^|]*) \\| ([^|]*) \\|")
	for _, line := range strings.Split(string(doc), "\n") {
		if m := row.FindStringSubmatch(line); m != nil && slices.Contains(names, m[1]) {
			docNames = append(docNames, m[1])
			rows[m[1]] = m[2:]
		}
	}
	if diff := cmp.Diff(names, docNames); diff != "" {
		t.Errorf("docs/action.md: input rows and their order (-actionInputs +docs):\n%s", diff)
	}
	usage := strings.Split(actionUsage, "\n")
	for _, in := range actionInputs() {
		r, ok := rows[in.name]
		if !ok {
			continue
		}
		wantDefault := "empty"
		if in.def != "" {
			wantDefault = "`" + in.def + "`"
		}
		if r[1] != wantDefault {
			t.Errorf("docs/action.md: input %s has default %s, actionInputs says %s", in.name, r[1], wantDefault)
		}
		switch {
		case in.fallback != "" && r[0] != "`"+in.fallback+"`":
			t.Errorf("docs/action.md: input %s falls back to %s, actionInputs says `%s`", in.name, r[0], in.fallback)
		case in.name == "token" && !strings.HasPrefix(r[0], "`GITHUB_TOKEN`"):
			t.Errorf("docs/action.md: input token falls back to %s, forgeToken reads GITHUB_TOKEN first", r[0])
		case in.fallback == "" && in.name != "token" && r[0] != "—":
			t.Errorf("docs/action.md: input %s falls back to %s, actionInputs says none (—)", in.name, r[0])
		}
		if in.fallback != "" && !slices.ContainsFunc(usage, regexp.MustCompile(`^  `+regexp.QuoteMeta(in.name)+` +`+in.fallback+` `).MatchString) {
			t.Errorf("action usage: no line for input %s with its variable %s", in.name, in.fallback)
		}
	}
}

// TestActionInputDefaultsApplied: an input set to its action.yml default reads the same as one
// left empty, so runners that pass no defaults get them from the binary.
func TestActionInputDefaultsApplied(t *testing.T) {
	for _, in := range actionInputs() {
		if strings.HasPrefix(in.def, "${{") {
			continue // a runner expression, which only the runner can expand
		}
		var empty, def actionConfig
		if err := in.parse(&empty, ""); err != nil {
			t.Errorf("input %s empty: %v", in.name, err)
		}
		if err := in.parse(&def, in.def); err != nil {
			t.Errorf("input %s = its default %q: %v", in.name, in.def, err)
		}
		if !reflect.DeepEqual(empty, def) {
			t.Errorf("input %s: empty reads as %+v, its default %q as %+v", in.name, empty.in, in.def, def.in)
		}
	}
}

// actionYAMLInputs reads an action.yml's input names in file order and their defaults.
func actionYAMLInputs(t *testing.T, path string) ([]string, map[string]string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Inputs yaml.Node `yaml:"inputs"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var names []string
	defaults := map[string]string{}
	for i := 0; i+1 < len(doc.Inputs.Content); i += 2 {
		name := doc.Inputs.Content[i].Value
		var in struct {
			Default *string `yaml:"default"`
		}
		if err := doc.Inputs.Content[i+1].Decode(&in); err != nil || in.Default == nil {
			t.Errorf("%s: input %s has no default (%v)", path, name, err)
			continue
		}
		names = append(names, name)
		defaults[name] = *in.Default
	}
	return names, defaults
}
