package forgefake

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Gitea is a stateful fake of the Gitea/Forgejo API v1 (under /api/v1). With
// Options.Forgejo it is Forgejo, which answers GET /api/forgejo/v1/version; else
// Gitea, which 404s there.
// Like Gitea it answers the whole issue-comment list at once (no
// pagination), names a status's state "status" and accepts "warning". Issues
// are listed newest first, limit 30 by default and at most 50, with
// X-Total-Count and Link headers; an edit answers 201; an issue is created
// with label ids (AddLabel makes them; unknown ids are dropped); a
// created_by naming a user the fake has never seen answers 404. Comments on
// issues go through the comment endpoints (a number that is no issue is taken
// for a PR).
type Gitea struct {
	*core
}

// NewGitea starts a fake Gitea. Pass Options{Spec: specs.Gitea(t)} to
// validate every request and response against Gitea's swagger.
func NewGitea(t Owner, opts Options) *Gitea {
	g := &Gitea{core: newCore(t, "gitea", opts)}
	mux := http.NewServeMux()
	const p = "/api/v1"
	mux.HandleFunc("GET "+p+"/user", g.user)
	mux.HandleFunc("POST "+p+"/repos/{owner}/{repo}/statuses/{sha}", g.createStatus)
	mux.HandleFunc("GET "+p+"/repos/{owner}/{repo}/issues", g.listIssues)
	mux.HandleFunc("POST "+p+"/repos/{owner}/{repo}/issues", g.createIssue)
	mux.HandleFunc("GET "+p+"/repos/{owner}/{repo}/issues/{index}", g.getIssue)
	mux.HandleFunc("PATCH "+p+"/repos/{owner}/{repo}/issues/{index}", g.editIssue)
	mux.HandleFunc("GET "+p+"/repos/{owner}/{repo}/labels", g.listLabels)
	mux.HandleFunc("GET "+p+"/repos/{owner}/{repo}/issues/{number}/comments", g.listComments)
	mux.HandleFunc("POST "+p+"/repos/{owner}/{repo}/issues/{number}/comments", g.createComment)
	mux.HandleFunc("PATCH "+p+"/repos/{owner}/{repo}/issues/comments/{id}", g.editComment)
	mux.HandleFunc("DELETE "+p+"/repos/{owner}/{repo}/issues/comments/{id}", g.deleteComment)
	mux.HandleFunc("GET "+p+"/repos/{owner}/{repo}/raw/{path...}", g.raw)
	mux.HandleFunc("GET "+p+"/repos/{owner}/{repo}/branches/{branch...}", g.branch)
	mux.HandleFunc("GET "+p+"/repos/{owner}/{repo}/commits/{sha}/pull", g.commitPull)
	mux.HandleFunc("GET "+ForgejoVersionPath, g.forgejoVersion)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { gtError(w, http.StatusNotFound, "not found") })
	g.start(mux)
	return g
}

// ForgejoVersionPath is the route where Forgejo says it is Forgejo, and which version
// (operation getVersion of Forgejo's own API description, forgejo/api/v1/openapi.yml; public,
// no token needed). Gitea has no such route.
const ForgejoVersionPath = "/api/forgejo/v1/version"

// forgejoVersion answers ForgejoVersionPath: as Forgejo with Options.Forgejo, {"version": ...};
// as Gitea, 404 "Not found." in text/plain, not the API's JSON error, since the path is outside
// /api/v1 (measured on Gitea 1.26 by e2e.TestGiteaPermissionScopes).
func (g *Gitea) forgejoVersion(w http.ResponseWriter, _ *http.Request) {
	if g.opts.Forgejo == "" {
		w.Header().Set("Content-Type", "text/plain;charset=utf-8")
		w.WriteHeader(http.StatusNotFound)
		w.Write([]byte("Not found.\n"))
		return
	}
	writeValue(w, http.StatusOK, map[string]string{"version": g.opts.Forgejo})
}

func gtError(w http.ResponseWriter, status int, msg string) {
	writeValue(w, status, map[string]any{"message": msg, "url": "https://gitea.example/api/swagger"})
}

// gtIssueNotFound answers 404 for a number that is no issue.
func gtIssueNotFound(w http.ResponseWriter) { gtError(w, http.StatusNotFound, "issue not found") }

