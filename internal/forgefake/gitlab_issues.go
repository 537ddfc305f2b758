package forgefake

import (
	"bytes"
	"cmp"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// GitLab's issues, after GitLab's REST documentation (api/issues.md): GET and POST
// /api/v4/projects/{id}/issues, GET and PUT /api/v4/projects/{id}/issues/{issue_iid}; notes
// on issues are served by the note handlers.

// glProjectID is the project's numeric id, derived from its path.
func glProjectID(r *http.Request) int64 {
	return loginID(strings.ToLower(r.PathValue("project")))
}

// glBadParam answers Grape's parameter validation error.
func glBadParam(w http.ResponseWriter, msg string) {
	writeValue(w, http.StatusBadRequest, map[string]any{"error": msg})
}

// glParams reads a request's parameters as GitLab (Grape) does: the query
// string, then a JSON or form body over it. An array is joined with ",";
// null is an empty string.
func glParams(r *http.Request) (map[string]string, bool) {
	out := map[string]string{}
	for k, v := range r.URL.Query() {
		out[k] = strings.Join(v, ",")
	}
	raw, _ := io.ReadAll(r.Body)
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return out, true
	}
	if raw[0] != '{' {
		form, err := url.ParseQuery(string(raw))
		if err != nil {
			return nil, false
		}
		for k, v := range form {
			out[k] = strings.Join(v, ",")
		}
		return out, true
	}
	var m map[string]json.RawMessage
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	if err := d.Decode(&m); err != nil {
		return nil, false
	}
	for k, v := range m {
		var s string
		var n json.Number
		var list []string
		switch {
		case string(v) == "null":
			out[k] = ""
		case json.Unmarshal(v, &s) == nil:
			out[k] = s
		case json.Unmarshal(v, &n) == nil:
			out[k] = n.String()
		case json.Unmarshal(v, &list) == nil:
			out[k] = strings.Join(list, ",")
		default:
			out[k] = string(v)
		}
	}
	return out, true
}

// issueJSON renders an issue as GitLab's Entities::Issue; the caller holds mu.
func (g *GitLab) issueJSON(r *http.Request, rp *repo, is *issueState) map[string]any {
	base := g.base(r)
	path := r.PathValue("project")
	pid := glProjectID(r)
	api := base + "/api/v4/projects/" + strconv.FormatInt(pid, 10)
	iid := strconv.Itoa(is.Number)
	state := "opened"
	var closedAt, closedBy any
	if !is.Open {
		state = "closed"
		closedBy = glUser(base, is.closedBy)
	}
	if !is.closed.IsZero() {
		closedAt = is.closed.Format(time.RFC3339)
	}
	return map[string]any{
		"id": is.id, "iid": is.Number, "project_id": pid, "title": is.Title, "description": is.Body,
		"state": state, "created_at": is.created.Format(time.RFC3339), "updated_at": is.updated.Format(time.RFC3339),
		"closed_at": closedAt, "closed_by": closedBy, "labels": append([]string{}, is.Labels...),
		"milestone": nil, "assignees": []any{}, "author": glUser(base, is.Author), "type": "ISSUE",
		"assignee": nil, "user_notes_count": len(rp.comments[is.Number]), "merge_requests_count": 0,
		"upvotes": 0, "downvotes": 0, "due_date": nil, "confidential": false, "discussion_locked": nil,
		"issue_type": "issue", "web_url": base + "/" + path + "/-/issues/" + iid,
		"time_stats": map[string]any{"time_estimate": 0, "total_time_spent": 0,
			"human_time_estimate": nil, "human_total_time_spent": nil},
		"task_completion_status": map[string]any{"count": 0, "completed_count": 0},
		"blocking_issues_count":  0, "has_tasks": false,
		"_links": map[string]any{"self": api + "/issues/" + iid, "notes": api + "/issues/" + iid + "/notes",
			"award_emoji": api + "/issues/" + iid + "/award_emoji", "project": api, "closed_as_duplicate_of": nil},
		"references": map[string]any{"short": "#" + iid, "relative": "#" + iid, "full": path + "#" + iid},
		"severity":   "UNKNOWN", "moved_to_id": nil, "service_desk_reply_to": nil,
	}
}

