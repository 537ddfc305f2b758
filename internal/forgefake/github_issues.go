package forgefake

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// GitHub's issues: GET and POST /repos/{owner}/{repo}/issues (issues/list-for-repo,
// issues/create), GET and PATCH /repos/{owner}/{repo}/issues/{issue_number} (issues/get,
// issues/update).
// Comments on issues go through the comment handlers, which serve PR and issue numbers alike.

// ghIssueLimits are GitHub's limits on an issue's text.
const (
	ghTitleMax = 256
	ghBodyMax  = 65536
)

// issueJSON renders an issue as GitHub's "issue" schema; single adds what the
// single-issue answers carry beyond the list items (closed_by). The caller
// holds mu.
func (g *GitHub) issueJSON(r *http.Request, rp *repo, is *issueState, single bool) map[string]any {
	base := g.base(r)
	owner, name := r.PathValue("owner"), r.PathValue("repo")
	api := base + "/repos/" + owner + "/" + name
	n := strconv.Itoa(is.Number)
	u := api + "/issues/" + n
	labels := []map[string]any{}
	for _, ln := range is.Labels {
		l := rp.labelNamed(ln)
		if l == nil {
			continue
		}
		id := strconv.FormatInt(l.id, 10)
		labels = append(labels, map[string]any{"id": l.id, "node_id": "LA_" + id,
			"url": api + "/labels/" + url.PathEscape(l.name), "name": l.name, "description": nil,
			"color": l.color, "default": false})
	}
	var body, closedAt, reason any
	if is.Body != "" {
		body = is.Body
	}
	if !is.closed.IsZero() {
		closedAt = is.closed.Format(time.RFC3339)
	}
	if is.StateReason != "" {
		reason = is.StateReason
	}
	state := "open"
	if !is.Open {
		state = "closed"
	}
	out := map[string]any{
		"id": is.id, "node_id": "I_" + strconv.FormatInt(is.id, 10), "url": u, "repository_url": api,
		"labels_url": u + "/labels{/name}", "comments_url": u + "/comments", "events_url": u + "/events",
		"timeline_url": u + "/timeline", "html_url": base + "/" + owner + "/" + name + "/issues/" + n,
		"number": is.Number, "state": state, "state_reason": reason, "title": is.Title, "body": body,
		"user": ghUser(base, is.Author, loginID(is.Author)), "labels": labels,
		"assignee": nil, "assignees": []any{}, "milestone": nil, "locked": false, "active_lock_reason": nil,
		"comments": len(rp.comments[is.Number]), "closed_at": closedAt,
		"created_at": is.created.Format(time.RFC3339), "updated_at": is.updated.Format(time.RFC3339),
		"author_association": "CONTRIBUTOR", "performed_via_github_app": nil,
		"reactions": map[string]any{"url": u + "/reactions", "total_count": 0, "+1": 0, "-1": 0, "laugh": 0,
			"hooray": 0, "confused": 0, "heart": 0, "rocket": 0, "eyes": 0},
		"sub_issues_summary": map[string]any{"total": 0, "completed": 0, "percent_completed": 0},
	}
	if single {
		var closedBy any
		if !is.Open && is.closedBy != "" {
			closedBy = ghUser(base, is.closedBy, loginID(is.closedBy))
		}
		out["closed_by"] = closedBy
	}
	return out
}

func (g *GitHub) getIssue(w http.ResponseWriter, r *http.Request) {
	if _, ok := g.auth(w, r); !ok {
		return
	}
	number, _ := strconv.Atoi(r.PathValue("number"))
	if rp, is := g.lockIssue(w, r, number, ghNotFound); is != nil {
		g.unlockAnswer(w, http.StatusOK, g.issueJSON(r, rp, is, true))
	}
}

