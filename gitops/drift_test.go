package gitops

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

type driftWant struct {
	Drift     []DriftEntry `json:"drift"`
	SyncError string       `json:"sync_error"`
}

// TestDriftCases runs every case under testdata/drift: a .tinyforge.yml, a live source_config and
// the expected drift and Sync preview.
func TestDriftCases(t *testing.T) {
	dirs, err := filepath.Glob("../testdata/drift/*")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no drift cases: %v", err)
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			data := mustRead(t, filepath.Join(dir, "tinyforge.yml"))
			live := mustRead(t, filepath.Join(dir, "live.json"))
			var want driftWant
			if err := json.Unmarshal(mustRead(t, filepath.Join(dir, "want.json")), &want); err != nil {
				t.Fatal(err)
			}
			st := sourceTypeOf(data)
			if st == "" {
				st = SourceDockerfile
			}
			spec, diags := Lint(data, st)
			if spec == nil {
				t.Fatalf("spec does not lint: %v", diags)
			}
			got, err := Drift(spec, st, live)
			if err != nil {
				t.Fatal(err)
			}
			for i := range want.Drift { // no case's live holds the string "(unset)"
				want.Drift[i].LiveMissing = want.Drift[i].LiveValue == Unset
			}
			if diff := cmp.Diff(want.Drift, got); diff != "" {
				t.Errorf("drift (-want +got):\n%s", diff)
			}
			merged, err := PreviewSync(spec, live)
			gotErr := ""
			if err != nil {
				gotErr = err.Error()
			}
			if gotErr != want.SyncError {
				t.Errorf("sync preview error: want %q, got %q", want.SyncError, gotErr)
			}
			if err == nil {
				after, err := Drift(spec, st, merged)
				if err != nil || len(after) != 0 {
					t.Errorf("after the merge, drift must be empty; got %v, %v", after, err)
				}
			}
		})
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func ptr[T any](v T) *T { return &v }

