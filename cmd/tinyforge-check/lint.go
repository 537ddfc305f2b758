package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"golang.org/x/text/width"

	"github.com/tinyforge/tinyforge-check/checker"
	"github.com/tinyforge/tinyforge-check/gitops"
)

const lintUsage = `Usage: tinyforge-check lint [--source-type T] [--format text|json|github|sarif] [--color WHEN] [PATH...]

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

On a terminal, the text format also shows each problem's source line with a caret under its
column, in colour unless NO_COLOR is set or TERM is dumb; --color always does the same into a
pipe, --color never drops the colour. Output that is not a terminal is the plain lines above.

Exit codes: 0 every file valid (warnings allowed), 1 a file is invalid or missing, 2 usage error,
3 a file could not be read.
`

// fileResult is the lint outcome of one file, in the JSON shape of docs/design.md (The check).
type fileResult struct {
	Path        string             `json:"path"`
	Valid       bool               `json:"valid"`
	Diagnostics gitops.Diagnostics `json:"diagnostics"`
	// source is the file's content, kept only when the text format shows source snippets.
	source []byte
}

func (c *Command) runLint(args []string) int {
	fs := c.newFlagSet("lint", lintUsage)
	report := addReportFlags(fs, "the workload's source type, dockerfile or static; enables the source-aware rules",
		"output format: text, json, github or sarif", "text", "json", "github", "sarif")
	paths, code, ok := c.parseFlags(fs, args)
	if !ok {
		return code
	}
	if err := report.check(); err != nil {
		return c.usageError("lint", "%v", err)
	}
	style := c.textStyle(*report.color)
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
		r, err := c.lintFile(path, *report.sourceType)
		if err != nil {
			fmt.Fprintf(c.Stderr, "tinyforge-check lint: %v\n", err)
			exit = ExitError
			continue
		}
		if !r.Valid && exit == ExitOK {
			exit = ExitFailed
		}
		if *report.format != "text" || !style.snippets {
			r.source = nil
		}
		results = append(results, r)
	}
	if err := writeLint(c.Stdout, *report.format, style, results); err != nil {
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
	return fileResult{Path: path, Valid: !diags.HasErrors(), Diagnostics: diags, source: data}, nil
}

