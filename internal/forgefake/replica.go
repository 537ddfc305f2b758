package forgefake

import (
	"net/http"
	"slices"
	"time"
)

// replicaState is the comments and issues of every repository as they were at one moment: what
// a read replica lagging Options.ReadLag serves.
type replicaState struct {
	at    time.Time
	repos map[string]replicaRepo // by lower-case owner/name, as core.repos
}

// replicaRepo is one repository's comments and issues in a replicaState: copies, never written.
type replicaRepo struct {
	comments map[int][]*Comment
	issues   map[int]*issueState
}

// snapshot records the comments and issues as they are now, for the reads ReadLag later; it
// does nothing without ReadLag. The caller holds c.mu.
func (c *core) snapshot() {
	if c.opts.ReadLag <= 0 {
		return
	}
	now := time.Now()
	st := replicaState{at: now, repos: map[string]replicaRepo{}}
	for k, rp := range c.repos {
		r := replicaRepo{comments: map[int][]*Comment{}, issues: map[int]*issueState{}}
		for n, cs := range rp.comments {
			for _, cm := range cs {
				cp := *cm
				r.comments[n] = append(r.comments[n], &cp)
			}
		}
		for n, is := range rp.issues {
			cp := *is
			cp.Labels = slices.Clone(is.Labels)
			r.issues[n] = &cp
		}
		st.repos[k] = r
	}
	// Keep only what a read can still be served: the newest state at least ReadLag old, and
	// every later one.
	keep := 0
	for i, old := range c.replica {
		if now.Sub(old.at) >= c.opts.ReadLag {
			keep = i
		}
	}
	c.replica = append(c.replica[keep:], st)
}

// lagged is what a GET of r sees of rp (the repository at key): rp itself without ReadLag or
// for any other method; else rp with the comments and issues of the newest state at least
// ReadLag old (none before the first). The caller holds c.mu.
func (c *core) lagged(r *http.Request, key string, rp *repo) *repo {
	if rp == nil || c.opts.ReadLag <= 0 || r.Method != http.MethodGet {
		return rp
	}
	view := *rp
	view.comments, view.issues = map[int][]*Comment{}, map[int]*issueState{}
	cutoff := time.Now().Add(-c.opts.ReadLag)
	for _, st := range c.replica {
		if st.at.After(cutoff) {
			break
		}
		if old, ok := st.repos[key]; ok {
			view.comments, view.issues = old.comments, old.issues
		}
	}
	return &view
}
