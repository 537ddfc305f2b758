package checker

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/tinyforge/tinyforge-check/forge"
)

// fakeLive is an in-memory Tinyforge: workloads by id, with an optional error for every call.
type fakeLive struct {
	workloads []*Workload
	err       error
	mu        sync.Mutex // the checker reads concurrently
	calls     []string
}

func (f *fakeLive) record(call string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call)
}

func (f *fakeLive) GetWorkload(_ context.Context, id int64) (*Workload, error) {
	f.record(fmt.Sprintf("get %d", id))
	if f.err != nil {
		return nil, f.err
	}
	for _, w := range f.workloads {
		if w.ID == id {
			c := *w
			return &c, nil
		}
	}
	return nil, fmt.Errorf("tinyforge: workload %d: 404: %w", id, forge.ErrNotFound)
}

func (f *fakeLive) FindWorkload(_ context.Context, name string) (*Workload, error) {
	f.record("find " + name)
	if f.err != nil {
		return nil, f.err
	}
	for _, w := range f.workloads {
		if w.Name == name {
			c := *w
			return &c, nil
		}
	}
	return nil, fmt.Errorf("tinyforge: no workload named %q: %w", name, forge.ErrNotFound)
}

// fakeFiles is a forge's file API: contents by "ref:path".
type fakeFiles struct {
	files map[string]string
	err   error
	mu    sync.Mutex // the checker reads concurrently
	calls []string
}

func (f *fakeFiles) ReadFile(_ context.Context, ref, path string) ([]byte, error) {
	f.mu.Lock()
	f.calls = append(f.calls, ref+":"+path)
	f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	s, ok := f.files[ref+":"+path]
	if !ok {
		return nil, fmt.Errorf("%s at %s: %w", path, ref, forge.ErrFileNotFound)
	}
	if s == "TOO-LARGE" {
		return nil, fmt.Errorf("%s at %s: %w", path, ref, forge.ErrFileTooLarge)
	}
	return []byte(s), nil
}

func (f *fakeFiles) sortedCalls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := append([]string(nil), f.calls...)
	sort.Strings(c)
	return c
}

// fakeStatus records statuses.
type fakeStatus struct {
	got []forge.CommitStatus
	err error
}

func (f *fakeStatus) SetStatus(_ context.Context, st forge.CommitStatus) error {
	if f.err != nil {
		return f.err
	}
	f.got = append(f.got, st)
	return nil
}

// fakeComments is one PR's sticky comment, behaving as the providers' upsert does.
type fakeComments struct {
	body    *string
	runID   int64
	got     []forge.CommentRequest
	err     error
	written int
}

func (f *fakeComments) UpsertComment(_ context.Context, req forge.CommentRequest) (forge.CommentResult, error) {
	f.got = append(f.got, req)
	if f.err != nil {
		return forge.CommentResult{}, f.err
	}
	url := fmt.Sprintf("https://forge.test/pr/%d#comment-1", req.Number)
	switch {
	case f.body == nil && req.UpdateOnly:
		return forge.CommentResult{Action: forge.CommentSkipped, Reason: "nothing to report"}, nil
	case f.body == nil:
		f.body, f.runID = &req.Body, req.RunID
		f.written++
		return forge.CommentResult{Action: forge.CommentCreated, URL: url}, nil
	case f.runID > req.RunID:
		return forge.CommentResult{Action: forge.CommentSkipped, URL: url, Reason: "a newer run owns the comment"}, nil
	case strings.TrimSpace(*f.body) == strings.TrimSpace(req.Body):
		return forge.CommentResult{Action: forge.CommentUnchanged, URL: url}, nil
	}
	f.body, f.runID = &req.Body, req.RunID
	f.written++
	return forge.CommentResult{Action: forge.CommentUpdated, URL: url}, nil
}