func (g *GitLab) listIssues(w http.ResponseWriter, r *http.Request) {
	tok, ok := g.auth(w, r, false)
	if !ok {
		return
	}
	q := r.URL.Query()
	perPage, page := glPaging(r)
	state, author := q.Get("state"), q.Get("author_username")
	// scope: all (the default), created_by_me (the token's own; with author_username too, both
	// must hold) or assigned_to_me (the fake assigns no one).
	scope := cmp.Or(q.Get("scope"), "all")
	none := scope == "assigned_to_me" || scope == "created_by_me" && author != "" && !strings.EqualFold(author, tok.Login)
	if scope == "created_by_me" {
		author = tok.Login
	}
	orderBy, dir := q.Get("order_by"), q.Get("sort")
	if orderBy == "" {
		orderBy = "created_at"
	}
	if dir == "" {
		dir = "desc"
	}
	switch {
	case state != "" && state != "all" && state != "opened" && state != "closed":
		glBadParam(w, "state does not have a valid value")
		return
	case orderBy != "created_at" && orderBy != "updated_at":
		glBadParam(w, "order_by does not have a valid value")
		return
	case dir != "asc" && dir != "desc":
		glBadParam(w, "sort does not have a valid value")
		return
	case scope != "all" && scope != "created_by_me" && scope != "assigned_to_me":
		glBadParam(w, "scope does not have a valid value")
		return
	}
	labels := splitList(q.Get("labels"))
	rp, ok := g.lockProject(w, r, false)
	if !ok {
		return
	}
	key := func(is *issueState) int64 {
		if orderBy == "updated_at" {
			return is.updated.UnixNano()
		}
		return int64(is.Number)
	}
	var all []*issueState
	if !none {
		f := issueFilter{openOnly: state == "opened", closedOnly: state == "closed", author: author, labels: labels, noneAny: true}
		all = listIssues(rp, f, key, dir == "asc")
	}
	out := renderPage(all, page, perPage, func(is *issueState) map[string]any { return g.issueJSON(r, rp, is) })
	g.mu.Unlock()
	g.setPages(w, r, page, perPage, len(all))
	writeValue(w, http.StatusOK, out)
}

// lockGLIssue locks mu and returns the project and the issue of the
// request's iid; otherwise it unlocks mu, answers 404 and returns false.
func (g *GitLab) lockGLIssue(w http.ResponseWriter, r *http.Request) (*repo, *issueState, bool) {
	rp, ok := g.lockProject(w, r, false)
	if !ok {
		return nil, nil, false
	}
	iid, _ := strconv.Atoi(r.PathValue("iid"))
	is := rp.issues[iid]
	if is == nil {
		g.mu.Unlock()
		glError(w, http.StatusNotFound, "404 Not found")
		return nil, nil, false
	}
	return rp, is, true
}

func (g *GitLab) getIssue(w http.ResponseWriter, r *http.Request) {
	if _, ok := g.auth(w, r, false); !ok {
		return
	}
	if rp, is, ok := g.lockGLIssue(w, r); ok {
		g.unlockAnswer(w, http.StatusOK, g.issueJSON(r, rp, is))
	}
}

// writeParams authorizes a write and reads its parameters, or answers.
func (g *GitLab) writeParams(w http.ResponseWriter, r *http.Request) (Token, map[string]string, bool) {
	tk, ok := g.auth(w, r, true)
	if !ok {
		return tk, nil, false
	}
	in, ok := glParams(r)
	if !ok {
		glError(w, http.StatusBadRequest, "400 Bad request - invalid JSON")
	}
	return tk, in, ok
}

func (g *GitLab) createIssue(w http.ResponseWriter, r *http.Request) {
	tk, in, ok := g.writeParams(w, r)
	if !ok {
		return
	}
	if strings.TrimSpace(in["title"]) == "" {
		glBadParam(w, "title is missing")
		return
	}
	rp, ok := g.lockProject(w, r, false)
	if !ok {
		return
	}
	is := g.newIssue(rp, tk.Login, in["title"], in["description"], splitList(in["labels"]))
	g.unlockAnswer(w, http.StatusCreated, g.issueJSON(r, rp, is))
}

func (g *GitLab) editIssue(w http.ResponseWriter, r *http.Request) {
	tk, in, ok := g.writeParams(w, r)
	if !ok {
		return
	}
	if ev, ok := in["state_event"]; ok && ev != "close" && ev != "reopen" {
		glBadParam(w, "state_event does not have a valid value")
		return
	}
	if t, ok := in["title"]; ok && strings.TrimSpace(t) == "" {
		glError(w, http.StatusBadRequest, `{:title=>["can't be blank"]}`)
		return
	}
	rp, is, ok := g.lockGLIssue(w, r)
	if !ok {
		return
	}
	now := g.now()
	if t, ok := in["title"]; ok {
		is.Title = t
	}
	if d, ok := in["description"]; ok {
		is.Body = d
	}
	if ls, ok := in["labels"]; ok {
		is.Labels = g.labelNames(rp, splitList(ls))
	}
	if add := splitList(in["add_labels"]); len(add) > 0 {
		is.Labels = g.labelNames(rp, append(append([]string{}, is.Labels...), add...))
	}
	if rm := splitList(in["remove_labels"]); len(rm) > 0 {
		is.Labels = slices.DeleteFunc(is.Labels, func(l string) bool { return containsFold(rm, l) })
	}
	if ev, ok := in["state_event"]; ok {
		is.setOpen(ev == "reopen", tk.Login, "", now)
	}
	is.updated = now
	g.unlockAnswer(w, http.StatusOK, g.issueJSON(r, rp, is))
}
