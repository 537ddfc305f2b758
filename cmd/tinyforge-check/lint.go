package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/tinyforge/tinyforge-check/checker"
	"github.com/tinyforge/tinyforge-check/gitops"
)

const lintUsage = `Usage: tinyforge-check lint [--source-type T] [--format text|json|github|sarif] [PATH...]

Lint .tinyforge.yml files (default: ./.tinyforge.yml; "-" reads standard input) against the
schema (version 1: deploy.port, deploy.healthcheck, deploy.deploy_strategy) and report every
problem at once, each at its line and column.

With --source-type static, port and healthcheck are errors: a static workload may declare only
deploy_strategy.

Formats:
  text    path:line:col: severity: message [code]   (one line per problem; nothing when clean)
  json    {"files":[{"path","valid","diagnostics":[{"severity","line","column","field","code","message"}]}]}
  github  workflow commands (::error file=...,line=...,col=...::message) for annotations
  sarif   SARIF 2.1.0, for code scanning uploads

Exit codes: 0 every file valid (warnings allowed), 1 a file is invalid or missing, 2 usage error,
3 a file could not be read.
`

// fileResult is the lint outcome of one file, in the JSON shape of DESIGN §6.
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
		paths = []string{gitops.DefaultPath}
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
	for _, r := range results {
		for _, d := range r.Diagnostics {
			fmt.Fprintln(w, textLine(r.Path, d))
		}
	}
	return nil
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
