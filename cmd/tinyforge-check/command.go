package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"strings"

	"github.com/tinyforge/tinyforge-check/internal/buildinfo"
	"github.com/tinyforge/tinyforge-check/schema"
)

// Exit codes of the CLI and the action (docs/design.md, The check).
const (
	// ExitOK: no fail-on condition happened.
	ExitOK = 0
	// ExitFailed: the file is invalid or missing, or drifts, and that condition is in fail-on.
	ExitFailed = 1
	// ExitUsage: the command line was wrong.
	ExitUsage = 2
	// ExitError: the check could not finish (unreadable file, Tinyforge or forge unreachable).
	ExitError = 3
)

// Command is the tinyforge-check program with its environment injected, so tests run it with
// their own streams, environment and files. Zero fields are not usable: main sets them all.
type Command struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Getenv reads an environment variable; the only way the program sees the environment.
	Getenv func(string) string
	// Open opens a file for reading; os.Open in production.
	Open func(string) (fs.File, error)
	// Lstat describes a file without following a symlink; os.Lstat in production. Files to
	// lint must be regular: a symlink is never followed, so a PR cannot point the check at the
	// runner's secrets.
	Lstat func(string) (fs.FileInfo, error)
	// IsTerminal reports whether w writes to a terminal, where the text format shows source
	// snippets and colour (see textStyle). nil means never: output for files, pipes and tests
	// stays plain.
	IsTerminal func(w io.Writer) bool
}

const mainUsage = `tinyforge-check lints .tinyforge.yml and shows how it differs from a Tinyforge
workload's live config.

Usage:
  tinyforge-check lint  [--source-type T] [--format text|json|github|sarif] [--color WHEN] [PATH...]
  tinyforge-check drift (--live FILE.json | --tinyforge-url URL --workload ID|NAME)
                        [--source-type T] [--format text|json|markdown] [--color WHEN] [PATH]
  tinyforge-check action     run as a CI check (the default under GITHUB_ACTIONS=true)
  tinyforge-check schema     print the JSON Schema of .tinyforge.yml, for editors
  tinyforge-check version
  tinyforge-check help [COMMAND]

Exit codes: 0 nothing to fail on, 1 invalid file, missing file or drift, 2 usage error,
3 the check could not finish. Run "tinyforge-check help COMMAND" for a command's flags.
`

// Main runs the program with args (without the program name) and returns its exit code.
func (c *Command) Main(args []string) int {
	if len(args) == 0 {
		if c.Getenv("GITHUB_ACTIONS") == "true" {
			if run, ok := c.subcommands()["action"]; ok {
				return run(nil)
			}
		}
		fmt.Fprint(c.Stderr, mainUsage)
		return ExitUsage
	}
	name, rest := args[0], args[1:]
	switch name {
	case "help", "-h", "-help", "--help":
		if len(rest) > 0 {
			if run, ok := c.subcommands()[rest[0]]; ok {
				return run([]string{"--help"})
			}
			return c.unknownCommand(rest[0])
		}
		fmt.Fprint(c.Stdout, mainUsage)
		return ExitOK
	case "version", "--version":
		fmt.Fprintln(c.Stdout, buildinfo.String("tinyforge-check"))
		return ExitOK
	}
	run, ok := c.subcommands()[name]
	if !ok {
		return c.unknownCommand(name)
	}
	return run(rest)
}

// unknownCommand reports a command name that is not one, like a bad flag: what is wrong in one
// line, then where the usage is. It returns ExitUsage.
func (c *Command) unknownCommand(name string) int {
	fmt.Fprintf(c.Stderr, "tinyforge-check: unknown command %q; the commands are lint, drift, action, schema, version and help\nRun \"tinyforge-check help\" for usage.\n", name)
	return ExitUsage
}

// subcommands maps each command name to its entry point.
func (c *Command) subcommands() map[string]func([]string) int {
	cmds := map[string]func([]string) int{
		"lint":   c.runLint,
		"drift":  c.runDrift,
		"action": c.runAction,
		"schema": c.runSchema,
	}
	return cmds
}

// newFlagSet returns a flag set that prints usage to stdout for --help and to stderr on error.
func (c *Command) newFlagSet(name, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {
		fmt.Fprint(c.Stdout, usage)
		n := 0
		fs.VisitAll(func(*flag.Flag) { n++ })
		if n == 0 { // action and schema take none: no empty heading
			return
		}
		fmt.Fprintln(c.Stdout, "\nFlags:")
		fs.SetOutput(c.Stdout)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
	return fs
}

// parseFlags parses args, flags and operands in any order ("lint a.yml --format json" works;
// after "--" everything is an operand). It returns the operands, and an exit code and false when
// the command must stop (help was shown, or the command line was wrong).
func (c *Command) parseFlags(fs *flag.FlagSet, args []string) ([]string, int, bool) {
	// The flag package prints the usage itself on -h and on every bad flag; the page is printed
	// here instead, once, on stdout for -h/--help only (a bad flag gets the error and a hint).
	usage := fs.Usage
	fs.Usage = func() {}
	defer func() { fs.Usage = usage }()
	var operands []string
	for {
		err := fs.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			usage()
			return nil, ExitOK, false
		}
		if err != nil {
			fmt.Fprintf(c.Stderr, "tinyforge-check %s: %v\nRun \"tinyforge-check help %s\" for usage.\n", fs.Name(), err, fs.Name())
			return nil, ExitUsage, false
		}
		rest := fs.Args()
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(operands, rest...), 0, true
		}
		if len(rest) == 0 {
			return operands, 0, true
		}
		operands = append(operands, rest[0])
		args = rest[1:]
	}
}

