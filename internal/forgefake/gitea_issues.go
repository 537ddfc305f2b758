package forgefake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Gitea's issues and labels, as Gitea 1.26 serves them: GET and POST
// /api/v1/repos/{owner}/{repo}/issues (issueListIssues, issueCreateIssue), GET and PATCH
// /api/v1/repos/{owner}/{repo}/issues/{index} (issueGetIssue, issueEditIssue) and GET
// /api/v1/repos/{owner}/{repo}/labels (issueListLabels). Comments on issues go through the
// comment handlers, which serve PR and issue numbers alike.

// Gitea's page sizes: setting.API.DefaultPagingNum and MaxResponseItems.
const (
	gtDefaultPageSize = 30
	gtMaxPageSize     = 50
)

// AddLabel creates a label on owner/name (creating the repository if needed)
// and returns its id; a label of that name (case-insensitively) already there
// is returned instead.
func (g *Gitea) AddLabel(owner, name, labelName string) int64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.ensureLabel(g.repo(owner, name, true), labelName).id
}

// gtNotFound answers Gitea's APIContext.NotFound.
func gtNotFound(w http.ResponseWriter, errs ...string) {
	var e any // null without errors, as Gitea
	if len(errs) > 0 {
		e = errs
	}
	writeValue(w, http.StatusNotFound, map[string]any{"message": "The target couldn't be found.", "url": "https://gitea.example/api/swagger", "errors": e})
}

// gtNotFoundPlain is gtNotFound without errors, as lockRepo wants it.
func gtNotFoundPlain(w http.ResponseWriter) { gtNotFound(w) }

// gtPageSize is Gitea's convert.ToCorrectPageSize of the limit parameter.
func gtPageSize(r *http.Request) int {
	n, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	switch {
	case n <= 0:
		return gtDefaultPageSize
	case n > gtMaxPageSize:
		return gtMaxPageSize
	}
	return n
}

// gtExposeHeaders appends to Access-Control-Expose-Headers as Gitea does.
func gtExposeHeaders(w http.ResponseWriter, names ...string) {
	v := strings.Join(names, ", ")
	if old := w.Header().Get("Access-Control-Expose-Headers"); old != "" {
		v = old + ", " + v
	}
	w.Header().Set("Access-Control-Expose-Headers", v)
}

// gtSetLinks is Gitea's APIContext.SetLinkHeader: next, last, first, prev
// links of the request's URL joined by "," (the current page clamped to the
// last one).
func (g *Gitea) gtSetLinks(w http.ResponseWriter, r *http.Request, total, pageSize int) {
	cur, _ := strconv.Atoi(r.URL.Query().Get("page"))
	pages := 1
	if total > 0 {
		pages = (total + pageSize - 1) / pageSize
	}
	cur = min(max(cur, 1), pages)
	hasNext := total > cur*pageSize
	isLast := total == 0 || (total > (cur-1)*pageSize && !hasNext)
	link := pageLink(r, 0) // Gitea keeps the request's limit as it is
	var links []string
	if hasNext {
		links = append(links, link(cur+1, "next"))
	}
	if !isLast {
		links = append(links, link(pages, "last"))
	}
	if cur != 1 {
		links = append(links, link(1, "first"))
	}
	if cur > 1 {
		links = append(links, link(cur-1, "prev"))
	}
	if len(links) > 0 {
		w.Header().Set("Link", strings.Join(links, ","))
		gtExposeHeaders(w, "Link")
	}
}

// gtSetTotal is Gitea's APIContext.SetTotalCountHeader.
func gtSetTotal(w http.ResponseWriter, total int) {
	w.Header().Set("X-Total-Count", strconv.Itoa(total))
	gtExposeHeaders(w, "X-Total-Count")
}

