package panel

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/tinyforge/tinyforge-check/gitops"
	"github.com/tinyforge/tinyforge-check/internal/secret"
	"github.com/tinyforge/tinyforge-check/tinyforge"
)

// shaRE is what a commit SHA or file fingerprint in a link or form may look like.
var shaRE = regexp.MustCompile(`^[0-9a-fA-F]{7,64}$`)

// permit checks, before any Backend call, that the principal may act on workload id (its
// workload limit) and, when admin is set, that it is an admin; it renders 403 otherwise.
func (p *Panel) permit(w http.ResponseWriter, r *http.Request, rq request, id int64, admin bool) bool {
	pr := rq.s.p
	if pr.WorkloadID != 0 && pr.WorkloadID != id {
		p.renderError(w, r, &rq, http.StatusForbidden, "error.other_workload", "")
		return false
	}
	if admin && !pr.IsAdmin() {
		p.renderError(w, r, &rq, http.StatusForbidden, "error.admin_only", "")
		return false
	}
	return true
}

func (p *Panel) pathID(w http.ResponseWriter, r *http.Request, rq request) (int64, bool) {
	id, ok := workloadID(r)
	if !ok {
		p.renderError(w, r, &rq, http.StatusNotFound, "error.not_found", "")
	}
	return id, ok
}

type listPage struct {
	base
	Workloads []listRow
}

// listRow is one workload of the list with its GitOps state.
type listRow struct {
	tinyforge.WorkloadSummary
	State state
}

func (p *Panel) listPage(w http.ResponseWriter, r *http.Request, rq request) {
	list, err := p.backend.ListWorkloads(r.Context(), rq.s.p)
	if err != nil {
		p.backendError(w, r, rq, err)
		return
	}
	states := p.listStates(r.Context(), rq.s.p, list)
	rows := make([]listRow, 0, len(list))
	for _, wl := range list {
		rows = append(rows, listRow{WorkloadSummary: wl, State: states[wl.ID].text(p.cats[rq.lang])})
	}
	b := p.base(r, &rq, "list")
	b.Notice = p.show(rq.lang, p.sessions.takeFlash(rq.s.id))
	p.render(w, rq.lang, "list", http.StatusOK, listPage{base: b, Workloads: rows})
}

// liveRow is one key of the live source_config.
type liveRow struct {
	Key, Value string
	// Managed reports whether the GitOps file declares this key.
	Managed bool
}

// driftRow is one declared field in the drift view.
type driftRow struct {
	Field, Repo, Live, Normalization string
	Equal                            bool
	// SetBy says what last set a differing live value; nil when the backend did not say.
	SetBy *setByRow
}

// setByRow is drift attribution as the drift view shows it, in the page's language: how, who,
// when and which audit row.
type setByRow struct {
	How, Who, Event string
	When            timeText
}

// setByOf renders sb in the catalogue's language.
func setByOf(c *catalogue, sb *gitops.SetBy) *setByRow {
	if sb == nil {
		return nil
	}
	var how string
	switch {
	case sb.Action == "sync":
		how = c.T("drift.set_by_sync", gitops.ShortSHA(sb.CommitSHA))
	case sb.Action == "create":
		how = c.T("drift.set_by_create")
	case sb.Via == "panel":
		how = c.T("drift.set_by_edit_panel")
	case sb.Via == "api":
		how = c.T("drift.set_by_edit_api")
	default:
		how = c.T("drift.set_by_other")
	}
	return &setByRow{How: how, Who: c.T("drift.set_by_who", sb.Actor, sb.Role), When: c.when(sb.At),
		Event: c.T("drift.set_by_event", strconv.FormatInt(sb.EventID, 10))}
}

// gitopsPanel is everything the #gitops panel shows.
type gitopsPanel struct {
	View *View
	// Message explains the view's status in the page's language.
	Message string
	// Detail is the server's own explanation, shown as it is (redacted) where the panel's
	// message cannot say more: why a fetch failed, why a file without diagnostics is invalid.
	Detail string
	// State is the workload's state as the list shows it (in sync, or drift N).
	State state
	// Error explains why the view could not be loaded.
	Error *shownNotice
	Rows  []driftRow
	// ReviewedFile and ReviewedCommit come from ?file= and ?commit= (the PR comment's link).
	ReviewedFile, ReviewedCommit string
	// Mismatch: the fetched file (or, without ?file=, the commit) is not the reviewed one;
	// Sync is disabled.
	Mismatch bool
	// CommitMoved: the branch head differs from ?commit= but the file is the reviewed one.
	CommitMoved bool
	// PR is the pull request the link was made on (?pr=), 0 for none. Its commit is on the
	// branch only once merged, so it never "moved".
	PR int
	// NotMerged: the link names PR and its file is not the branch's: the PR proposes it and
	// Sync, which applies the branch, is off until the merge. Mismatch is then false.
	NotMerged bool
	// NotMergedMessage says so, naming the PR and the branch, in the page's language.
	NotMergedMessage string
	// Proposal is the PR's file at ?commit= compared with live (what a Sync will change once it
	// is merged); nil when it could not be read.
	Proposal *View
	// ProposalRows are Proposal's drift rows.
	ProposalRows []driftRow
	// CanSync: an admin, status ok, and no mismatch.
	CanSync bool
	// ConfirmURL is the confirm page, the no-JavaScript path to Sync.
	ConfirmURL string
}