// parseNoOperands is parseFlags for a command that takes flags only: an operand is a usage
// error that says why. It returns an exit code and false when the command must stop.
func (c *Command) parseNoOperands(fs *flag.FlagSet, args []string, why string) (int, bool) {
	operands, code, ok := c.parseFlags(fs, args)
	if !ok {
		return code, false
	}
	if len(operands) > 0 {
		return c.usageError(fs.Name(), "%s", why), false
	}
	return 0, true
}

// usageError reports a bad command line and returns ExitUsage.
func (c *Command) usageError(cmd, format string, args ...any) int {
	fmt.Fprintf(c.Stderr, "tinyforge-check %s: %s\nRun \"tinyforge-check help %s\" for usage.\n", cmd, fmt.Sprintf(format, args...), cmd)
	return ExitUsage
}

// checkSourceType validates a --source-type value: "" (unknown), dockerfile or static.
func checkSourceType(t string) error {
	switch t {
	case "", "dockerfile", "static":
		return nil
	}
	return fmt.Errorf("source type %q cannot use GitOps: only dockerfile and static workloads read .tinyforge.yml", t)
}

// oneOf validates an enumerated flag value.
func oneOf(flagName, value string, allowed ...string) error {
	for _, a := range allowed {
		if value == a {
			return nil
		}
	}
	return fmt.Errorf("--%s must be one of %s, not %q", flagName, strings.Join(allowed, ", "), value)
}

// textStyle says how the text format renders diagnostics for a person at a terminal.
type textStyle struct {
	// snippets adds, under each positioned diagnostic, its source line and a caret under the
	// column, like actionlint.
	snippets bool
	// color adds ANSI colours.
	color bool
}

// textStyle decides how the text format is rendered from the --color flag's value: "auto"
// shows snippets when standard output is a terminal, in colour unless NO_COLOR is set to
// anything (https://no-color.org) or TERM is dumb; "never" keeps the snippets but drops the
// colour; "always" renders as for a terminal even into a pipe. Anything that is not a terminal
// gets the plain lines, byte for byte.
func (c *Command) textStyle(mode string) textStyle {
	tty := c.IsTerminal != nil && c.IsTerminal(c.Stdout)
	switch mode {
	case "always":
		return textStyle{snippets: true, color: true}
	case "never":
		return textStyle{snippets: tty}
	}
	return textStyle{snippets: tty, color: tty && c.Getenv("NO_COLOR") == "" && c.Getenv("TERM") != "dumb"}
}

// colorFlag adds the --color flag, auto, always or never (see textStyle), to a command's flags.
func colorFlag(fs *flag.FlagSet) *string {
	return fs.String("color", "auto", "`WHEN` the text format shows source snippets in colour: auto (on a terminal, no colour if NO_COLOR is set), always, or never (snippets on a terminal, no colour)")
}

// reportFlags are the flags lint and drift share: the workload's source type, the output
// format and --color.
type reportFlags struct {
	sourceType, format, color *string
	// formats are the command's output formats.
	formats []string
}

// addReportFlags adds --source-type, --format and --color to fs; formats are the command's
// output formats, the first the default.
func addReportFlags(fs *flag.FlagSet, sourceTypeUsage, formatUsage string, formats ...string) reportFlags {
	return reportFlags{
		sourceType: fs.String("source-type", "", sourceTypeUsage),
		format:     fs.String("format", formats[0], formatUsage),
		color:      colorFlag(fs),
		formats:    formats,
	}
}

// check validates the parsed values: the format, then --color, then the source type.
func (f reportFlags) check() error {
	if err := oneOf("format", *f.format, f.formats...); err != nil {
		return err
	}
	if err := oneOf("color", *f.color, "auto", "always", "never"); err != nil {
		return err
	}
	return checkSourceType(*f.sourceType)
}

// errNotFound marks a file that does not exist.
var errNotFound = errors.New("file not found")

// errNotRegular marks a symlink, device or pipe, which is never read.
var errNotRegular = errors.New("not a regular file")

// unwrapPathError drops the *fs.PathError wrapper, whose text repeats the path.
func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// readSpecFile reads a file to lint, or standard input for "-". Files over the size limit are
// cut at limit+1 bytes so the parser reports them without holding them whole.
func (c *Command) readSpecFile(path string, limit int) ([]byte, error) {
	if path == "-" {
		return io.ReadAll(io.LimitReader(c.Stdin, int64(limit)+1))
	}
	st, err := c.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", path, errNotFound)
	}
	if err == nil && !st.IsDir() && !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: %w", path, errNotRegular)
	}
	f, err := c.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", path, errNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("cannot open %s: %w", path, unwrapPathError(err))
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.IsDir() {
		return nil, fmt.Errorf("%s is a directory; pass the path of a file", path)
	}
	data, err := io.ReadAll(io.LimitReader(f, int64(limit)+1))
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", path, unwrapPathError(err))
	}
	return data, nil
}

const schemaUsage = `Usage: tinyforge-check schema > tinyforge.schema.json

Print the JSON Schema (draft 2020-12) of .tinyforge.yml that editors use to complete and explain
its fields; docs/editors.md shows how to wire it into VS Code, Neovim, Helix and JetBrains. The
schema cannot express every rule: run "tinyforge-check lint" for the authoritative answer.
`

func (c *Command) runSchema(args []string) int {
	if code, ok := c.parseNoOperands(c.newFlagSet("schema", schemaUsage), args, "schema takes no arguments"); !ok {
		return code
	}
	if _, err := c.Stdout.Write(schema.JSON()); err != nil {
		fmt.Fprintf(c.Stderr, "tinyforge-check schema: %v\n", err)
		return ExitError
	}
	return ExitOK
}