func (g *Gitea) labelJSON(r *http.Request, l *label) map[string]any {
	api := g.base(r) + "/api/v1/repos/" + r.PathValue("owner") + "/" + r.PathValue("repo")
	return map[string]any{"id": l.id, "name": l.name, "exclusive": false, "is_archived": false,
		"color": l.color, "description": "", "url": api + "/labels/" + strconv.FormatInt(l.id, 10)}
}

// issueJSON renders an issue as Gitea's convert.ToAPIIssue does (nulls
// included: Gitea's api.Issue has no omitempty); the caller holds mu.
func (g *Gitea) issueJSON(r *http.Request, rp *repo, is *issueState) map[string]any {
	base := g.base(r)
	owner, name := r.PathValue("owner"), r.PathValue("repo")
	n := strconv.Itoa(is.Number)
	labels := []map[string]any{}
	for _, ln := range is.Labels {
		if l := rp.labelNamed(ln); l != nil {
			labels = append(labels, g.labelJSON(r, l))
		}
	}
	state := "open"
	var closedAt any
	if !is.Open {
		state = "closed"
	}
	if !is.closed.IsZero() {
		closedAt = is.closed.Format(time.RFC3339)
	}
	return map[string]any{
		"id": is.id, "url": base + "/api/v1/repos/" + owner + "/" + name + "/issues/" + n,
		"html_url": base + "/" + owner + "/" + name + "/issues/" + n, "number": is.Number,
		"user": gtUser(base, is.Author), "original_author": "", "original_author_id": 0,
		"title": is.Title, "body": is.Body, "ref": "", "assets": []any{}, "labels": labels,
		"milestone": nil, "assignee": nil, "assignees": nil, "state": state, "is_locked": false,
		"comments": len(rp.comments[is.Number]), "created_at": is.created.Format(time.RFC3339),
		"updated_at": is.updated.Format(time.RFC3339), "closed_at": closedAt, "due_date": nil,
		"time_estimate": 0, "pull_request": nil, "pin_order": 0,
		"repository": map[string]any{"id": loginID(strings.ToLower(owner + "/" + name)), "name": name,
			"owner": owner, "full_name": owner + "/" + name},
	}
}

func (g *Gitea) listIssues(w http.ResponseWriter, r *http.Request) {
	if _, ok := g.auth(w, r, false); !ok {
		return
	}
	q := r.URL.Query()
	pageSize := gtPageSize(r)
	page, _ := strconv.Atoi(q.Get("page"))
	page = max(page, 1)
	state := q.Get("state") // "closed", "all", anything else: open
	createdBy := q.Get("created_by")
	rp := g.lockRepo(w, r, gtNotFoundPlain)
	if rp == nil {
		return
	}
	if createdBy != "" && !g.knownUser(createdBy) {
		g.mu.Unlock()
		gtNotFound(w, fmt.Sprintf("user does not exist [uid: 0, name: %s]", createdBy))
		return
	}
	// Label names that do not exist are discarded; the issue must carry all the others.
	var labels []string
	for _, n := range strings.Split(q.Get("labels"), ",") {
		if l := rp.labelNamed(n); l != nil {
			labels = append(labels, l.name)
		}
	}
	var all []*issueState
	if q.Get("type") != "pulls" { // the fake holds no pull requests
		f := issueFilter{openOnly: state != "closed" && state != "all", closedOnly: state == "closed", author: createdBy, labels: labels}
		all = listIssues(rp, f, func(is *issueState) int64 { return int64(is.Number) }, false) // newest first
	}
	out := renderPage(all, page, pageSize, func(is *issueState) map[string]any { return g.issueJSON(r, rp, is) })
	g.mu.Unlock()
	g.gtSetLinks(w, r, len(all), pageSize)
	gtSetTotal(w, len(all))
	writeValue(w, http.StatusOK, out)
}

func (g *Gitea) getIssue(w http.ResponseWriter, r *http.Request) {
	if _, ok := g.auth(w, r, false); !ok {
		return
	}
	number, _ := strconv.Atoi(r.PathValue("index"))
	if rp, is := g.lockIssue(w, r, number, gtNotFoundPlain); is != nil {
		g.unlockAnswer(w, http.StatusOK, g.issueJSON(r, rp, is))
	}
}