// writeLint prints lint results in a format; style applies to the text format only.
func writeLint(w io.Writer, format string, style textStyle, results []fileResult) error {
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
		lines := snippetLines(style, r.source)
		for _, d := range r.Diagnostics {
			writeDiagnostic(w, style, r.Path, lines, d)
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

// ANSI styles of the text format on a terminal, as actionlint uses them.
const (
	ansiReset  = "\x1b[0m"
	ansiBold   = "\x1b[1m"
	ansiRed    = "\x1b[1;31m"
	ansiYellow = "\x1b[1;33m"
	ansiGreen  = "\x1b[1;32m"
	ansiGray   = "\x1b[90m"
)

// snippetLines is the file src split into lines (gitops.SourceLines), once for all its
// diagnostics' snippets; nil when style shows no snippets or there is no file.
func snippetLines(style textStyle, src []byte) [][]byte {
	if !style.snippets || len(src) == 0 {
		return nil
	}
	return gitops.SourceLines(src)
}

// writeDiagnostic prints one diagnostic of the file at path in the text format: its line
// (textLine), in colour when style says so, then, when style shows snippets, the source line
// of lines (snippetLines) it points at with a caret under its column.
func writeDiagnostic(w io.Writer, style textStyle, path string, lines [][]byte, d gitops.Diagnostic) {
	line := textLine(path, d)
	if style.color {
		line = colorLine(line, path, d)
	}
	fmt.Fprintln(w, line)
	if style.snippets {
		fmt.Fprint(w, snippet(lines, d.Line, d.Column, style.color))
	}
}

// colorLine colours plain, the text line of d (textLine), like actionlint: the location in
// bold, the severity in red or yellow, the code in grey. It only inserts escape sequences of
// its own around parts of plain, whose text is already neutralized, so without them the line
// reads exactly as plain; a line whose parts it cannot find is returned as it is.
func colorLine(plain, path string, d gitops.Diagnostic) string {
	loc := checker.Neutralize(d.Location(path)) + ":"
	sev := string(d.Severity) + ":"
	code := "[" + checker.Neutralize(d.Code) + "]"
	rest, ok := strings.CutPrefix(plain, loc+" ")
	if !ok {
		return plain
	}
	if rest, ok = strings.CutPrefix(rest, sev+" "); !ok {
		return plain
	}
	msg, ok := strings.CutSuffix(rest, " "+code)
	if !ok {
		return plain
	}
	sevColor := ansiRed
	if d.Severity == gitops.SeverityWarning {
		sevColor = ansiYellow
	}
	return ansiBold + loc + ansiReset + " " + sevColor + sev + ansiReset + " " + msg + " " + ansiGray + code + ansiReset
}

// snippetWidth is how many characters of a source line a snippet shows at most, around the
// column.
const snippetWidth = 120

// snippet renders the 1-based line of a file's lines (snippetLines) as actionlint does,
// numbered in a gutter, with a caret under the 1-based column (counted in characters, as
// diagnostics are) and "~" under the rest of the token there:
//
//	  |
//	3 |   port: 70000
//	  |         ^~~~~
//
// The line is file content, so it is neutralized first (checker.Neutralize: control, format and
// other invisible characters become U+FFFD, a tab a space, one character for one so the caret
// stays in place) and can never carry an escape sequence or break the line. A line longer than
// snippetWidth is cut around the column, with "..." where text was left out. It returns ""
// when there is no such line (line 0 is a problem of the whole file; nil lines, no file) and
// no caret when the column is 0 or past the end of the line.
func snippet(lines [][]byte, line, column int, color bool) string {
	if line < 1 || line > len(lines) {
		return ""
	}
	text := []rune(checker.Neutralize(string(lines[line-1])))
	start, end := 0, len(text)
	if end > snippetWidth {
		start = max(0, min(column-1-snippetWidth/2, end-snippetWidth))
		end = start + snippetWidth
	}
	shown := string(text[start:end])
	lead := 0 // the width of what precedes text[start] on the shown line
	if start > 0 {
		shown, lead = "..."+shown, 3
	}
	if end < len(text) {
		shown += "..."
	}
	paint := func(style, s string) string {
		if !color {
			return s
		}
		return style + s + ansiReset
	}
	num := strconv.Itoa(line)
	gutter := strings.Repeat(" ", len(num)) + " |"
	var b strings.Builder
	b.WriteString(paint(ansiGray, gutter) + "\n")
	b.WriteString(paint(ansiGray, num+" |"))
	if shown != "" {
		b.WriteString(" " + shown)
	}
	b.WriteString("\n")
	if col := column - 1; column > 0 && col >= start && col <= end {
		token := 0
		for _, r := range text[col:end] {
			if unicode.IsSpace(r) {
				break
			}
			token++
		}
		for token > 1 && strings.ContainsRune(":,]}", text[col+token-1]) { // a key's colon, a flow collection's punctuation
			token--
		}
		tildes := max(0, displayWidth(text[col:col+token])-1)
		b.WriteString(paint(ansiGray, gutter) + " " + strings.Repeat(" ", lead+displayWidth(text[start:col])) +
			paint(ansiGreen, "^"+strings.Repeat("~", tildes)) + "\n")
	}
	return b.String()
}

// displayWidth is how many terminal cells rs takes: two for wide and full-width (East Asian)
// characters, none for combining marks, one for the rest.
func displayWidth(rs []rune) int {
	n := 0
	for _, r := range rs {
		switch {
		case unicode.In(r, unicode.Mn, unicode.Me):
		case width.LookupRune(r).Kind() == width.EastAsianWide || width.LookupRune(r).Kind() == width.EastAsianFullwidth:
			n += 2
		default:
			n++
		}
	}
	return n
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