func (g *GitHub) listIssues(w http.ResponseWriter, r *http.Request) {
	if _, ok := g.auth(w, r); !ok {
		return
	}
	q := r.URL.Query()
	perPage, page := ghPaging(r)
	state := q.Get("state")
	if state == "" {
		state = "open"
	}
	sortBy := q.Get("sort")
	if sortBy == "" {
		sortBy = "created"
	}
	direction := q.Get("direction")
	if direction == "" {
		direction = "desc"
	}
	switch {
	case state != "open" && state != "closed" && state != "all":
		ghValidation(w, "Issue", "state", "state is not included in the list")
		return
	case sortBy != "created" && sortBy != "updated" && sortBy != "comments":
		ghValidation(w, "Issue", "sort", "sort is not included in the list")
		return
	case direction != "asc" && direction != "desc":
		ghValidation(w, "Issue", "direction", "direction is not included in the list")
		return
	}
	creator, labels := q.Get("creator"), splitList(q.Get("labels"))
	rp := g.lockRepo(w, r, ghNotFound)
	if rp == nil {
		return
	}
	key := func(is *issueState) int64 {
		switch sortBy {
		case "updated":
			return is.updated.UnixNano()
		case "comments":
			return int64(len(rp.comments[is.Number]))
		}
		return int64(is.Number) // created: numbers grow with creation
	}
	f := issueFilter{openOnly: state == "open", closedOnly: state == "closed", author: creator, labels: labels}
	all := listIssues(rp, f, key, direction == "asc")
	out := renderPage(all, page, perPage, func(is *issueState) map[string]any { return g.issueJSON(r, rp, is, false) })
	g.mu.Unlock()
	g.setLinks(w, r, page, perPage, len(all))
	writeValue(w, http.StatusOK, out)
}

// ghTitle reads a title, which GitHub takes as a string or an integer.
func ghTitle(raw json.RawMessage) (string, bool) {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, true
	}
	var n json.Number
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	if err := d.Decode(&n); err == nil {
		return n.String(), true
	}
	return "", false
}

// ghLabelNames reads the labels of an issue request: names, or objects with a
// name.
func ghLabelNames(raw []json.RawMessage) ([]string, bool) {
	names := []string{}
	for _, item := range raw {
		var s string
		if err := json.Unmarshal(item, &s); err == nil {
			names = append(names, s)
			continue
		}
		var o struct {
			Name string `json:"name"`
		}
		if err := json.Unmarshal(item, &o); err != nil {
			return nil, false
		}
		if o.Name != "" {
			names = append(names, o.Name)
		}
	}
	return names, true
}

// ghCheckText answers 422 when a title or body is over GitHub's limits.
func ghCheckText(w http.ResponseWriter, title, body string) bool {
	if utf8.RuneCountInString(title) > ghTitleMax {
		ghValidation(w, "Issue", "title", "title is too long (maximum is 256 characters)")
		return false
	}
	if utf8.RuneCountInString(body) > ghBodyMax {
		ghValidation(w, "Issue", "body", "body is too long (maximum is 65536 characters)")
		return false
	}
	return true
}

