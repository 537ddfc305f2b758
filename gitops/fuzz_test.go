package gitops

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// seedFiles adds every testdata .yml to the corpus.
func seedFiles(f *testing.F, add func(data []byte)) {
	files, _ := filepath.Glob("../testdata/*/*.yml")
	more, _ := filepath.Glob("../testdata/drift/*/tinyforge.yml")
	for _, name := range append(files, more...) {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		add(data)
	}
}

// FuzzParseSpec checks that any input up to the size limit parses without panic in bounded time,
// that diagnostics are positioned inside the input and coded, and that a valid result round-trips
// through BuildPlan consistently with ManagedFields.
func FuzzParseSpec(f *testing.F) {
	seedFiles(f, func(data []byte) { f.Add(data, "dockerfile") })
	f.Add([]byte("version: 1\ndeploy:\n  port: 1\n"), "static")
	f.Fuzz(func(t *testing.T, data []byte, sourceType string) {
		start := time.Now()
		spec, diags := Lint(data, sourceType)
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("lint took %v on %d bytes", d, len(data))
		}
		if diags.HasErrors() != (spec == nil) {
			t.Fatalf("spec must be nil exactly when there are errors: %v", diags)
		}
		if len(diags) > MaxDiagnostics+1 {
			t.Fatalf("%d diagnostics, more than the cap", len(diags))
		}
		lines := len(splitLines(data))
		for _, d := range diags {
			if d.Code == "" || d.Message == "" || d.Line < 0 || d.Line > lines+1 || d.Column < 0 {
				t.Fatalf("bad diagnostic %+v for %d lines", d, lines)
			}
		}
		if spec != nil {
			if spec.Version != 1 {
				t.Fatalf("valid spec with version %d", spec.Version)
			}
			if got, want := len(BuildPlan(spec).Patch), len(spec.ManagedFields()); got != want {
				t.Fatalf("plan has %d keys, spec manages %d", got, want)
			}
			if sourceType == SourceStatic && (spec.Deploy.Port != nil || spec.Deploy.Healthcheck != nil) {
				t.Fatalf("a static spec passed with port or healthcheck")
			}
		}
	})
}

// FuzzDrift checks the invariants of docs/file-format.md (How the file is compared with live) on any file and live config: no panic, and when
// the Sync preview accepts, the merged config has no drift and every live key the plan does not
// touch survives unchanged.
func FuzzDrift(f *testing.F) {
	dirs, _ := filepath.Glob("../testdata/drift/*")
	for _, dir := range dirs {
		data, err1 := os.ReadFile(filepath.Join(dir, "tinyforge.yml"))
		live, err2 := os.ReadFile(filepath.Join(dir, "live.json"))
		if err1 != nil || err2 != nil {
			f.Fatal(err1, err2)
		}
		f.Add(data, live)
	}
	f.Add([]byte("version: 1\ndeploy:\n  port: 80\n"), []byte(`{"port": 1e400, "x": {"y": [1, "2"]}}`))
	f.Fuzz(func(t *testing.T, data, live []byte) {
		spec, _ := ParseSpec(data)
		if spec == nil {
			return
		}
		for _, st := range []string{SourceDockerfile, SourceStatic} {
			if _, err := Drift(spec, st, live); err != nil {
				if _, err := decodeObject(live); err == nil {
					t.Fatalf("drift failed on a decodable live config: %v", err)
				}
				return
			}
		}
		merged, err := PreviewSync(spec, live)
		if err != nil {
			return
		}
		drift, err := Drift(spec, SourceDockerfile, merged)
		if err != nil || len(drift) != 0 {
			t.Fatalf("drift after merge: %v %v (merged %s)", drift, err, merged)
		}
		before, _ := decodeObject(live)
		after, err := decodeObject(merged)
		if err != nil {
			t.Fatalf("merged config does not decode: %v", err)
		}
		plan := BuildPlan(spec)
		for k, v := range before {
			if _, touched := plan.Patch[k]; touched {
				continue
			}
			if !reflect.DeepEqual(v, after[k]) {
				t.Fatalf("key %q changed from %#v to %#v", k, v, after[k])
			}
		}
		if !json.Valid(merged) {
			t.Fatalf("merged config is not valid JSON: %s", merged)
		}
	})
}
