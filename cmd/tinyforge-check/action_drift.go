package main

import (
	"context"
	"errors"
	"io/fs"
	"path/filepath"
	"strings"
	"time"

	"github.com/tinyforge/tinyforge-check/checker"
	"github.com/tinyforge/tinyforge-check/gitops"
	"github.com/tinyforge/tinyforge-check/internal/checkwire"
	"github.com/tinyforge/tinyforge-check/providers"
	"github.com/tinyforge/tinyforge-check/tinyforge"
)

// driftDeadline bounds the drift command's calls to Tinyforge.
const driftDeadline = 30 * time.Second

// checkLiveSource validates the drift command's live source: --live FILE, or --tinyforge-url
// with --workload.
func checkLiveSource(live, tinyforgeURL, workload string) error {
	switch {
	case live != "" && tinyforgeURL != "":
		return errors.New("give --live FILE.json or --tinyforge-url URL, not both")
	case live == "" && tinyforgeURL == "":
		return errors.New("--live FILE.json is required, or --tinyforge-url URL --workload ID|NAME: the live source_config to compare with")
	case tinyforgeURL != "" && strings.TrimSpace(workload) == "":
		return errors.New("--tinyforge-url needs --workload ID|NAME")
	case tinyforgeURL == "" && workload != "":
		return errors.New("--workload needs --tinyforge-url")
	}
	return nil
}

// tinyforgeClient builds a Tinyforge client with the token from TINYFORGE_TOKEN.
func (c *Command) tinyforgeClient(url string) (*tinyforge.Client, error) {
	token := strings.TrimSpace(c.Getenv("TINYFORGE_TOKEN"))
	if token == "" {
		return nil, errors.New("TINYFORGE_TOKEN is empty: export a Tinyforge viewer token to read the live config")
	}
	return tinyforge.NewClient(url, token, providers.NewHTTPClient(providers.HTTPConfig{}))
}

// staticLive is a LiveSource holding one workload read from a --live file.
type staticLive struct{ w checker.Workload }

func (s staticLive) GetWorkload(context.Context, int64) (*checker.Workload, error) {
	w := s.w
	return &w, nil
}

func (s staticLive) FindWorkload(ctx context.Context, _ string) (*checker.Workload, error) {
	return s.GetWorkload(ctx, s.w.ID)
}

// oneFileFS serves one file, under the name the report shows, through the command's Open and
// Lstat (so a symlink is seen as one and never followed).
type oneFileFS struct {
	name, path string
	c          *Command
}

func (f oneFileFS) Open(name string) (fs.File, error) {
	if name != f.name {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return f.c.Open(f.path)
}

func (f oneFileFS) Lstat(name string) (fs.FileInfo, error) {
	if name != f.name {
		return nil, &fs.PathError{Op: "lstat", Path: name, Err: fs.ErrNotExist}
	}
	return f.c.Lstat(f.path)
}

func (f oneFileFS) ReadLink(name string) (string, error) {
	return "", &fs.PathError{Op: "readlink", Path: name, Err: fs.ErrInvalid}
}

// driftCheck runs the action's checker for the drift command: the file at path ("" means the
// GitOps path set in Tinyforge, else .tinyforge.yml) against a --live file or a Tinyforge
// workload. It returns the report and the secrets to redact, or nil and an exit code.
func (c *Command) driftCheck(path, live, url, workload, sourceType string) (*checker.Report, []string, int) {
	if path == "-" {
		return nil, nil, c.usageError("drift", "drift needs a file path, not standard input")
	}
	in := checker.Inputs{Workload: "local", SourceType: sourceType, Comment: checker.CommentNever,
		FailOn: checker.FailOn{Invalid: true, Drift: true, Error: true}}
	if path == "" && url == "" {
		path = gitops.DefaultPath
	}
	chk := &checker.Checker{}
	if path != "" {
		name := filepath.ToSlash(filepath.Clean(path))
		if !fs.ValidPath(name) {
			name = filepath.Base(path)
		}
		chk.Workspace, in.Path = oneFileFS{name: name, path: path, c: c}, name
	} else {
		chk.Workspace = cwdFS{c}
	}
	var secrets []string
	if url != "" {
		client, err := c.tinyforgeClient(url)
		if err != nil { // no token, or a URL that is none: the command line's mistake
			return nil, nil, c.usageError("drift", "%v", err)
		}
		secrets = append(secrets, strings.TrimSpace(c.Getenv("TINYFORGE_TOKEN")))
		chk.Live, in.Workload, in.WorkloadSetting = checkwire.Live(client), workload, "--workload"
	} else {
		cfg, err := c.readLive(live)
		if err != nil { // a --live file that is missing or no JSON object: the command line's mistake
			return nil, nil, c.usageError("drift", "%v", err)
		}
		chk.Live = staticLive{checker.Workload{SourceType: sourceType, SourceConfig: cfg, GitOpsEnabled: true}}
	}
	in.Secrets = secrets
	ctx, cancel := context.WithTimeout(context.Background(), driftDeadline)
	defer cancel()
	r, err := chk.Run(ctx, in)
	if err != nil {
		return nil, nil, c.usageError("drift", "%v", err)
	}
	return r, secrets, 0
}

// cwdFS serves files relative to the current directory through the command's Open and Lstat,
// for a path the checker takes from Tinyforge.
type cwdFS struct{ c *Command }

func (f cwdFS) Open(name string) (fs.File, error)      { return f.c.Open(filepath.FromSlash(name)) }
func (f cwdFS) Lstat(name string) (fs.FileInfo, error) { return f.c.Lstat(filepath.FromSlash(name)) }
func (f cwdFS) ReadLink(name string) (string, error) {
	return "", &fs.PathError{Op: "readlink", Path: name, Err: fs.ErrInvalid}
}
