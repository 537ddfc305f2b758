package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"time"

	"github.com/tinyforge/tinyforge-check/checker"
	"github.com/tinyforge/tinyforge-check/gitops"
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

// tinyforgeLive reads a workload's live source_config and source type from Tinyforge
// (GET /api/workloads/{id}, after GET /api/workloads?name= for a name). The workload's source
// type wins over --source-type.
func (c *Command) tinyforgeLive(url, workload, sourceType string) (json.RawMessage, string, error) {
	client, err := c.tinyforgeClient(url)
	if err != nil {
		return nil, "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), driftDeadline)
	defer cancel()
	w, err := client.FindWorkload(ctx, workload)
	if err != nil {
		return nil, "", err
	}
	if !gitops.SupportsGitOps(w.SourceType) {
		return nil, "", fmt.Errorf("workload %q has source type %q, which cannot use GitOps: only dockerfile and static workloads can", w.Name, w.SourceType)
	}
	if sourceType != "" && sourceType != w.SourceType {
		fmt.Fprintf(c.Stderr, "tinyforge-check drift: --source-type %s ignored: the workload's source type is %s\n", sourceType, w.SourceType)
	}
	cfg := w.SourceConfig
	if len(cfg) == 0 {
		cfg = json.RawMessage("{}")
	}
	return cfg, w.SourceType, nil
}

// staticLive is a LiveSource holding one workload read from a --live file.
type staticLive struct{ w checker.Workload }

func (s staticLive) GetWorkload(context.Context, int64) (*checker.Workload, error) {
	w := s.w
	return &w, nil
}

func (s staticLive) FindWorkload(context.Context, string) (int64, error) { return s.w.ID, nil }

// oneFileFS serves one file, under the name the report shows, from the command's Open.
type oneFileFS struct {
	name, path string
	open       func(string) (fs.File, error)
}

func (f oneFileFS) Open(name string) (fs.File, error) {
	if name != f.name {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return f.open(f.path)
}

// driftMarkdown prints the comment the action would post for path against the live config,
// running the same checker as the action.
func (c *Command) driftMarkdown(path, live, url, workload, sourceType string) int {
	if path == "-" {
		return c.usageError("drift", "--format markdown needs a file path, not standard input")
	}
	name := filepath.ToSlash(filepath.Clean(path))
	if !fs.ValidPath(name) {
		name = filepath.Base(path)
	}
	chk := &checker.Checker{Workspace: oneFileFS{name: name, path: path, open: c.Open}}
	in := checker.Inputs{Path: name, Workload: "local", SourceType: sourceType, Comment: checker.CommentNever,
		FailOn: checker.FailOn{Invalid: true, Drift: true, Error: true}}
	var secrets []string
	if url != "" {
		client, err := c.tinyforgeClient(url)
		if err != nil {
			fmt.Fprintf(c.Stderr, "tinyforge-check drift: %v\n", err)
			return ExitError
		}
		secrets = append(secrets, strings.TrimSpace(c.Getenv("TINYFORGE_TOKEN")))
		chk.Live, in.Workload = liveSource{client}, workload
	} else {
		cfg, err := c.readLive(live)
		if err != nil {
			fmt.Fprintf(c.Stderr, "tinyforge-check drift: %v\n", err)
			return ExitError
		}
		chk.Live = staticLive{checker.Workload{SourceType: sourceType, SourceConfig: cfg, GitOpsEnabled: true}}
	}
	in.Secrets = secrets
	ctx, cancel := context.WithTimeout(context.Background(), driftDeadline)
	defer cancel()
	r, err := chk.Run(ctx, in)
	if err != nil {
		return c.usageError("drift", "%v", err)
	}
	if r.Verdict == checker.VerdictError {
		fmt.Fprintln(c.Stderr, checker.Neutralize("tinyforge-check drift: "+r.Reason))
	}
	fmt.Fprint(c.Stdout, checker.Redact(checker.RenderComment(r), secrets))
	return r.ExitCode()
}
