package forgefake

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// GitLab is a stateful fake of the GitLab REST API v4 (under /api/v4),
// following GitLab's REST documentation (GitLab publishes no complete
// machine-readable description, so nothing is validated against a spec).
// Projects are addressed by URL-encoded path; notes and issues are paginated
// with X-Total, X-Total-Pages, X-Page, X-Next-Page and Link headers (per_page
// up to 100, default 20); tokens are read from PRIVATE-TOKEN, JOB-TOKEN or a
// Bearer Authorization. Issues and merge requests share the notes store
// keyed by iid (issues start at 1000, so tests' merge request iids never
// meet them); labels an issue names are created.
type GitLab struct {
	*core
}

// NewGitLab starts a fake GitLab.
func NewGitLab(t Owner, opts Options) *GitLab {
	g := &GitLab{core: newCore(t, "gitlab", opts)}
	mux := http.NewServeMux()
	const p = "/api/v4/projects/{project}"
	mux.HandleFunc("GET /api/v4/user", g.user)
	mux.HandleFunc("POST "+p+"/statuses/{sha}", g.createStatus)
	mux.HandleFunc("GET "+p+"/issues", g.listIssues)
	mux.HandleFunc("POST "+p+"/issues", g.createIssue)
	mux.HandleFunc("GET "+p+"/issues/{iid}", g.getIssue)
	mux.HandleFunc("PUT "+p+"/issues/{iid}", g.editIssue)
	mux.HandleFunc("GET "+p+"/issues/{iid}/notes", g.listNotes)
	mux.HandleFunc("POST "+p+"/issues/{iid}/notes", g.createNote)
	mux.HandleFunc("GET "+p+"/merge_requests/{iid}/notes", g.listNotes)
	mux.HandleFunc("POST "+p+"/merge_requests/{iid}/notes", g.createNote)
	mux.HandleFunc("PUT "+p+"/merge_requests/{iid}/notes/{id}", g.editNote)
	mux.HandleFunc("DELETE "+p+"/merge_requests/{iid}/notes/{id}", g.deleteNote)
	mux.HandleFunc("GET "+p+"/repository/files/{path}/raw", g.raw)
	mux.HandleFunc("GET "+p+"/repository/branches/{branch}", g.branch)
	mux.HandleFunc("GET "+p+"/repository/commits/{sha}/merge_requests", g.commitMergeRequests)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { glError(w, http.StatusNotFound, "404 Not Found") })
	g.start(mux)
	return g
}

func glError(w http.ResponseWriter, status int, msg string) {
	writeValue(w, status, map[string]any{"message": msg})
}

// gitlabStates are the states POST /projects/:id/statuses/:sha accepts.
func gitlabStates() []string {
	return []string{"pending", "running", "success", "failed", "canceled", "skipped"}
}

func (g *GitLab) auth(w http.ResponseWriter, r *http.Request, write bool) (Token, bool) {
	return g.authorize(w, r, write, glError, "401 Unauthorized", "403 Forbidden")
}

func (g *GitLab) project(w http.ResponseWriter, r *http.Request) (*repo, bool) {
	p := r.PathValue("project") // unescaped: "group/sub/name"
	var rp *repo
	if i := strings.LastIndex(p, "/"); i > 0 {
		rp = g.lagged(r, strings.ToLower(p), g.repo(p[:i], p[i+1:], false))
	}
	if rp == nil {
		glError(w, http.StatusNotFound, "404 Project Not Found")
		return nil, false
	}
	return rp, true
}

// lockProject locks mu and returns the request's project (with notes, one
// whose notes may be read or written); otherwise it unlocks mu, answers and
// returns false.
func (g *GitLab) lockProject(w http.ResponseWriter, r *http.Request, notes bool) (*repo, bool) {
	g.mu.Lock()
	rp, ok := g.project(w, r)
	if !ok || (notes && !glNoteable(w, r, rp)) {
		g.mu.Unlock()
		return nil, false
	}
	return rp, true
}

func glUser(base, login string) map[string]any {
	return map[string]any{"id": loginID(login), "username": login, "name": login, "state": "active",
		"avatar_url": base + "/uploads/" + login, "web_url": base + "/" + login}
}

func (g *GitLab) base(r *http.Request) string { return baseURL(r) }

func (g *GitLab) user(w http.ResponseWriter, r *http.Request) {
	tk, ok := g.auth(w, r, false)
	if !ok {
		return
	}
	writeValue(w, http.StatusOK, glUser(g.base(r), tk.Login))
}

