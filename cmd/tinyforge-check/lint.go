package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"sort"
	"strings"

	"github.com/tinyforge/tinyforge-check/checker"
	"github.com/tinyforge/tinyforge-check/gitops"
)

const lintUsage = `Usage: tinyforge-check lint [--source-type T] [--format text|json|github|sarif] [PATH...]

Lint .tinyforge.yml files against the schema (version 1: deploy.port, deploy.healthcheck,
deploy.deploy_strategy) and report every problem at once, each at its line and column. A PATH
that is a directory stands for every .tinyforge.yml and NAME.tinyforge.yml below it (not in
.git, node_modules or vendor); the default is the current directory; "-" reads standard input.

With --source-type static, port and healthcheck are errors: a static workload may declare only
deploy_strategy.

Formats:
  text    path:line:col: severity: message [code]   (one line per problem, then a summary
          line such as "2 files: 1 error, 1 warning"; a problem of the whole file has no line:col)
  json    {"files":[{"path","valid","diagnostics":[{"severity","line","column","field","code","message"}]}]}
  github  workflow commands (::error file=...,line=...,col=...::message) for annotations
  sarif   SARIF 2.1.0, for code scanning uploads

Exit codes: 0 every file valid (warnings allowed), 1 a file is invalid or missing, 2 usage error,
3 a file could not be read.
`

// fileResult is the lint outcome of one file, in the JSON shape of docs/design.md (The check).
type fileResult struct {
	Path        string             `json:"path"`
	Valid       bool               `json:"valid"`
	Diagnostics gitops.Diagnostics `json:"diagnostics"`
}

func (c *Command) runLint(args []string) int {
	fs := c.newFlagSet("lint", lintUsage)
	sourceType := fs.String("source-type", "", "the workload's source type, dockerfile or static; enables the source-aware rules")
	format := fs.String("format", "text", "output format: text, json, github or sarif")
	paths, code, ok := c.parseFlags(fs, args)
	if !ok {
		return code
	}
	if err := oneOf("format", *format, "text", "json", "github", "sarif"); err != nil {
		return c.usageError("lint", "%v", err)
	}
	if err := checkSourceType(*sourceType); err != nil {
		return c.usageError("lint", "%v", err)
	}
	if len(paths) == 0 {
		paths = []string{"."}
	}
	paths, err := c.expandPaths(paths)
	if err != nil {
		fmt.Fprintf(c.Stderr, "tinyforge-check lint: %v\n", err)
		return ExitError
	}
	results := make([]fileResult, 0, len(paths))
	exit := ExitOK
	for _, path := range paths {
		r, err := c.lintFile(path, *sourceType)
		if err != nil {
			fmt.Fprintf(c.Stderr, "tinyforge-check lint: %v\n", err)
			exit = ExitError
			continue
		}
		if !r.Valid && exit == ExitOK {
			exit = ExitFailed
		}
		results = append(results, r)
	}
	if err := writeLint(c.Stdout, *format, results); err != nil {
		fmt.Fprintf(c.Stderr, "tinyforge-check lint: %v\n", err)
		return ExitError
	}
	return exit
}

// lintFile lints one file. A missing file is a result (invalid, with a diagnostic), not an error;
// an unreadable one is an error.
func (c *Command) lintFile(path, sourceType string) (fileResult, error) {
	data, err := c.readSpecFile(path, gitops.MaxFileSize)
	if errors.Is(err, errNotFound) {
		return fileResult{Path: path, Diagnostics: gitops.Diagnostics{{
			Severity: gitops.SeverityError, Code: "no-file",
			Message: "the file does not exist; create it, or pass the path of your .tinyforge.yml",
		}}}, nil
	}
	if errors.Is(err, errNotRegular) {
		return fileResult{Path: path, Diagnostics: gitops.Diagnostics{gitops.NotRegularFile()}}, nil
	}
	if err != nil {
		return fileResult{}, err
	}
	_, diags := gitops.Lint(data, sourceType)
	if diags == nil {
		diags = gitops.Diagnostics{}
	}
	return fileResult{Path: path, Valid: !diags.HasErrors(), Diagnostics: diags}, nil
}

