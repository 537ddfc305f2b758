package forgefake

import (
	"slices"
	"sort"
	"strings"
	"time"
)

// Issue is an issue held by a fake, as the test-side API shows it.
type Issue struct {
	Number int
	Author string
	Title  string
	Body   string
	Open   bool
	// Labels are the label names on the issue, in the order they were set.
	Labels []string
	// StateReason is GitHub's state_reason ("completed", "not_planned",
	// "reopened", "duplicate", or "" while it has none); always "" on Gitea
	// and GitLab.
	StateReason string
}

// firstIssueNumber is the number of a repository's first issue: issues never
// collide with the small PR numbers tests comment on.
const firstIssueNumber = 1000

// issueState is an issue with what the forges answer besides the Go view.
type issueState struct {
	Issue
	id       int64
	created  time.Time
	updated  time.Time
	closed   time.Time // zero while open
	closedBy string
}

// label is a repository label.
type label struct {
	id    int64
	name  string
	color string // six hex digits, no '#'
}

// defaultLabelColor is the color GitHub gives a label an issue creates.
const defaultLabelColor = "ededed"

// AddIssue stores an open issue by author (a human's, seeding state), creating
// the repository if needed, and returns its number.
func (c *core) AddIssue(owner, name, author, title, body string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	defer c.snapshot()
	return c.newIssue(c.repo(owner, name, true), author, title, body, nil).Number
}

// Issues returns copies of the issues of owner/name, by ascending number.
func (c *core) Issues(owner, name string) []Issue {
	c.mu.Lock()
	defer c.mu.Unlock()
	rp := c.repo(owner, name, false)
	if rp == nil {
		return nil
	}
	out := make([]Issue, 0, len(rp.issues))
	for _, is := range sortedIssues(rp) {
		cp := is.Issue
		cp.Labels = append([]string(nil), is.Labels...)
		out = append(out, cp)
	}
	return out
}

// newIssue stores an open issue with the given label names (each created on
// the repository if missing) and returns it; the caller holds mu. Issues are
// never deleted, so numbers run on from firstIssueNumber.
func (c *core) newIssue(rp *repo, author, title, body string, labels []string) *issueState {
	c.nextID++
	now := c.now()
	is := &issueState{Issue: Issue{Number: firstIssueNumber + len(rp.issues), Author: author, Title: title, Body: body, Open: true},
		id: c.nextID, created: now, updated: now}
	is.Labels = c.labelNames(rp, labels)
	rp.issues[is.Number] = is
	return is
}

// labelNames returns the names of the labels named (case-insensitively, the
// first spelling kept), creating the missing ones; the caller holds mu.
func (c *core) labelNames(rp *repo, names []string) []string {
	out := []string{}
	seen := map[string]bool{}
	for _, n := range names {
		n = strings.TrimSpace(n)
		if n == "" || seen[strings.ToLower(n)] {
			continue
		}
		seen[strings.ToLower(n)] = true
		out = append(out, c.ensureLabel(rp, n).name)
	}
	return out
}

// ensureLabel returns the repository's label named name (case-insensitively),
// creating it; the caller holds mu.
func (c *core) ensureLabel(rp *repo, name string) *label {
	if l := rp.labelNamed(name); l != nil {
		return l
	}
	c.nextID++
	l := &label{id: c.nextID, name: name, color: defaultLabelColor}
	rp.labels = append(rp.labels, l)
	return l
}

// labelNamed returns the label named name, case-insensitively, or nil.
func (rp *repo) labelNamed(name string) *label {
	for _, l := range rp.labels {
		if strings.EqualFold(l.name, name) {
			return l
		}
	}
	return nil
}

// labelByID returns the label with id, or nil.
func (rp *repo) labelByID(id int64) *label {
	for _, l := range rp.labels {
		if l.id == id {
			return l
		}
	}
	return nil
}

