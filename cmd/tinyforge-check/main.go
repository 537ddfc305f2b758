// Command tinyforge-check lints .tinyforge.yml files, reports drift between a file and a
// workload's live config, and runs as a GitHub, Gitea/Forgejo or GitLab CI check. See
// `tinyforge-check help`.
package main

import (
	"io"
	"io/fs"
	"os"

	"github.com/mattn/go-isatty"
)

func main() {
	c := &Command{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv, Open: func(name string) (fs.File, error) { return os.Open(name) }, Lstat: os.Lstat,
		IsTerminal: isTerminal}
	os.Exit(c.Main(os.Args[1:]))
}

// isTerminal reports whether w is a file descriptor open on a terminal (a Cygwin or MSYS
// terminal on Windows too).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	return isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())
}