func writeLint(w io.Writer, format string, results []fileResult) error {
	switch format {
	case "json":
		return writeJSON(w, struct {
			Files []fileResult `json:"files"`
		}{results})
	case "github":
		for _, r := range results {
			for _, d := range r.Diagnostics {
				fmt.Fprintln(w, workflowCommand(r.Path, d))
			}
		}
		return nil
	case "sarif":
		return writeJSON(w, sarifLog(results))
	}
	errs, warns := 0, 0
	for _, r := range results {
		for _, d := range r.Diagnostics {
			fmt.Fprintln(w, textLine(r.Path, d))
			if d.Severity == gitops.SeverityWarning {
				warns++
			} else {
				errs++
			}
		}
	}
	fmt.Fprintln(w, lintSummary(len(results), errs, warns))
	return nil
}

// lintSummary is the text format's last line: "2 files: 3 errors, 1 warning", or
// "1 file: no problems".
func lintSummary(files, errs, warns int) string {
	n := func(k int, one, many string) string {
		if k == 1 {
			return "1 " + one
		}
		return fmt.Sprintf("%d %s", k, many)
	}
	var parts []string
	if errs > 0 {
		parts = append(parts, n(errs, "error", "errors"))
	}
	if warns > 0 {
		parts = append(parts, n(warns, "warning", "warnings"))
	}
	if len(parts) == 0 {
		parts = []string{"no problems"}
	}
	return n(files, "file", "files") + ": " + strings.Join(parts, ", ")
}

// expandPaths replaces each directory among paths by the .tinyforge.yml files below it (also
// *.tinyforge.yml and the .yaml spellings), walked in name order without following symbolic
// links or entering .git, node_modules and vendor. A directory holding none stands for its
// .tinyforge.yml, which is then reported missing. "-" (standard input) and files pass as given.
func (c *Command) expandPaths(paths []string) ([]string, error) {
	var out []string
	for _, p := range paths {
		if p == "-" {
			out = append(out, p)
			continue
		}
		st, err := c.Lstat(p)
		if err != nil || !st.IsDir() {
			out = append(out, p) // lintFile reports a missing or odd file
			continue
		}
		found, err := c.findSpecFiles(p)
		if err != nil {
			return nil, err
		}
		if len(found) == 0 {
			found = []string{filepath.Join(p, gitops.DefaultPath)}
		}
		out = append(out, found...)
	}
	return out, nil
}

func (c *Command) findSpecFiles(dir string) ([]string, error) {
	f, err := c.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("cannot read the directory %s: %w", dir, unwrapPathError(err))
	}
	rd, ok := f.(fs.ReadDirFile)
	if !ok {
		f.Close()
		return nil, fmt.Errorf("cannot list the directory %s", dir)
	}
	entries, err := rd.ReadDir(-1)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("cannot list the directory %s: %w", dir, unwrapPathError(err))
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	var out []string
	for _, e := range entries {
		name, p := e.Name(), filepath.Join(dir, e.Name())
		switch {
		case e.IsDir():
			if name == ".git" || name == "node_modules" || name == "vendor" {
				continue
			}
			sub, err := c.findSpecFiles(p)
			if err != nil {
				return nil, err
			}
			out = append(out, sub...)
		case isSpecName(name):
			out = append(out, p) // a symlink too: lintFile refuses it, visibly
		}
	}
	return out, nil
}

// isSpecName reports whether a file name is a Tinyforge config's: .tinyforge.yml, or
// NAME.tinyforge.yml for repos with several workloads, in either YAML spelling.
func isSpecName(name string) bool {
	for _, ext := range []string{".tinyforge.yml", ".tinyforge.yaml"} {
		if strings.HasSuffix(name, ext) {
			return true
		}
	}
	return false
}

// textLine formats a diagnostic as "path:line:col: severity: message [code]", neutralized so
// file content can never start a line of its own or form a workflow command.
func textLine(path string, d gitops.Diagnostic) string {
	return checker.Neutralize(d.Format(path))
}

// workflowCommand formats a diagnostic as a GitHub/Gitea workflow command annotation.
func workflowCommand(path string, d gitops.Diagnostic) string {
	level := "error"
	if d.Severity == gitops.SeverityWarning {
		level = "warning"
	}
	return checker.WorkflowCommand(level, checker.AnnotationProperties(path, d), d.Message+" ["+d.Code+"]")
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