// gtRepoNotFound answers 404 for a missing repository.
func gtRepoNotFound(w http.ResponseWriter) {
	gtError(w, http.StatusNotFound, "repository not found")
}

func (g *Gitea) auth(w http.ResponseWriter, r *http.Request, write bool) (Token, bool) {
	return g.authorize(w, r, write, gtError, gtUnauthorized, "token does not have at least one of required scope(s): [write:issue write:repository]")
}

const gtUnauthorized = "user does not exist or token is invalid"

func (g *Gitea) base(r *http.Request) string { return baseURL(r) }

func gtUser(base, login string) map[string]any {
	return map[string]any{
		"id": loginID(login), "login": login, "login_name": "", "source_id": 0, "full_name": login,
		"email":      strings.Trim(strings.ReplaceAll(login, "[bot]", "-bot"), "-") + "@noreply.gitea.example",
		"avatar_url": base + "/avatars/" + login, "html_url": base + "/" + login, "language": "en-US",
		"is_admin": false, "last_login": "2026-01-01T00:00:00Z", "created": "2020-01-01T00:00:00Z",
		"restricted": false, "active": true, "prohibit_login": false, "location": "", "website": "",
		"description": "", "visibility": "public", "followers_count": 0, "following_count": 0, "starred_repos_count": 0,
	}
}

func (g *Gitea) user(w http.ResponseWriter, r *http.Request) {
	tk, ok := g.auth(w, r, false)
	if !ok {
		return
	}
	if tk.NoReadUser {
		gtError(w, http.StatusForbidden, "token does not have at least one of required scope(s), required=[read:user], token scope=write:issue,write:repository")
		return
	}
	writeValue(w, http.StatusOK, gtUser(g.base(r), tk.Login))
}