// gtIssueWrite checks a write to issues: Gitea's token scope is write:issue.
func (g *Gitea) gtIssueWrite(w http.ResponseWriter, r *http.Request) (Token, bool) {
	return g.authorize(w, r, true, gtError, gtUnauthorized, "token does not have at least one of required scope(s): [write:issue]")
}

func (g *Gitea) createIssue(w http.ResponseWriter, r *http.Request) {
	tk, ok := g.gtIssueWrite(w, r)
	if !ok {
		return
	}
	var in struct {
		Title  string  `json:"title"`
		Body   string  `json:"body"`
		Labels []int64 `json:"labels"`
		Closed bool    `json:"closed"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		gtError(w, http.StatusUnprocessableEntity, "invalid JSON: "+err.Error())
		return
	}
	if in.Title == "" {
		gtError(w, http.StatusUnprocessableEntity, "[Title]: Required")
		return
	}
	rp := g.lockRepo(w, r, gtNotFoundPlain)
	if rp == nil {
		return
	}
	var names []string
	for _, id := range in.Labels { // ids of other repositories or none are silently dropped
		if l := rp.labelByID(id); l != nil {
			names = append(names, l.name)
		}
	}
	is := g.newIssue(rp, tk.Login, in.Title, in.Body, names)
	if in.Closed {
		is.setOpen(false, tk.Login, "", is.created)
	}
	g.unlockAnswer(w, http.StatusCreated, g.issueJSON(r, rp, is))
}

func (g *Gitea) editIssue(w http.ResponseWriter, r *http.Request) {
	tk, ok := g.gtIssueWrite(w, r)
	if !ok {
		return
	}
	number, ok := pathNumber(w, r, "index", gtNotFoundPlain)
	if !ok {
		return
	}
	var in struct {
		Title string  `json:"title"`
		Body  *string `json:"body"`
		State *string `json:"state"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		gtError(w, http.StatusUnprocessableEntity, "invalid JSON: "+err.Error())
		return
	}
	rp, is := g.lockIssue(w, r, number, gtNotFoundPlain)
	if is == nil {
		return
	}
	if in.State != nil && *in.State != "open" && *in.State != "closed" {
		// Gitea has applied the title and body by then; the fake refuses the whole edit.
		g.mu.Unlock()
		gtError(w, http.StatusPreconditionFailed, "unknown state: "+*in.State)
		return
	}
	now := g.now()
	if in.Title != "" {
		is.Title = in.Title
	}
	if in.Body != nil {
		is.Body = *in.Body
	}
	if in.State != nil {
		is.setOpen(*in.State == "open", tk.Login, "", now)
	}
	is.updated = now
	g.unlockAnswer(w, http.StatusCreated, g.issueJSON(r, rp, is)) // Gitea answers an edit 201
}

func (g *Gitea) listLabels(w http.ResponseWriter, r *http.Request) {
	if _, ok := g.auth(w, r, false); !ok {
		return
	}
	page, _ := strconv.Atoi(r.URL.Query().Get("page"))
	rp := g.lockRepo(w, r, gtNotFoundPlain)
	if rp == nil {
		return
	}
	all := append([]*label(nil), rp.labels...)
	sort.SliceStable(all, func(i, j int) bool { return all[i].name < all[j].name }) // by name, as Gitea
	if page != 0 {
		// Gitea paginates labels only when a page is asked for.
		all = pageOf(all, max(page, 1), gtPageSize(r))
	}
	out := []map[string]any{}
	for _, l := range all {
		out = append(out, g.labelJSON(r, l))
	}
	total := len(rp.labels)
	g.mu.Unlock()
	gtSetTotal(w, total)
	writeValue(w, http.StatusOK, out)
}