type workloadPage struct {
	base
	W       *tinyforge.Workload
	Live    []liveRow
	GitOps  gitopsPanel
	IsAdmin bool
	// Supported reports whether the workload's source type can use GitOps.
	Supported bool
}

func (p *Panel) workloadPage(w http.ResponseWriter, r *http.Request, rq request) {
	id, ok := p.pathID(w, r, rq)
	if !ok || !p.permit(w, r, rq, id, false) {
		return
	}
	p.showWorkload(w, r, rq, id, "workload", http.StatusOK, p.sessions.takeFlash(rq.s.id))
}

// showWorkload renders the workload page (or its confirm page) with an optional notice.
func (p *Panel) showWorkload(w http.ResponseWriter, r *http.Request, rq request, id int64, page string, status int, n *notice) {
	wl, err := p.backend.Workload(r.Context(), rq.s.p, id)
	if err != nil {
		p.backendError(w, r, rq, err)
		return
	}
	data := workloadPage{base: p.base(r, &rq, page), W: wl, IsAdmin: rq.s.p.IsAdmin(), Supported: gitops.SupportsGitOps(wl.SourceType)}
	data.Notice = p.show(rq.lang, n)
	gp := gitopsPanel{ConfirmURL: confirmURL(id, r.URL.Query())}
	q := r.URL.Query()
	gp.ReviewedFile, gp.ReviewedCommit = q.Get("file"), q.Get("commit")
	view, err := p.backend.GitOps(r.Context(), rq.s.p, id)
	switch {
	case err != nil:
		status, key := errorStatus(err)
		if status == http.StatusUnauthorized {
			p.backendError(w, r, rq, err)
			return
		}
		gp.Error = p.show(rq.lang, &notice{Kind: "error", Key: key, Detail: errorDetail(err, rq.s.p.Credential)})
	default:
		view.Message = secret.Redact(view.Message, rq.s.p.Credential)
		gp.View = view
		gp.Message, gp.Detail = statusMessage(p.cats[rq.lang], view, data.IsAdmin)
		gp.State = stateOf(view, nil).text(p.cats[rq.lang])
		gp.Rows = driftRows(p.cats[rq.lang], view)
		gp.Mismatch, gp.CommitMoved = pinState(view, gp.ReviewedFile, gp.ReviewedCommit)
		if gp.PR = prNumber(q.Get("pr")); gp.PR > 0 {
			p.proposal(r.Context(), rq, id, &gp)
		}
		gp.CanSync = data.IsAdmin && view.Status == string(gitops.StatusOK) && !gp.Mismatch && !gp.NotMerged &&
			shaRE.MatchString(view.CommitSHA) && shaRE.MatchString(view.FileSHA)
	}
	data.GitOps = gp
	data.Live = liveRows(wl.SourceConfig, managedKeys(gp.View))
	p.render(w, rq.lang, page, status, data)
}

// prNumber is the ?pr= of a link, 0 when absent or not a positive number.
func prNumber(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 || len(s) > 10 {
		return 0
	}
	return n
}

// proposal handles a link made on pull request gp.PR. Its commit is the PR's head, which is on
// the branch only once merged: a branch head that differs is no move. When the file differs
// too, the PR proposes a file that is not on the branch yet: the panel says so, previews it
// against live (read at the link's commit) and keeps Sync off until the merge.
func (p *Panel) proposal(ctx context.Context, rq request, id int64, gp *gitopsPanel) {
	gp.CommitMoved = false
	if !gp.Mismatch || gp.ReviewedFile == "" {
		return // the PR's file is the branch's: merged (or the same content)
	}
	c := p.cats[rq.lang]
	branch := ""
	if gp.ReviewedCommit != "" {
		if pv, err := p.backend.GitOpsAt(ctx, rq.s.p, id, gp.ReviewedCommit); err == nil {
			if !strings.EqualFold(pv.FileSHA, gp.ReviewedFile) {
				return // the link's file is not even the PR's: not what was reviewed
			}
			pv.Message = secret.Redact(pv.Message, rq.s.p.Credential)
			gp.Proposal, gp.ProposalRows, branch = pv, driftRows(c, pv), pv.Branch
		}
	}
	gp.Mismatch, gp.NotMerged = false, true
	if branch == "" {
		branch = c.T("pin.the_branch")
	}
	gp.NotMergedMessage = c.T("pin.pr_not_merged", gp.PR, branch)
}