func (g *GitLab) createStatus(w http.ResponseWriter, r *http.Request) {
	tk, ok := g.auth(w, r, true)
	if !ok {
		return
	}
	var in struct {
		State       string `json:"state"`
		Name        string `json:"name"`
		Context     string `json:"context"`
		TargetURL   string `json:"target_url"`
		Description string `json:"description"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		glError(w, http.StatusBadRequest, "400 Bad request - invalid JSON")
		return
	}
	valid := false
	for _, s := range gitlabStates() {
		valid = valid || s == in.State
	}
	if !valid {
		glError(w, http.StatusBadRequest, "state does not have a valid value")
		return
	}
	if in.Name == "" {
		in.Name = in.Context
	}
	if in.Name == "" {
		in.Name = "default"
	}
	rp, ok := g.lockProject(w, r, false)
	if !ok {
		return
	}
	sha := r.PathValue("sha")
	if rp.commits[sha] == nil {
		g.mu.Unlock()
		glError(w, http.StatusNotFound, "404 References for commit Not Found")
		return
	}
	g.nextID++
	st := &Status{ID: g.nextID, State: in.State, Context: in.Name, Description: in.Description, TargetURL: in.TargetURL, Creator: tk.Login}
	rp.statuses[sha] = append(rp.statuses[sha], st)
	ts := g.now().Format(time.RFC3339)
	g.mu.Unlock()
	writeValue(w, http.StatusCreated, map[string]any{"id": st.ID, "sha": sha, "status": st.State, "name": st.Context,
		"target_url": st.TargetURL, "description": st.Description, "created_at": ts, "author": glUser(g.base(r), tk.Login)})
}

// noteJSON renders a note on the merge request or issue of the request's
// iid; the caller holds mu.
func (g *GitLab) noteJSON(r *http.Request, rp *repo, c *Comment) map[string]any {
	iid, _ := strconv.Atoi(r.PathValue("iid"))
	out := map[string]any{"id": c.ID, "type": nil, "body": c.Body, "author": glUser(g.base(r), c.Author),
		"created_at": c.Created.Format(time.RFC3339), "updated_at": c.Updated.Format(time.RFC3339),
		"system": false, "noteable_type": "MergeRequest", "noteable_iid": iid, "resolvable": false,
		"confidential": false, "internal": false, "project_id": glProjectID(r)}
	if is := rp.issues[iid]; is != nil && glIssueNotes(r) {
		out["noteable_type"], out["noteable_id"] = "Issue", is.id
	}
	return out
}

// glIssueNotes reports whether a request is on an issue's notes (else a
// merge request's).
func glIssueNotes(r *http.Request) bool {
	return strings.Contains(r.Pattern, "/issues/")
}

// glNoteable checks that the issue of an issue-notes request exists (merge
// requests are not modelled: any iid is one); the caller holds mu.
func glNoteable(w http.ResponseWriter, r *http.Request, rp *repo) bool {
	iid, _ := strconv.Atoi(r.PathValue("iid"))
	if glIssueNotes(r) && rp.issues[iid] == nil {
		glError(w, http.StatusNotFound, "404 Issue Not Found")
		return false
	}
	return true
}

// glPaging reads per_page (default 20, at most 100) and page (default 1).
func glPaging(r *http.Request) (perPage, page int) { return paging(r, 20) }

// setPages sets GitLab's offset-pagination headers for page of total items:
// X-Page, X-Per-Page, X-Total, X-Total-Pages, X-Next-Page and X-Prev-Page
// (empty when none) and a Link with prev, next, first and last.
func (g *GitLab) setPages(w http.ResponseWriter, r *http.Request, page, perPage, total int) {
	last := max(1, (total+perPage-1)/perPage)
	h := w.Header()
	h.Set("X-Page", strconv.Itoa(page))
	h.Set("X-Per-Page", strconv.Itoa(perPage))
	h.Set("X-Total", strconv.Itoa(total))
	h.Set("X-Total-Pages", strconv.Itoa(last))
	h.Set("X-Next-Page", "")
	h.Set("X-Prev-Page", "")
	link := pageLink(r, perPage)
	var links []string
	if page > 1 && page <= last {
		h.Set("X-Prev-Page", strconv.Itoa(page-1))
		links = append(links, link(page-1, "prev"))
	}
	if page < last {
		h.Set("X-Next-Page", strconv.Itoa(page+1))
		links = append(links, link(page+1, "next"))
	}
	links = append(links, link(1, "first"), link(last, "last"))
	h.Set("Link", strings.Join(links, ", "))
}

func (g *GitLab) listNotes(w http.ResponseWriter, r *http.Request) {
	if _, ok := g.auth(w, r, false); !ok {
		return
	}
	iid, _ := strconv.Atoi(r.PathValue("iid"))
	perPage, page := glPaging(r)
	rp, ok := g.lockProject(w, r, true)
	if !ok {
		return
	}
	all := sortedComments(rp.comments[iid])
	if r.URL.Query().Get("sort") != "asc" { // GitLab's default is newest first
		for i, j := 0, len(all)-1; i < j; i, j = i+1, j-1 {
			all[i], all[j] = all[j], all[i]
		}
	}
	out := renderPage(all, page, perPage, func(c *Comment) map[string]any { return g.noteJSON(r, rp, c) })
	g.mu.Unlock()
	g.setPages(w, r, page, perPage, len(all))
	writeValue(w, http.StatusOK, out)
}

func glBody(w http.ResponseWriter, r *http.Request) (string, bool) {
	var in struct {
		Body string `json:"body"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Body == "" {
		glError(w, http.StatusBadRequest, "400 Bad request - body is missing")
		return "", false
	}
	if utf8.RuneCountInString(in.Body) > 1_000_000 {
		glError(w, http.StatusBadRequest, "Note is too long (maximum is 1000000 characters)")
		return "", false
	}
	return in.Body, true
}

func (g *GitLab) createNote(w http.ResponseWriter, r *http.Request) {
	tk, ok := g.auth(w, r, true)
	if !ok {
		return
	}
	iid, _ := strconv.Atoi(r.PathValue("iid"))
	body, ok := glBody(w, r)
	if !ok {
		return
	}
	rp, ok := g.lockProject(w, r, true)
	if !ok {
		return
	}
	c := g.addComment(rp, iid, tk.Login, body)
	g.unlockAnswer(w, http.StatusCreated, g.noteJSON(r, rp, c))
}

func (g *GitLab) editNote(w http.ResponseWriter, r *http.Request) {
	_, ok := g.auth(w, r, true)
	if !ok {
		return
	}
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	body, ok := glBody(w, r)
	if !ok {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	rp, ok := g.project(w, r)
	if !ok {
		return
	}
	if _, c, ok := g.editAny(w, rp, id, body, glNoteErrs); ok {
		writeValue(w, http.StatusOK, g.noteJSON(r, rp, c))
	}
}

// glNoteErrs are GitLab's answers to a change to a note.
var glNoteErrs = commentErrs{glError, "404 Note Not Found"}

func (g *GitLab) deleteNote(w http.ResponseWriter, r *http.Request) {
	_, ok := g.auth(w, r, true)
	if !ok {
		return
	}
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	g.mu.Lock()
	defer g.mu.Unlock()
	if rp, ok := g.project(w, r); ok {
		deleteAny(w, rp, id, glNoteErrs)
	}
}

func (g *GitLab) raw(w http.ResponseWriter, r *http.Request) {
	if _, ok := g.auth(w, r, false); !ok {
		return
	}
	ref := r.URL.Query().Get("ref")
	if ref == "" {
		glError(w, http.StatusBadRequest, "ref is missing")
		return
	}
	rp, ok := g.lockProject(w, r, false)
	if !ok {
		return
	}
	files, okRef := resolve(rp, ref)
	content, found := files[r.PathValue("path")]
	g.mu.Unlock()
	if !okRef || !found {
		glError(w, http.StatusNotFound, "404 File Not Found")
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Gitlab-File-Path", url.PathEscape(r.PathValue("path")))
	w.WriteHeader(http.StatusOK)
	w.Write(content)
}

func (g *GitLab) branch(w http.ResponseWriter, r *http.Request) {
	if _, ok := g.auth(w, r, false); !ok {
		return
	}
	name := r.PathValue("branch")
	rp, ok := g.lockProject(w, r, false)
	if !ok {
		return
	}
	sha := rp.branches[name]
	g.mu.Unlock()
	if sha == "" {
		glError(w, http.StatusNotFound, "404 Branch Not Found")
		return
	}
	writeValue(w, http.StatusOK, map[string]any{"name": name, "merged": false, "protected": false, "default": name == "main",
		"commit": map[string]any{"id": sha, "short_id": sha[:8], "title": "update", "message": "update\n"}})
}
