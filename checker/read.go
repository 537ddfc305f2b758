package checker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"sync"

	"github.com/tinyforge/tinyforge-check/forge"
	"github.com/tinyforge/tinyforge-check/gitops"
)

// startHead starts reading this branch's file. A run with a Workspace (the lint and drift
// commands on a developer's machine) reads the checkout as it is. A run without one (the action)
// reads the file the commit it reports on holds, through the forge API at Event.headSHA: the PR
// head on pull request events (never the test-merge commit a pull_request workspace holds), the
// pushed commit otherwise. So a file an earlier step wrote or changed in the workspace is never
// read, and what the comment shows is what the status is set on. pull_request_target reads the
// PR head through the API even with a Workspace, which holds the base branch there.
func (c *Checker) startHead(ctx context.Context, ev Event, path string, files *fileReads) *fileRead {
	if c.Workspace != nil && ev.Name != EventPullRequestTarget {
		return doneRead(readWorkspace(c.Workspace, path))
	}
	sha := ev.headSHA()
	switch {
	case c.Files != nil && sha != "":
		return files.start(ctx, sha, path)
	case ev.Name == EventPullRequestTarget:
		return doneRead(nil, errors.New("pull_request_target needs the forge API and the PR head commit to read the PR's file: give the token input"))
	case c.Files == nil:
		return doneRead(nil, errors.New("no forge API to read the committed file from: give the token input (the check reads the file at the commit it reports on, never the workspace)"))
	}
	return doneRead(nil, errors.New("no commit to read the file at: the event names none"))
}

// fileRead is one file read started ahead of its use; done is closed when data and err are set.
type fileRead struct {
	done chan struct{}
	data []byte
	err  error
}

// doneRead is a fileRead that has already finished.
func doneRead(data []byte, err error) *fileRead {
	fr := &fileRead{done: make(chan struct{}), data: data, err: err}
	close(fr.done)
	return fr
}

// wait returns the read's result, or ctx's error if ctx ends first.
func (fr *fileRead) wait(ctx context.Context) ([]byte, error) {
	select {
	case <-fr.done:
		return fr.data, fr.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// fileReads starts each (ref, path) read through the forge API once, in the background, so
// reads that do not depend on each other share one round trip. The zero value with files set is
// ready; a nil files answers every read with an error.
type fileReads struct {
	files FileReader
	mu    sync.Mutex
	reads map[[2]string]*fileRead
}

// start begins reading path at ref unless that read already began, and returns it.
func (f *fileReads) start(ctx context.Context, ref, path string) *fileRead {
	if f.files == nil {
		return doneRead(nil, errors.New("no forge API to read the file from: give the token input"))
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	key := [2]string{ref, path}
	if fr, ok := f.reads[key]; ok {
		return fr
	}
	if f.reads == nil {
		f.reads = map[[2]string]*fileRead{}
	}
	fr := &fileRead{done: make(chan struct{})}
	f.reads[key] = fr
	go func() {
		defer close(fr.done)
		fr.data, fr.err = f.files.ReadFile(ctx, ref, path)
	}()
	return fr
}

// readWorkspace reads path from the checkout, refusing anything but a regular file.
func readWorkspace(fsys fs.FS, path string) ([]byte, error) {
	// Lstat before opening: a symlink (perhaps to /proc/self/environ) is never followed, and a
	// pipe or device is never opened (opening a FIFO would block).
	st, err := fs.Lstat(fsys, path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", path, forge.ErrFileNotFound)
	}
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		return nil, fmt.Errorf("%s is a directory: point the path input at the YAML file", path)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: %w", path, ErrNotRegularFile)
	}
	f, err := fsys.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", path, forge.ErrFileNotFound)
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// One byte past the limit lets gitops.Lint report the size.
	data, err := io.ReadAll(io.LimitReader(f, gitops.MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if data == nil {
		data = []byte{}
	}
	return data, nil
}

// headFile is what a finished read of this branch's file gives the report: the file (nil when
// there is none; empty when there is one the check cannot read as a file), its blob SHA, and the
// diagnostic that says why it cannot be read. readErr is any other read failure: the check
// cannot go on.
func headFile(data []byte, err error) (file []byte, sha string, diags gitops.Diagnostics, readErr error) {
	switch {
	case errors.Is(err, forge.ErrFileNotFound):
		return nil, "", nil, nil
	case errors.Is(err, forge.ErrFileTooLarge):
		return []byte{}, "", gitops.Diagnostics{{Severity: gitops.SeverityError, Code: "file-too-large",
			Message: fmt.Sprintf("the file is larger than the limit of %d bytes (64 KiB)", gitops.MaxFileSize)}}, nil
	case errors.Is(err, ErrNotRegularFile):
		return []byte{}, "", gitops.Diagnostics{gitops.NotRegularFile()}, nil
	case err != nil:
		return nil, "", nil, err
	}
	return data, gitops.FileSHA(data), nil, nil
}
