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

// GitHub is a stateful fake of the GitHub REST API (api.github.com layout:
// the API at the root). Comments and issues are paginated with Link headers
// (per_page up to 100, default 30); a status description over 140 characters,
// a comment or issue body over 65,536 characters or an issue title over 256
// answers 422; labels an issue names that do not exist are created; a
// ReadOnly token's writes answer 403; an Integration token's GET /user
// answers 403. Issue comments go through the same comment endpoints as PR
// comments (a number that is no issue is taken for a PR).
type GitHub struct {
	*core
}

// NewGitHub starts a fake GitHub. Pass Options{Spec: specs.GitHub(t)} to
// validate every request and response against GitHub's OpenAPI description.
func NewGitHub(t Owner, opts Options) *GitHub {
	g := &GitHub{core: newCore(t, "github", opts)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /user", g.user)
	mux.HandleFunc("POST /repos/{owner}/{repo}/statuses/{sha}", g.createStatus)
	mux.HandleFunc("GET /repos/{owner}/{repo}/commits/{ref}/statuses", g.listStatuses)
	mux.HandleFunc("GET /repos/{owner}/{repo}/commits/{sha}/pulls", g.commitPulls)
	mux.HandleFunc("GET /repos/{owner}/{repo}/issues", g.listIssues)
	mux.HandleFunc("POST /repos/{owner}/{repo}/issues", g.createIssue)
	mux.HandleFunc("GET /repos/{owner}/{repo}/issues/{number}", g.getIssue)
	mux.HandleFunc("PATCH /repos/{owner}/{repo}/issues/{number}", g.editIssue)
	mux.HandleFunc("GET /repos/{owner}/{repo}/issues/{number}/comments", g.listComments)
	mux.HandleFunc("POST /repos/{owner}/{repo}/issues/{number}/comments", g.createComment)
	mux.HandleFunc("PATCH /repos/{owner}/{repo}/issues/comments/{id}", g.editComment)
	mux.HandleFunc("DELETE /repos/{owner}/{repo}/issues/comments/{id}", g.deleteComment)
	mux.HandleFunc("GET /repos/{owner}/{repo}/contents/{path...}", g.contents)
	mux.HandleFunc("GET /repos/{owner}/{repo}/git/ref/{ref...}", g.gitRef)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { ghError(w, http.StatusNotFound, "Not Found") })
	g.start(mux)
	return g
}

const ghDocs = "https://docs.github.com/rest"

func ghError(w http.ResponseWriter, status int, msg string) {
	writeValue(w, status, map[string]any{"message": msg, "documentation_url": ghDocs, "status": strconv.Itoa(status)})
}

// ghNotFound answers GitHub's 404.
func ghNotFound(w http.ResponseWriter) { ghError(w, http.StatusNotFound, "Not Found") }

// ghCreated answers 201 with out, naming its url in Location.
func ghCreated(w http.ResponseWriter, out map[string]any) {
	w.Header().Set("Location", out["url"].(string))
	writeValue(w, http.StatusCreated, out)
}

func ghValidation(w http.ResponseWriter, resource, field, msg string) {
	writeValue(w, http.StatusUnprocessableEntity, map[string]any{
		"message":           "Validation Failed",
		"errors":            []map[string]string{{"resource": resource, "code": "custom", "field": field, "message": msg}},
		"documentation_url": ghDocs,
	})
}

// auth returns the caller's token or answers 401.
func (g *GitHub) auth(w http.ResponseWriter, r *http.Request) (Token, bool) {
	return g.authorize(w, r, false, ghError, "Bad credentials", "")
}

// write checks a write is allowed.
func (g *GitHub) write(w http.ResponseWriter, r *http.Request) (Token, bool) {
	return g.authorize(w, r, true, ghError, "Bad credentials", "Resource not accessible by integration")
}

func (g *GitHub) base(r *http.Request) string { return baseURL(r) }

