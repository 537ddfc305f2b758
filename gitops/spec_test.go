package gitops

import (
	"bufio"
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the .out golden files under testdata/invalid")

// sourceTypeOf reads the "# source-type: T" first line a testdata file may carry.
func sourceTypeOf(data []byte) string {
	line, _, _ := bytes.Cut(data, []byte("\n"))
	if t, ok := bytes.CutPrefix(line, []byte("# source-type: ")); ok {
		return string(bytes.TrimSpace(t))
	}
	return ""
}

func render(name string, diags Diagnostics) string {
	var b strings.Builder
	for _, d := range diags {
		b.WriteString(d.Format(name) + "\n")
	}
	return b.String()
}

func TestValidFilesLintClean(t *testing.T) {
	files, err := filepath.Glob("../testdata/valid/*.yml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata/valid files: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			spec, diags := Lint(data, sourceTypeOf(data))
			if len(diags) != 0 {
				t.Errorf("want no diagnostics, got:\n%s", render(filepath.Base(f), diags))
			}
			if spec == nil || spec.Version != 1 {
				t.Errorf("want a version 1 spec, got %+v", spec)
			}
		})
	}
}

func TestInvalidFilesGolden(t *testing.T) {
	files, err := filepath.Glob("../testdata/invalid/*.yml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata/invalid files: %v", err)
	}
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			spec, diags := Lint(data, sourceTypeOf(data))
			got := render(name, diags)
			golden := strings.TrimSuffix(f, ".yml") + ".out"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("read golden (run go test ./gitops -update to create it): %v", err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("diagnostics mismatch (-want +got):\n%s", diff)
			}
			if len(diags) == 0 {
				t.Errorf("an invalid/ file must produce at least one diagnostic")
			}
			if diags.HasErrors() != (spec == nil) {
				t.Errorf("spec must be nil exactly when there are errors; errors=%v spec=%v", diags.HasErrors(), spec)
			}
			// Every diagnostic names its rule with a code and points into the file (or at 0:0).
			lines := len(splitLines(data))
			for _, d := range diags {
				if d.Code == "" || d.Message == "" {
					t.Errorf("diagnostic without code or message: %+v", d)
				}
				if d.Line < 0 || d.Line > lines || (d.Line == 0) != (d.Column == 0) {
					t.Errorf("diagnostic position out of the file: %+v", d)
				}
			}
		})
	}
}

// TestGoldenFilesHaveSources guards against a stale .out whose .yml was removed.
func TestGoldenFilesHaveSources(t *testing.T) {
	outs, _ := filepath.Glob("../testdata/invalid/*.out")
	for _, o := range outs {
		if _, err := os.Stat(strings.TrimSuffix(o, ".out") + ".yml"); err != nil {
			t.Errorf("%s has no .yml beside it", o)
		}
		f, err := os.Open(o)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if !strings.HasPrefix(sc.Text(), filepath.Base(strings.TrimSuffix(o, ".out"))+".yml:") {
				t.Errorf("%s: line does not start with the file name: %q", o, sc.Text())
			}
		}
		f.Close()
	}
}

// TestSourceLines: lines are numbered as diagnostics number them, after the byte order mark.
func TestSourceLines(t *testing.T) {
	var got []string
	for _, l := range SourceLines([]byte("\ufeffa: 1\r\nb: 2\rc: 3\n")) {
		got = append(got, string(l))
	}
	if diff := cmp.Diff([]string{"a: 1", "b: 2", "c: 3", ""}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