func (g *Gitea) createStatus(w http.ResponseWriter, r *http.Request) {
	tk, ok := g.auth(w, r, true)
	if !ok {
		return
	}
	if tk.CannotSetStatus {
		gtError(w, http.StatusForbidden, "user should have a permission to write to a repo")
		return
	}
	var in struct {
		State       string `json:"state"`
		TargetURL   string `json:"target_url"`
		Description string `json:"description"`
		Context     string `json:"context"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		gtError(w, http.StatusBadRequest, "invalid JSON")
		return
	}
	// Gitea 1.26 has no description limit of GitHub's kind: a 1,000-character description is
	// kept whole (measured by e2e.TestGiteaStatuses).
	g.mu.Lock()
	rp := g.pathRepo(r)
	sha := r.PathValue("sha")
	if rp == nil || rp.commits[sha] == nil {
		g.mu.Unlock()
		gtError(w, http.StatusNotFound, "commit not found")
		return
	}
	g.nextID++
	st := &Status{ID: g.nextID, State: in.State, Context: in.Context, Description: in.Description, TargetURL: in.TargetURL, Creator: tk.Login}
	rp.statuses[sha] = append(rp.statuses[sha], st)
	ts := g.now().Format(time.RFC3339)
	g.mu.Unlock()
	writeValue(w, http.StatusCreated, map[string]any{
		"id": st.ID, "status": st.State, "target_url": st.TargetURL, "description": st.Description,
		"url":     g.base(r) + "/api/v1/repos/" + r.PathValue("owner") + "/" + r.PathValue("repo") + "/statuses/" + sha,
		"context": st.Context, "creator": gtUser(g.base(r), tk.Login), "created_at": ts, "updated_at": ts,
	})
}

// commentJSON renders a comment on PR or issue number of rp as Gitea's
// convert.ToAPIComment (issue_url for an issue, pull_request_url for a PR);
// the caller holds mu.
func (g *Gitea) commentJSON(r *http.Request, rp *repo, number int, c *Comment) map[string]any {
	base := g.base(r)
	web := base + "/" + r.PathValue("owner") + "/" + r.PathValue("repo")
	on := web + "/pulls/" + strconv.Itoa(number)
	prURL, issueURL := on, ""
	if rp.issues[number] != nil {
		on = web + "/issues/" + strconv.Itoa(number)
		prURL, issueURL = "", on
	}
	return map[string]any{
		"id": c.ID, "html_url": on + "#issuecomment-" + strconv.FormatInt(c.ID, 10),
		"pull_request_url": prURL, "issue_url": issueURL,
		"user": gtUser(base, c.Author), "original_author": "", "original_author_id": 0,
		"body": c.Body, "assets": []any{},
		"created_at": c.Created.Format(time.RFC3339), "updated_at": c.Updated.Format(time.RFC3339),
	}
}

func (g *Gitea) listComments(w http.ResponseWriter, r *http.Request) {
	if _, ok := g.auth(w, r, false); !ok {
		return
	}
	number, ok := pathNumber(w, r, "number", gtIssueNotFound)
	if !ok {
		return
	}
	g.mu.Lock()
	rp := g.pathRepo(r)
	out := []map[string]any{}
	if rp != nil {
		for _, c := range sortedComments(rp.comments[number]) { // all at once, as Gitea
			out = append(out, g.commentJSON(r, rp, number, c))
		}
	}
	g.mu.Unlock()
	if rp == nil {
		gtError(w, http.StatusNotFound, "repository not found")
		return
	}
	writeValue(w, http.StatusOK, out)
}

func gtBody(w http.ResponseWriter, r *http.Request) (string, bool) {
	var in struct {
		Body string `json:"body"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Body == "" {
		gtError(w, http.StatusUnprocessableEntity, "body is required")
		return "", false
	}
	// Gitea 1.26 keeps a 1,100,000-character comment whole (measured by
	// e2e.TestGiteaStickyComment); the providers cap bodies themselves.
	return in.Body, true
}

func (g *Gitea) createComment(w http.ResponseWriter, r *http.Request) {
	tk, ok := g.auth(w, r, true)
	if !ok {
		return
	}
	number, ok := pathNumber(w, r, "number", gtIssueNotFound)
	if !ok {
		return
	}
	body, ok := gtBody(w, r)
	if !ok {
		return
	}
	rp := g.lockRepo(w, r, gtRepoNotFound)
	if rp == nil {
		return
	}
	c := g.addComment(rp, number, tk.Login, body)
	g.unlockAnswer(w, http.StatusCreated, g.commentJSON(r, rp, number, c))
}

func (g *Gitea) editComment(w http.ResponseWriter, r *http.Request) {
	_, ok := g.auth(w, r, true)
	if !ok {
		return
	}
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	body, ok := gtBody(w, r)
	if !ok {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	rp := g.pathRepo(r)
	if number, c, ok := g.editAny(w, rp, id, body, gtCommentErrs); ok {
		writeValue(w, http.StatusOK, g.commentJSON(r, rp, number, c))
	}
}

// gtCommentErrs are Gitea's answers to a change to a comment.
var gtCommentErrs = commentErrs{gtError, "comment not found"}

func (g *Gitea) deleteComment(w http.ResponseWriter, r *http.Request) {
	_, ok := g.auth(w, r, true)
	if !ok {
		return
	}
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	g.mu.Lock()
	defer g.mu.Unlock()
	deleteAny(w, g.pathRepo(r), id, gtCommentErrs)
}

func (g *Gitea) raw(w http.ResponseWriter, r *http.Request) {
	if _, ok := g.auth(w, r, false); !ok {
		return
	}
	content, found := g.fileAt(r.PathValue("owner"), r.PathValue("repo"), r.URL.Query().Get("ref"), r.PathValue("path"))
	if !found {
		gtError(w, http.StatusNotFound, "file not found")
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.WriteHeader(http.StatusOK)
	w.Write(content)
}

func (g *Gitea) branch(w http.ResponseWriter, r *http.Request) {
	if _, ok := g.auth(w, r, false); !ok {
		return
	}
	name := r.PathValue("branch")
	g.mu.Lock()
	rp := g.pathRepo(r)
	sha := ""
	if rp != nil {
		sha = rp.branches[name]
	}
	g.mu.Unlock()
	if sha == "" {
		gtError(w, http.StatusNotFound, "branch not found")
		return
	}
	writeValue(w, http.StatusOK, map[string]any{
		"name": name,
		"commit": map[string]any{
			"id": sha, "message": "update\n", "timestamp": "2026-01-02T03:04:05Z",
			"url": g.base(r) + "/" + r.PathValue("owner") + "/" + r.PathValue("repo") + "/commit/" + sha,
		},
		"protected": false, "required_approvals": 0, "enable_status_check": false,
		"status_check_contexts": []string{}, "user_can_push": true, "user_can_merge": true,
		"effective_branch_protection_name": "",
	})
}