func ghUser(base, login string, id int64) map[string]any {
	u := base + "/users/" + url.PathEscape(login)
	typ := "User"
	if strings.HasSuffix(login, "[bot]") {
		typ = "Bot"
	}
	return map[string]any{
		"login": login, "id": id, "node_id": "U_" + strconv.FormatInt(id, 10),
		"avatar_url": "https://avatars.example/u/" + strconv.FormatInt(id, 10), "gravatar_id": "",
		"url": u, "html_url": "https://github.example/" + url.PathEscape(login),
		"followers_url": u + "/followers", "following_url": u + "/following{/other_user}",
		"gists_url": u + "/gists{/gist_id}", "starred_url": u + "/starred{/owner}{/repo}",
		"subscriptions_url": u + "/subscriptions", "organizations_url": u + "/orgs",
		"repos_url": u + "/repos", "events_url": u + "/events{/privacy}",
		"received_events_url": u + "/received_events", "type": typ, "site_admin": false,
	}
}

func loginID(login string) int64 {
	var h int64 = 7
	for _, c := range login {
		h = (h*31 + int64(c)) % 1_000_000
	}
	return h + 1
}

func (g *GitHub) user(w http.ResponseWriter, r *http.Request) {
	tk, ok := g.auth(w, r)
	if !ok {
		return
	}
	if tk.Integration {
		ghError(w, http.StatusForbidden, "Resource not accessible by integration")
		return
	}
	u := ghUser(g.base(r), tk.Login, loginID(tk.Login))
	ts := "2020-01-01T00:00:00Z"
	for k, v := range map[string]any{"user_view_type": "public", "name": tk.Login, "company": nil, "blog": "",
		"location": nil, "email": nil, "hireable": nil, "bio": nil, "public_repos": 1, "public_gists": 0,
		"followers": 0, "following": 0, "created_at": ts, "updated_at": ts} {
		u[k] = v
	}
	writeValue(w, http.StatusOK, u)
}

func (g *GitHub) statusJSON(base string, s *Status, at time.Time) map[string]any {
	var target, desc any
	if s.TargetURL != "" {
		target = s.TargetURL
	}
	desc = s.Description
	ts := at.Format(time.RFC3339)
	return map[string]any{
		"url": base + "/statuses/" + strconv.FormatInt(s.ID, 10), "avatar_url": nil, "id": s.ID,
		"node_id": "SC_" + strconv.FormatInt(s.ID, 10), "state": s.State, "description": desc,
		"target_url": target, "context": s.Context, "created_at": ts, "updated_at": ts,
		"creator": ghUser(base, s.Creator, loginID(s.Creator)),
	}
}