// statusMessage explains a view's status in the catalogue's language, and returns the server's
// message as the detail where it says what the panel cannot: why a fetch failed, why a file is
// invalid beyond its diagnostics, why a valid file could not be compared.
func statusMessage(c *catalogue, v *View, admin bool) (msg, detail string) {
	switch gitops.FetchStatus(v.Status) {
	case gitops.StatusDisabled:
		if admin {
			return c.T("gitops.off_admin", c.T("gitops.enable"), c.T("gitops.save")), ""
		}
		return c.T("gitops.off_viewer", c.T("gitops.enable")), ""
	case gitops.StatusNoFile:
		return c.T("gitops.no_file", v.Path, cmp.Or(gitops.ShortSHA(v.CommitSHA), "—")), ""
	case gitops.StatusInvalid:
		n := 0
		for _, d := range v.Diagnostics {
			if d.Severity == string(gitops.SeverityError) {
				n++
			}
		}
		if n == 0 {
			return c.T("gitops.invalid_other"), v.Message
		}
		return c.T("gitops.invalid", n), ""
	case gitops.StatusOK:
		return "", v.Message
	}
	return c.T("gitops.fetch_failed"), v.Message
}

// confirmURL is the no-JavaScript confirm page, keeping the reviewed pins of the link.
func confirmURL(id int64, q url.Values) string {
	keep := url.Values{}
	for _, k := range []string{"file", "commit", "pr"} {
		if v := q.Get(k); v != "" {
			keep.Set(k, v)
		}
	}
	u := "/apps/" + strconv.FormatInt(id, 10) + "/sync"
	if len(keep) > 0 {
		u += "?" + keep.Encode()
	}
	return u
}

// pinState compares what the link says was reviewed with what was fetched. The file
// fingerprint decides when the link has one (after a merge the commit differs but the file is
// the same); without it, a commit that moved is a mismatch.
func pinState(v *View, file, commit string) (mismatch, moved bool) {
	commitDiffers := commit != "" && !strings.EqualFold(commit, v.CommitSHA)
	if file != "" {
		if !strings.EqualFold(file, v.FileSHA) || v.FileSHA == "" {
			return true, false
		}
		return false, commitDiffers
	}
	return commitDiffers, false
}

// driftRows is the drift view: every declared field with its comparison, or only the drift
// when the Backend gave no comparisons. Normalizations are in the catalogue's language.
func driftRows(c *catalogue, v *View) []driftRow {
	var rows []driftRow
	setBy := map[string]*gitops.SetBy{}
	for _, d := range v.Drift {
		setBy[d.Field] = d.SetBy
	}
	if v.Comparisons != nil {
		for _, comp := range v.Comparisons {
			row := driftRow{Field: comp.Field, Repo: comp.RepoValue, Live: comp.LiveValue, Normalization: normalization(c, comp), Equal: comp.Equal}
			if !comp.Equal {
				row.SetBy = setByOf(c, setBy[comp.Field])
			}
			rows = append(rows, row)
		}
		return rows
	}
	for _, d := range v.Drift {
		rows = append(rows, driftRow{Field: d.Field, Repo: d.RepoValue, Live: d.LiveValue, SetBy: setByOf(c, d.SetBy)})
	}
	return rows
}

// normalization is the rule that made a comparison's two values equal, in the catalogue's
// language; gitops.Compare names the rules per field (docs/file-format.md). A rule the panel
// does not know is shown as gitops wrote it.
func normalization(c *catalogue, comp gitops.Comparison) string {
	if comp.Normalization == "" {
		return ""
	}
	switch comp.Field {
	case gitops.FieldPort:
		if strings.Contains(comp.Normalization, "the string ") {
			return c.T("norm.port_string", comp.LiveValue, comp.RepoValue)
		}
		return c.T("norm.port", comp.LiveValue, comp.RepoValue)
	case gitops.FieldHealthcheck:
		return c.T("norm.healthcheck")
	case gitops.FieldDeployStrategy:
		return c.T("norm.deploy_strategy")
	}
	return comp.Normalization
}

// managedKeys maps the source_config keys the file declares (e.g. "port" for "deploy.port").
func managedKeys(v *View) map[string]bool {
	out := map[string]bool{}
	if v == nil || !v.Enabled {
		return out
	}
	for _, f := range v.ManagedFields {
		out[strings.TrimPrefix(f, "deploy.")] = true
	}
	return out
}