func TestBuildPlanOnlyDeclared(t *testing.T) {
	tests := []struct {
		name string
		spec *Spec
		want map[string]any
	}{
		{"nil", nil, map[string]any{}},
		{"nothing", &Spec{Version: 1}, map[string]any{}},
		{"port", &Spec{Version: 1, Deploy: DeploySpec{Port: ptr(8080)}}, map[string]any{"port": 8080}},
		{"empty healthcheck is declared", &Spec{Version: 1, Deploy: DeploySpec{Healthcheck: ptr("")}}, map[string]any{"healthcheck": ""}},
		{"all", &Spec{Version: 1, Deploy: DeploySpec{Port: ptr(1), Healthcheck: ptr("/h"), DeployStrategy: ptr("rolling")}},
			map[string]any{"port": 1, "healthcheck": "/h", "deploy_strategy": "rolling"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, BuildPlan(tt.spec).Patch); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestMergeAndValidate(t *testing.T) {
	plan := Plan{Patch: map[string]any{"port": 8080}}
	tests := []struct {
		name    string
		live    string
		plan    Plan
		want    string
		wantErr string
	}{
		{"keeps other keys byte for byte", `{"port": 80, "env": {"A": [1, 2.50, "x<y>"]}, "ratio": 1.0}`, plan,
			`{"env":{"A":[1,2.50,"x<y>"]},"port":8080,"ratio":1.0}`, ""},
		{"null live is empty", `null`, plan, `{"port":8080}`, ""},
		{"empty live is empty", ``, plan, `{"port":8080}`, ""},
		{"empty plan changes nothing", `{"a":1}`, Plan{}, `{"a":1}`, ""},
		{"invalid merged result", `{"healthcheck": "no-slash"}`, plan, "", "healthcheck must be"},
		{"non-object live", `[1]`, plan, "", "must be a JSON object"},
		{"broken JSON", `{"port":`, plan, "", "not valid JSON"},
		{"trailing value", `{} {}`, plan, "", "more than one JSON value"},
		{"plan fixes an invalid live value", `{"port": "eighty"}`, plan, `{"port":8080}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := MergeAndValidate(json.RawMessage(tt.live), tt.plan, ValidateSourceConfig)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("want error containing %q, got %v", tt.wantErr, err)
				}
				if got != nil {
					t.Errorf("on error the result must be nil, got %s", got)
				}
				if !errors.Is(err, ErrInvalidSourceConfig) {
					t.Errorf("error must wrap ErrInvalidSourceConfig: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, string(got)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestMergeDoesNotAliasLive(t *testing.T) {
	live := json.RawMessage(`{"port": 80}`)
	before := string(live)
	if _, err := MergeAndValidate(live, Plan{Patch: map[string]any{"port": 1}}, nil); err != nil {
		t.Fatal(err)
	}
	if string(live) != before {
		t.Errorf("live was modified: %s", live)
	}
}

func TestValidateSourceConfigNeverEchoesValues(t *testing.T) {
	const secret = "s3cr3t-canary-value"
	cfg := `{"port": "` + secret + `", "healthcheck": "` + secret + `", "deploy_strategy": "` + secret + `"}`
	err := ValidateSourceConfig(json.RawMessage(cfg))
	if err == nil {
		t.Fatal("want an error")
	}
	for _, key := range []string{"port", "healthcheck", "deploy_strategy"} {
		if !strings.Contains(err.Error(), key) {
			t.Errorf("error must name %s: %v", key, err)
		}
	}
	if strings.Contains(err.Error(), secret) {
		t.Errorf("error echoes a value: %v", err)
	}
}

func TestValidateSourceConfig(t *testing.T) {
	tests := []struct {
		cfg string
		ok  bool
	}{
		{`{}`, true},
		{`{"port": 1, "healthcheck": "", "deploy_strategy": ""}`, true},
		{`{"port": 65535.0, "deploy_strategy": "rolling"}`, true},
		{`{"port": "443"}`, true},
		{`{"port": null, "healthcheck": null}`, true},
		{`{"port": 0}`, false},
		{`{"port": 65536}`, false},
		{`{"port": 1.5}`, false},
		{`{"port": "0x50"}`, false},
		{`{"port": 1e999999999}`, false},
		{`{"port": true}`, false},
		{`{"healthcheck": "x"}`, false},
		{`{"healthcheck": 5}`, false},
		{`{"deploy_strategy": "Rolling"}`, false},
		{`{"unrelated": [1, {"x": null}]}`, true},
	}
	for _, tt := range tests {
		err := ValidateSourceConfig(json.RawMessage(tt.cfg))
		if (err == nil) != tt.ok {
			t.Errorf("ValidateSourceConfig(%s) = %v, want ok=%v", tt.cfg, err, tt.ok)
		}
	}
}

func TestCompareNormalization(t *testing.T) {
	spec := &Spec{Version: 1, Deploy: DeploySpec{Port: ptr(8080), Healthcheck: ptr(""), DeployStrategy: ptr("recreate")}}
	got, err := Compare(spec, SourceDockerfile, json.RawMessage(`{"port": "8080"}`))
	if err != nil {
		t.Fatal(err)
	}
	want := []Comparison{
		{Field: FieldPort, RepoValue: "8080", LiveValue: "8080", Equal: true, Normalization: `port compared by integer value: the string "8080" equals 8080`},
		{Field: FieldHealthcheck, RepoValue: `""`, LiveValue: Unset, LiveMissing: true, Equal: true, Normalization: `a missing healthcheck equals ""`},
		{Field: FieldDeployStrategy, RepoValue: "recreate", LiveValue: Unset, LiveMissing: true, Equal: true, Normalization: `deploy_strategy "" or unset equals recreate`},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestDriftRejectsOtherSourceTypes(t *testing.T) {
	_, err := Drift(&Spec{Version: 1}, "compose", json.RawMessage(`{}`))
	if err == nil || !strings.Contains(err.Error(), "cannot use GitOps") {
		t.Errorf("want a source type error, got %v", err)
	}
}

func TestChanges(t *testing.T) {
	got := Changes([]DriftEntry{{Field: FieldPort, RepoValue: "8080", LiveValue: Unset}})
	want := []Change{{Field: FieldPort, From: Unset, To: "8080"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestFileSHAMatchesGit(t *testing.T) {
	// Values from `printf 'hello\n' | git hash-object --stdin` and `git hash-object /dev/null`.
	tests := map[string]string{
		"hello\n": "ce013625030ba8dba906f756967f9e9ca394464a",
		"":        "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391",
	}
	for in, want := range tests {
		if got := FileSHA([]byte(in)); got != want {
			t.Errorf("FileSHA(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestSupportsGitOps(t *testing.T) {
	for st, want := range map[string]bool{"dockerfile": true, "static": true, "": false, "compose": false, "Static": false} {
		if got := SupportsGitOps(st); got != want {
			t.Errorf("SupportsGitOps(%q) = %v", st, got)
		}
	}
}

// TestLiveMissing: a live value that is absent or null is missing; the string "(unset)" is a
// value like any other, though it renders as Unset does.
func TestLiveMissing(t *testing.T) {
	spec := &Spec{Version: 1, Deploy: DeploySpec{Port: ptr(8080), Healthcheck: ptr("/up"), DeployStrategy: ptr("rolling")}}
	got, err := Drift(spec, SourceDockerfile, json.RawMessage(`{"port": null, "healthcheck": "(unset)"}`))
	if err != nil {
		t.Fatal(err)
	}
	missing := map[string]bool{}
	for _, d := range got {
		missing[d.Field] = d.LiveMissing
	}
	want := map[string]bool{FieldPort: true, FieldHealthcheck: false, FieldDeployStrategy: true}
	if diff := cmp.Diff(want, missing); diff != "" {
		t.Errorf("LiveMissing by field (-want +got):\n%s", diff)
	}
}
