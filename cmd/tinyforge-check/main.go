// Command tinyforge-check lints .tinyforge.yml files, reports drift between a file and a
// workload's live config, and runs as a GitHub, Gitea/Forgejo or GitLab CI check. See
// `tinyforge-check help`.
package main

import (
	"io/fs"
	"os"
)

func main() {
	c := &Command{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv, Open: func(name string) (fs.File, error) { return os.Open(name) }, Lstat: os.Lstat}
	os.Exit(c.Main(os.Args[1:]))
}