// liveRows lists the live source_config's keys, sorted, values as compact JSON text (strings
// bare).
func liveRows(cfg json.RawMessage, managed map[string]bool) []liveRow {
	obj, err := decodeObject(cfg)
	if err != nil {
		return []liveRow{{Key: "(source_config)", Value: string(cfg)}}
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	rows := make([]liveRow, 0, len(keys))
	for _, k := range keys {
		rows = append(rows, liveRow{Key: k, Value: valueText(obj[k]), Managed: managed[k]})
	}
	return rows
}

// decodeObject decodes a JSON object keeping numbers as written; empty or null is {}.
func decodeObject(raw json.RawMessage) (map[string]any, error) {
	trimmed := bytes.TrimSpace(raw)
	obj := map[string]any{}
	if len(trimmed) == 0 || string(trimmed) == "null" {
		return obj, nil
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.UseNumber()
	if err := dec.Decode(&obj); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("more than one JSON value")
	}
	if obj == nil {
		obj = map[string]any{}
	}
	return obj, nil
}

// valueText renders a decoded JSON value: a string as itself, anything else as compact JSON.
func valueText(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "?"
	}
	return strings.TrimRight(buf.String(), "\n")
}

// confirmPage is the Sync confirmation as a page, for browsers without JavaScript.
func (p *Panel) confirmPage(w http.ResponseWriter, r *http.Request, rq request) {
	id, ok := p.pathID(w, r, rq)
	if !ok || !p.permit(w, r, rq, id, true) {
		return
	}
	p.showWorkload(w, r, rq, id, "confirm", http.StatusOK, nil)
}

// sync posts a Sync pinned to the commit and file fingerprint the confirm dialog showed.
func (p *Panel) sync(w http.ResponseWriter, r *http.Request, rq request) {
	id, ok := p.pathID(w, r, rq)
	if !ok || !p.permit(w, r, rq, id, true) {
		return
	}
	commit, file := r.PostForm.Get("commit_sha"), r.PostForm.Get("file_sha")
	if !shaRE.MatchString(commit) || !shaRE.MatchString(file) {
		p.showWorkload(w, r, rq, id, "workload", http.StatusBadRequest, &notice{Kind: "error", Key: "sync.unpinned"})
		return
	}
	res, err := p.backend.Sync(r.Context(), rq.s.p, id, tinyforge.SyncRequest{CommitSHA: commit, FileSHA: file})
	if err != nil {
		p.actionFailed(w, r, rq, id, "sync.failed", err)
		return
	}
	done := &notice{Kind: "ok", Key: "sync.done", Args: []any{len(res.Applied), gitops.ShortSHA(res.CommitSHA)}}
	if len(res.Applied) == 0 {
		done = &notice{Kind: "ok", Key: "sync.done_nothing", Args: []any{gitops.ShortSHA(res.CommitSHA)}}
	}
	p.sessions.setFlash(rq.s.id, done)
	http.Redirect(w, r, "/apps/"+strconv.FormatInt(id, 10)+"#gitops", http.StatusSeeOther)
}

// actionFailed shows the workload page again with the refused action's reason and status.
func (p *Panel) actionFailed(w http.ResponseWriter, r *http.Request, rq request, id int64, key string, err error) {
	status, _ := errorStatus(err)
	if status == http.StatusUnauthorized || status == http.StatusNotFound {
		p.backendError(w, r, rq, err)
		return
	}
	if status >= 500 {
		p.log.Error("backend action failed", "path", r.URL.Path, "err", secret.Redact(err.Error(), rq.s.p.Credential))
	}
	p.showWorkload(w, r, rq, id, "workload", status, &notice{Kind: "error", Key: key, Detail: errorDetail(err, rq.s.p.Credential)})
}

// setGitOps saves the enable toggle and the file path.
func (p *Panel) setGitOps(w http.ResponseWriter, r *http.Request, rq request) {
	id, ok := p.pathID(w, r, rq)
	if !ok || !p.permit(w, r, rq, id, true) {
		return
	}
	req := tinyforge.SetGitOpsRequest{Enabled: r.PostForm.Get("enabled") == "on", Path: strings.TrimSpace(r.PostForm.Get("path"))}
	if err := p.backend.SetGitOps(r.Context(), rq.s.p, id, req); err != nil {
		p.actionFailed(w, r, rq, id, "gitops.save_failed", err)
		return
	}
	key := "gitops.disabled_done"
	if req.Enabled {
		key = "gitops.enabled_done"
	}
	p.sessions.setFlash(rq.s.id, &notice{Kind: "ok", Key: key})
	http.Redirect(w, r, "/apps/"+strconv.FormatInt(id, 10)+"#gitops", http.StatusSeeOther)
}