// setOpen opens or closes an issue at at as by, with GitHub's state_reason
// reason ("" on Gitea and GitLab). An issue already so is left alone, its
// reason too. The caller holds mu and bumps updated itself.
func (is *issueState) setOpen(open bool, by, reason string, at time.Time) {
	if is.Open == open {
		return
	}
	is.Open, is.StateReason = open, reason
	if open {
		is.closed, is.closedBy = time.Time{}, ""
	} else {
		is.closed, is.closedBy = at, by
	}
}

// hasLabels reports whether is carries every label of want
// (case-insensitively).
func (is *issueState) hasLabels(want []string) bool {
	for _, w := range want {
		if !containsFold(is.Labels, w) {
			return false
		}
	}
	return true
}

// containsFold reports whether list holds s, case-insensitively.
func containsFold(list []string, s string) bool {
	return slices.ContainsFunc(list, func(v string) bool { return strings.EqualFold(v, s) })
}

// sortedIssues returns a repository's issues by ascending number; the caller
// holds mu.
func sortedIssues(rp *repo) []*issueState {
	out := make([]*issueState, 0, len(rp.issues))
	for _, is := range rp.issues {
		out = append(out, is)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Number < out[j].Number })
	return out
}

// splitList splits a comma-separated query value, dropping empty items.
func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// pageOf returns the items of page (1-based) of size perPage.
func pageOf[T any](all []T, page, perPage int) []T {
	lo := (page - 1) * perPage
	if lo >= len(all) {
		return nil
	}
	return all[lo:min(len(all), lo+perPage)]
}

// renderPage renders the items of page (1-based) of size perPage, never nil.
func renderPage[T any](all []T, page, perPage int, render func(T) map[string]any) []map[string]any {
	out := []map[string]any{}
	for _, v := range pageOf(all, page, perPage) {
		out = append(out, render(v))
	}
	return out
}

// knownUser reports whether login (case-insensitively) is a user the fake has
// seen: a token's login, a repository owner, or the author of an issue or
// comment. The caller holds mu.
func (c *core) knownUser(login string) bool {
	for _, tk := range c.tokens {
		if strings.EqualFold(tk.Login, login) {
			return true
		}
	}
	for k, rp := range c.repos {
		if owner, _, _ := strings.Cut(k, "/"); strings.EqualFold(owner, login) {
			return true
		}
		for _, is := range rp.issues {
			if strings.EqualFold(is.Author, login) {
				return true
			}
		}
		for _, cs := range rp.comments {
			for _, cm := range cs {
				if strings.EqualFold(cm.Author, login) {
					return true
				}
			}
		}
	}
	return false
}

// issueFilter selects issues for a list: by state, by author (case-folded,
// "" for any) and by carrying all of labels.
type issueFilter struct {
	openOnly, closedOnly bool
	author               string
	labels               []string
	// noneAny reads a lone label "None" as "no labels" and "Any" as "some
	// label" (GitLab).
	noneAny bool
}

func (f issueFilter) match(is *issueState) bool {
	switch {
	case f.openOnly && !is.Open, f.closedOnly && is.Open,
		f.author != "" && !strings.EqualFold(is.Author, f.author):
		return false
	case f.noneAny && len(f.labels) == 1 && strings.EqualFold(f.labels[0], "None"):
		return len(is.Labels) == 0
	case f.noneAny && len(f.labels) == 1 && strings.EqualFold(f.labels[0], "Any"):
		return len(is.Labels) > 0
	}
	return is.hasLabels(f.labels)
}

// listIssues returns rp's issues that f selects, ordered by key (ties by
// number), ascending when asc.
func listIssues(rp *repo, f issueFilter, key func(*issueState) int64, asc bool) []*issueState {
	var all []*issueState
	for _, is := range rp.issues {
		if f.match(is) {
			all = append(all, is)
		}
	}
	sort.Slice(all, func(i, j int) bool {
		ki, kj := key(all[i]), key(all[j])
		if ki == kj {
			ki, kj = int64(all[i].Number), int64(all[j].Number)
		}
		if asc {
			return ki < kj
		}
		return ki > kj
	})
	return all
}