func (g *GitHub) createIssue(w http.ResponseWriter, r *http.Request) {
	tk, ok := g.write(w, r)
	if !ok {
		return
	}
	var in struct {
		Title  json.RawMessage   `json:"title"`
		Body   *string           `json:"body"`
		Labels []json.RawMessage `json:"labels"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		ghError(w, http.StatusBadRequest, "Problems parsing JSON")
		return
	}
	title, ok := ghTitle(in.Title)
	if len(in.Title) == 0 || string(in.Title) == "null" || !ok {
		ghError(w, http.StatusUnprocessableEntity, "Invalid request.\n\n\"title\" wasn't supplied.")
		return
	}
	if strings.TrimSpace(title) == "" {
		ghValidation(w, "Issue", "title", "title can't be blank")
		return
	}
	body := ""
	if in.Body != nil {
		body = *in.Body
	}
	labels, ok := ghLabelNames(in.Labels)
	if !ok {
		ghError(w, http.StatusUnprocessableEntity, "Invalid request.\n\nFor 'items', the labels are not strings or objects.")
		return
	}
	if !ghCheckText(w, title, body) {
		return
	}
	rp := g.lockRepo(w, r, ghNotFound)
	if rp == nil {
		return
	}
	// Labels that do not exist are created: the caller may push.
	is := g.newIssue(rp, tk.Login, title, body, labels)
	out := g.issueJSON(r, rp, is, true)
	g.mu.Unlock()
	ghCreated(w, out)
}

func (g *GitHub) editIssue(w http.ResponseWriter, r *http.Request) {
	tk, number, ok := g.writeNumber(w, r)
	if !ok {
		return
	}
	in := map[string]json.RawMessage{}
	if raw, _ := io.ReadAll(r.Body); len(bytes.TrimSpace(raw)) > 0 {
		if err := json.Unmarshal(raw, &in); err != nil {
			ghError(w, http.StatusBadRequest, "Problems parsing JSON")
			return
		}
	}
	present := func(k string) bool { v, ok := in[k]; return ok && string(v) != "null" }
	var title, body, state, reason *string
	if present("title") {
		t, ok := ghTitle(in["title"])
		if !ok {
			ghError(w, http.StatusUnprocessableEntity, "Invalid request.\n\nFor 'properties/title', the title is not a string or an integer.")
			return
		}
		if strings.TrimSpace(t) == "" {
			ghValidation(w, "Issue", "title", "title can't be blank")
			return
		}
		title = &t
	}
	if _, ok := in["body"]; ok {
		s := ""
		if present("body") && json.Unmarshal(in["body"], &s) != nil {
			ghError(w, http.StatusUnprocessableEntity, "Invalid request.\n\nFor 'properties/body', the body is not a string.")
			return
		}
		body = &s
	}
	for _, f := range []struct {
		k   string
		dst **string
	}{{"state", &state}, {"state_reason", &reason}} {
		if present(f.k) {
			var s string
			if json.Unmarshal(in[f.k], &s) != nil {
				ghError(w, http.StatusUnprocessableEntity, "Invalid request.\n\nFor 'properties/"+f.k+"', the value is not a string.")
				return
			}
			*f.dst = &s
		}
	}
	if state != nil && *state != "open" && *state != "closed" {
		ghValidation(w, "Issue", "state", "state is not included in the list")
		return
	}
	if reason != nil {
		switch *reason {
		case "completed", "not_planned", "duplicate", "reopened":
		default:
			ghValidation(w, "Issue", "state_reason", "state_reason is not included in the list")
			return
		}
	}
	var labels []string
	_, setLabels := in["labels"]
	if present("labels") {
		var raw []json.RawMessage
		if json.Unmarshal(in["labels"], &raw) != nil {
			ghError(w, http.StatusUnprocessableEntity, "Invalid request.\n\nFor 'properties/labels', the labels are not an array.")
			return
		}
		if labels, ok = ghLabelNames(raw); !ok {
			ghError(w, http.StatusUnprocessableEntity, "Invalid request.\n\nFor 'items', the labels are not strings or objects.")
			return
		}
	}
	t, b := "", ""
	if title != nil {
		t = *title
	}
	if body != nil {
		b = *body
	}
	if !ghCheckText(w, t, b) {
		return
	}
	rp, is := g.lockIssue(w, r, number, ghNotFound)
	if is == nil {
		return
	}
	now := g.now()
	if title != nil {
		is.Title = *title
	}
	if body != nil {
		is.Body = *body
	}
	if setLabels {
		is.Labels = g.labelNames(rp, labels)
	}
	if state != nil {
		// state_reason is ignored unless the state changes; GitHub's default is
		// "reopened" on reopening, "completed" on closing.
		open, rs := *state == "open", "completed"
		if open {
			rs = "reopened"
		}
		if reason != nil {
			rs = *reason
		}
		is.setOpen(open, tk.Login, rs, now)
	}
	is.updated = now
	g.unlockAnswer(w, http.StatusOK, g.issueJSON(r, rp, is, true))
}