func (g *GitHub) createStatus(w http.ResponseWriter, r *http.Request) {
	tk, ok := g.write(w, r)
	if !ok {
		return
	}
	var in struct {
		State       string  `json:"state"`
		TargetURL   *string `json:"target_url"`
		Description *string `json:"description"`
		Context     *string `json:"context"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		ghError(w, http.StatusBadRequest, "Problems parsing JSON")
		return
	}
	st := &Status{State: in.State, Context: "default", Creator: tk.Login}
	if in.Context != nil {
		st.Context = *in.Context
	}
	if in.Description != nil {
		st.Description = *in.Description
	}
	if in.TargetURL != nil {
		st.TargetURL = *in.TargetURL
	}
	if utf8.RuneCountInString(st.Description) > 140 {
		ghValidation(w, "Status", "description", "description is too long (maximum is 140 characters)")
		return
	}
	g.mu.Lock()
	rp := g.pathRepo(r)
	sha := r.PathValue("sha")
	if rp == nil || rp.commits[sha] == nil {
		g.mu.Unlock()
		ghValidation(w, "Status", "sha", "No commit found for SHA: "+sha)
		return
	}
	g.nextID++
	st.ID = g.nextID
	rp.statuses[sha] = append(rp.statuses[sha], st)
	at := g.now()
	g.unlockAnswer(w, http.StatusCreated, g.statusJSON(g.base(r), st, at))
}

func (g *GitHub) listStatuses(w http.ResponseWriter, r *http.Request) {
	if _, ok := g.auth(w, r); !ok {
		return
	}
	g.mu.Lock()
	rp := g.pathRepo(r)
	var out []map[string]any
	if rp != nil {
		sha := r.PathValue("ref")
		if h, ok := rp.branches[sha]; ok {
			sha = h
		}
		ss := rp.statuses[sha]
		for i := len(ss) - 1; i >= 0; i-- { // newest first, as GitHub
			out = append(out, g.statusJSON(g.base(r), ss[i], g.clock))
		}
	}
	g.mu.Unlock()
	if rp == nil {
		ghError(w, http.StatusNotFound, "Not Found")
		return
	}
	if out == nil {
		out = []map[string]any{}
	}
	writeValue(w, http.StatusOK, out)
}

// commentJSON renders a comment on PR or issue number of rp; the caller holds
// mu.
func (g *GitHub) commentJSON(r *http.Request, rp *repo, number int, c *Comment) map[string]any {
	base := g.base(r)
	owner, name := r.PathValue("owner"), r.PathValue("repo")
	id := strconv.FormatInt(c.ID, 10)
	kind := "/pull/"
	if rp.issues[number] != nil {
		kind = "/issues/"
	}
	return map[string]any{
		"id": c.ID, "node_id": "IC_" + id,
		"url":       base + "/repos/" + owner + "/" + name + "/issues/comments/" + id,
		"html_url":  base + "/" + owner + "/" + name + kind + strconv.Itoa(number) + "#issuecomment-" + id,
		"issue_url": base + "/repos/" + owner + "/" + name + "/issues/" + strconv.Itoa(number),
		"body":      c.Body, "user": ghUser(base, c.Author, loginID(c.Author)),
		"created_at": c.Created.Format(time.RFC3339), "updated_at": c.Updated.Format(time.RFC3339),
		"author_association": "CONTRIBUTOR",
	}
}

func (g *GitHub) listComments(w http.ResponseWriter, r *http.Request) {
	if _, ok := g.auth(w, r); !ok {
		return
	}
	number, ok := pathNumber(w, r, "number", ghNotFound)
	if !ok {
		return
	}
	perPage, page := ghPaging(r)
	g.mu.Lock()
	rp := g.pathRepo(r)
	var all []*Comment
	if rp != nil {
		all = sortedComments(rp.comments[number])
	}
	out := renderPage(all, page, perPage, func(c *Comment) map[string]any { return g.commentJSON(r, rp, number, c) })
	g.mu.Unlock()
	if rp == nil {
		ghError(w, http.StatusNotFound, "Not Found")
		return
	}
	g.setLinks(w, r, page, perPage, len(all))
	writeValue(w, http.StatusOK, out)
}

// ghPaging reads per_page (default 30, at most 100) and page (default 1).
func ghPaging(r *http.Request) (perPage, page int) { return paging(r, 30) }

// setLinks sets GitHub's Link header for page of a list of total items.
func (g *GitHub) setLinks(w http.ResponseWriter, r *http.Request, page, perPage, total int) {
	last := max(1, (total+perPage-1)/perPage)
	link := pageLink(r, perPage)
	var links []string
	if page > 1 {
		links = append(links, link(page-1, "prev"), link(1, "first"))
	}
	if page < last {
		links = append(links, link(page+1, "next"), link(last, "last"))
	}
	if len(links) > 0 {
		w.Header().Set("Link", strings.Join(links, ", "))
	}
}

func readBody(w http.ResponseWriter, r *http.Request) (string, bool) {
	var in struct {
		Body *string `json:"body"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Body == nil {
		ghError(w, http.StatusUnprocessableEntity, "Invalid request.\n\n\"body\" wasn't supplied.")
		return "", false
	}
	if utf8.RuneCountInString(*in.Body) > 65536 {
		ghValidation(w, "IssueComment", "data", "Body is too long (maximum is 65536 characters)")
		return "", false
	}
	return *in.Body, true
}

// writeNumber checks a write to the request's issue or PR number is allowed
// and reads the number, or answers.
func (g *GitHub) writeNumber(w http.ResponseWriter, r *http.Request) (Token, int, bool) {
	tk, ok := g.write(w, r)
	if !ok {
		return tk, 0, false
	}
	number, ok := pathNumber(w, r, "number", ghNotFound)
	return tk, number, ok
}

func (g *GitHub) createComment(w http.ResponseWriter, r *http.Request) {
	tk, number, ok := g.writeNumber(w, r)
	if !ok {
		return
	}
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	rp := g.lockRepo(w, r, ghNotFound)
	if rp == nil {
		return
	}
	c := g.addComment(rp, number, tk.Login, body)
	out := g.commentJSON(r, rp, number, c)
	g.mu.Unlock()
	ghCreated(w, out)
}

func (g *GitHub) editComment(w http.ResponseWriter, r *http.Request) {
	_, ok := g.write(w, r)
	if !ok {
		return
	}
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	rp := g.pathRepo(r)
	if number, c, ok := g.editAny(w, rp, id, body, commentErrs{ghError, "Not Found"}); ok {
		writeValue(w, http.StatusOK, g.commentJSON(r, rp, number, c))
	}
}

func (g *GitHub) deleteComment(w http.ResponseWriter, r *http.Request) {
	_, ok := g.write(w, r)
	if !ok {
		return
	}
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	g.mu.Lock()
	defer g.mu.Unlock()
	deleteAny(w, g.pathRepo(r), id, commentErrs{ghError, "Not Found"})
}

// resolve returns the files at ref (a branch name or a commit sha); the
// caller holds mu.
func resolve(rp *repo, ref string) (map[string][]byte, bool) {
	if h, ok := rp.branches[ref]; ok {
		ref = h
	}
	files, ok := rp.commits[ref]
	return files, ok
}

// fileAt returns the content of path at ref (default "main") in owner/name,
// and whether it exists there.
func (c *core) fileAt(owner, name, ref, path string) ([]byte, bool) {
	if ref == "" {
		ref = "main"
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	rp := c.repo(owner, name, false)
	if rp == nil {
		return nil, false
	}
	files, ok := resolve(rp, ref)
	if !ok {
		return nil, false
	}
	content, found := files[path]
	return content, found
}

func (g *GitHub) contents(w http.ResponseWriter, r *http.Request) {
	if _, ok := g.auth(w, r); !ok {
		return
	}
	accept := r.Header.Get("Accept")
	if !strings.Contains(accept, "application/vnd.github.raw") && !strings.Contains(accept, "application/vnd.github.v3.raw") {
		ghError(w, http.StatusNotAcceptable, "this fake serves file contents with the raw media type only")
		return
	}
	content, found := g.fileAt(r.PathValue("owner"), r.PathValue("repo"), r.URL.Query().Get("ref"), r.PathValue("path"))
	if !found {
		ghError(w, http.StatusNotFound, "Not Found")
		return
	}
	w.Header().Set("Content-Type", "application/vnd.github.raw; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	w.Write(content)
}

func (g *GitHub) gitRef(w http.ResponseWriter, r *http.Request) {
	if _, ok := g.auth(w, r); !ok {
		return
	}
	ref := r.PathValue("ref")
	branch, ok := strings.CutPrefix(ref, "heads/")
	g.mu.Lock()
	rp := g.pathRepo(r)
	sha := ""
	if rp != nil && ok {
		sha = rp.branches[branch]
	}
	g.mu.Unlock()
	if sha == "" {
		ghError(w, http.StatusNotFound, "Not Found")
		return
	}
	base := g.base(r) + "/repos/" + r.PathValue("owner") + "/" + r.PathValue("repo")
	writeValue(w, http.StatusOK, map[string]any{
		"ref": "refs/" + ref, "node_id": "REF_" + sha[:8], "url": base + "/git/refs/" + ref,
		"object": map[string]any{"type": "commit", "sha": sha, "url": base + "/git/commits/" + sha},
	})
}
