package main

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
	gmhtml "github.com/yuin/goldmark/renderer/html"

	"github.com/tinyforge/tinyforge-check/checker"
	"github.com/tinyforge/tinyforge-check/internal/checkwire"
	"github.com/tinyforge/tinyforge-check/internal/forgefake"
	"github.com/tinyforge/tinyforge-check/providers"
	"github.com/tinyforge/tinyforge-check/tinyforge"
	"github.com/tinyforge/tinyforge-check/tinyforge/server"
	"github.com/tinyforge/tinyforge-check/tinyforge/server/panel"
)

// demoStop bounds the shutdown after Ctrl-C: the HTTP server, the forge and the database close
// and the temporary folder is removed within it.
const demoStop = 3 * time.Second

// The demo's forge: one owner holding one repo per workload, and the open PR of demoPRRepo.
const (
	demoOwner    = "demo"
	demoPRRepo   = "api"
	demoPRNumber = 1
	demoPRBranch = "port-8080"
)

// demoWorkload is one seeded workload: its live config and the file its repo's main branch holds.
type demoWorkload struct {
	name, sourceType string
	live             map[string]any
	// file is the .tinyforge.yml on main; "" means the repo has none.
	file string
	// gitops enables GitOps on the workload.
	gitops bool
	// story says, for people, what the workload shows.
	story string
}

// demoWorkloads are the demo's workloads, one per state the panel and the check tell apart.
func demoWorkloads() []demoWorkload {
	return []demoWorkload{
		{name: "web", sourceType: "dockerfile", gitops: true,
			live:  map[string]any{"dockerfile_path": "Dockerfile", "port": 8080, "healthcheck": "/healthz", "deploy_strategy": "rolling"},
			file:  "# Deploy settings Tinyforge reads on Sync.\nversion: 1\ndeploy:\n  port: 8080\n  healthcheck: /healthz\n  deploy_strategy: rolling\n",
			story: "the file and live agree"},
		{name: "api", sourceType: "dockerfile", gitops: true,
			live:  map[string]any{"dockerfile_path": "Dockerfile", "port": 3000, "healthcheck": "/healthz", "deploy_strategy": "rolling"},
			file:  demoAPIFile("3000"),
			story: "open PR #1 moves it to port 8080: merge it, then Sync"},
		{name: "worker", sourceType: "dockerfile", gitops: true,
			live:  map[string]any{"dockerfile_path": "Dockerfile", "port": 9000},
			file:  "version: 1\ndeploy:\n  port: 99999\n  replicas: 3\n",
			story: "the file breaks two rules, so Sync is refused"},
		{name: "docs", sourceType: "static", gitops: true,
			live:  map[string]any{"build_command": "npm run build", "output_dir": "dist", "deploy_strategy": "rolling"},
			story: "GitOps is on but the repo has no .tinyforge.yml"},
		{name: "legacy", sourceType: "dockerfile", gitops: false,
			live:  map[string]any{"dockerfile_path": "Dockerfile", "port": 5000},
			file:  "version: 1\ndeploy:\n  port: 5001\n",
			story: "GitOps is off: its file is never read"},
	}
}

// demoAPIFile is the api repo's .tinyforge.yml with port: main has 3000, like live; the open
// pull request proposes 8080.
func demoAPIFile(port string) string {
	return "# Deploy settings Tinyforge reads on Sync.\nversion: 1\ndeploy:\n  port: " + port + "\n  healthcheck: /healthz\n  deploy_strategy: rolling\n"
}

// demoUsage is printed by demo -h.
const demoUsage = `Start a throwaway Tinyforge with a built-in Gitea-compatible forge, five workloads (in sync,
an open pull request that changes the port, invalid file, no file, GitOps off), and the real
check's comment on that pull request. Open the printed URLs, sign in with the printed token and
live the loop: follow the comment's link (not merged yet: Sync is off), merge the pull request
on its page, follow the link again and press Sync, then run the check again. Nothing is kept:
the database lives in a temporary folder that Ctrl-C removes.`

// demo is one running demo: the forge, the server's public URL and what the check needs.
type demo struct {
	forge      *forgefake.Gitea
	forgeToken string // the forge token both the check and Tinyforge's fetches use
	checkToken string // a Tinyforge viewer token limited to the PR's workload
	publicURL  string
	prHead     string
	prBase     string
	merged     string // the merge commit of the PR once /demo/merge merged it, else ""
	hc         *http.Client
	md         goldmark.Markdown

	mu    sync.Mutex // serializes check runs and guards runID and last
	runID int64
	last  *checker.Report
}

func (a *app) demo(ctx context.Context, args []string) int {
	fs := a.flags("demo")
	addr := fs.String("addr", "127.0.0.1:8080", "`host:port` for the panel and the demo pages (127.0.0.1:0 picks a free port)")
	if code, ok := a.parse(fs, args); !ok {
		if code == 0 {
			fmt.Fprintf(a.stdout, "\n%s\n", demoUsage)
		}
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(a.stderr, "tinyforge-server demo: takes no arguments, got %q\nRun \"tinyforge-server demo -h\" for usage.\n", fs.Arg(0))
		return 2
	}
	// Only warnings reach the terminal: the demo's own lines are what a newcomer reads.
	log := slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if err := a.runDemo(ctx, *addr, log); err != nil {
		fmt.Fprintln(a.stderr, "tinyforge-server demo:", err)
		return 1
	}
	return 0
}

// runDemo starts everything, prints how to use it and serves until ctx ends. Every resource it
// makes is released before it returns, and the temporary folder is removed.
func (a *app) runDemo(ctx context.Context, addr string, log *slog.Logger) (err error) {
	dir, err := os.MkdirTemp("", "tinyforge-demo-")
	if err != nil {
		return fmt.Errorf("make a temporary folder: %w", err)
	}
	defer func() {
		if rmErr := os.RemoveAll(dir); rmErr != nil && err == nil {
			err = fmt.Errorf("remove the temporary folder: %w", rmErr)
		}
	}()
	key := make([]byte, server.KeySize)
	rand.Read(key)
	cipher, err := server.NewCipher(key)
	if err != nil {
		return err
	}
	st, err := server.Open(ctx, filepath.Join(dir, "demo.db"))
	if err != nil {
		return err
	}
	defer st.Close()

	owner := &forgefake.Standalone{Log: func(format string, args ...any) { log.Warn("demo forge: " + fmt.Sprintf(format, args...)) }}
	defer owner.Close()
	d := &demo{forge: forgefake.NewGitea(owner, forgefake.Options{}), forgeToken: randomHex(20),
		hc: providers.NewHTTPClient(providers.HTTPConfig{Logger: log, UserAgent: "tinyforge-demo"}),
		md: goldmark.New(goldmark.WithExtensions(extension.GFM), goldmark.WithRendererOptions(gmhtml.WithUnsafe()))}
	d.forge.AddToken(d.forgeToken, forgefake.Token{Login: "tinyforge-bot"})

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w; pass --addr 127.0.0.1:0 to pick a free port", addr, err)
	}
	d.publicURL = "http://" + ln.Addr().String()
	loopback := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	srv, err := a.newServer(st, cipher, d.publicURL, loopback, log)
	if err != nil {
		ln.Close()
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /demo", d.page)
	mux.HandleFunc("POST /demo/check", d.recheck)
	mux.HandleFunc("POST /demo/merge", d.merge)
	mux.Handle("/", srv.Handler())
	hs := newHTTPServer(mux, log)
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	defer func() {
		stop, cancel := context.WithTimeout(context.Background(), demoStop)
		defer cancel()
		if shutErr := hs.Shutdown(stop); shutErr != nil {
			hs.Close()
		}
	}()

	admin, _, err := st.CreateToken(ctx, "demo admin", server.RoleAdmin, 0)
	if err != nil {
		return err
	}
	lines, err := d.seed(ctx, st, admin)
	if err != nil {
		return err
	}
	report, err := d.check(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, `Tinyforge demo: a throwaway server, a built-in forge and one open pull request.
Nothing is saved; Ctrl-C stops it and deletes everything.

panel: %s/apps
pull request: %s/demo
  (the comment the check wrote on PR #%d of %s/%s, and a button that runs the check again)

Sign in to the panel with this admin token:
token: %s

Workloads:
%s
The check on PR #%d: %s
Try it: open the pull request page and follow the comment's link: the PR is not merged, so Sync
is off. Press Merge on the pull request page: the comment says ready to Sync. Follow its link,
press Sync, then run the check again: it reads in sync.
The API answers at %s/api (docs/tinyforge-api.md, "Try it").
`, d.publicURL, d.publicURL, demoPRNumber, demoOwner, demoPRRepo, admin, lines, demoPRNumber, report.Description(), d.publicURL)

	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
		fmt.Fprintln(a.stdout, "\nstopping the demo and deleting its files")
		return nil
	}
}

// seed creates the forge repos, then the workloads through the server's own API with the admin
// token, as an admin would. It returns one line per workload with the state the server reports.
func (d *demo) seed(ctx context.Context, st *server.Store, admin string) (string, error) {
	api, err := tinyforge.NewClient(d.publicURL, admin, d.hc)
	if err != nil {
		return "", err
	}
	var out strings.Builder
	for _, w := range demoWorkloads() {
		d.forge.PutFile(demoOwner, w.name, "main", "README.md", []byte("# "+w.name+"\n"))
		if w.file != "" {
			d.forge.PutFile(demoOwner, w.name, "main", ".tinyforge.yml", []byte(w.file))
		}
		if w.name == demoPRRepo {
			d.prBase = d.forge.BranchHead(demoOwner, w.name, "main")
			d.forge.PutFile(demoOwner, w.name, demoPRBranch, "README.md", []byte("# "+w.name+"\n"))
			d.prHead = d.forge.PutFile(demoOwner, w.name, demoPRBranch, ".tinyforge.yml", []byte(demoAPIFile("8080")))
			d.forge.OpenPull(demoOwner, w.name, demoPRNumber, demoPRBranch, "main")
		}
		live, err := json.Marshal(w.live)
		if err != nil {
			return "", err
		}
		wl, err := api.CreateWorkload(ctx, tinyforge.CreateWorkloadRequest{Name: w.name, SourceType: w.sourceType, SourceConfig: live,
			Repo: &tinyforge.RepoSettings{Provider: "gitea", BaseURL: d.forge.URL(), Owner: demoOwner, Repo: w.name, Branch: "main", AccessToken: d.forgeToken}})
		if err != nil {
			return "", fmt.Errorf("create workload %s: %w", w.name, err)
		}
		state := panel.StateText(&tinyforge.GitOpsView{Status: "disabled"}) // the panel's word for GitOps off
		if w.gitops {
			v, err := api.SetGitOps(ctx, wl.ID, tinyforge.SetGitOpsRequest{Enabled: true, Path: ".tinyforge.yml"})
			if err != nil {
				return "", fmt.Errorf("enable GitOps on %s: %w", w.name, err)
			}
			state = panel.StateText(v) // as the panel's list names it
		}
		if w.name == demoPRRepo {
			if d.checkToken, _, err = st.CreateToken(ctx, "demo check", server.RoleViewer, wl.ID); err != nil {
				return "", err
			}
		}
		fmt.Fprintf(&out, "  %-7s %-15s %s/apps/%d  (%s)\n", w.name, state, d.publicURL, wl.ID, w.story)
	}
	return out.String(), nil
}

// check runs the real check on the demo PR, as the action does on a pull_request event, or once
// the PR is merged on the merge commit, as it does on the push to main: it reads the workload
// through the API with a viewer token, reads the file through the forge API, sets the commit
// status and keeps the one PR comment current (after the merge: "Merged in … — ready to Sync").
func (d *demo) check(ctx context.Context) (*checker.Report, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.runID++
	tf, err := tinyforge.NewClient(d.publicURL, d.checkToken, d.hc)
	if err != nil {
		return nil, err
	}
	repo, err := checkwire.OpenRepo(checker.ForgeGitea, providers.Options{BaseURL: d.forge.URL(), Token: d.forgeToken, HTTPClient: d.hc, VerifyDelay: -1},
		demoOwner, demoPRRepo)
	if err != nil {
		return nil, err
	}
	chk := &checker.Checker{Live: checkwire.Live(tf), Files: repo, Status: repo, Comments: repo}
	ev := checker.Event{Name: checker.EventPush, CommitSHA: d.merged}
	if d.merged == "" {
		ev = checker.Event{Name: checker.EventPullRequest, CommitSHA: d.prHead, PR: &checker.PullRequest{Number: demoPRNumber,
			HeadSHA: d.prHead, BaseSHA: d.prBase, Comments: len(d.forge.Comments(demoOwner, demoPRRepo, demoPRNumber))}}
	}
	r, err := chk.Run(ctx, checker.Inputs{Workload: demoPRRepo, FailOn: checker.DefaultFailOn, Forge: checker.ForgeGitea,
		Event: ev, RunID: d.runID,
		Secrets: []string{d.checkToken, d.forgeToken}})
	if err != nil {
		return nil, fmt.Errorf("run the check: %w", err)
	}
	d.last = r
	return r, nil
}

// demoPage is what the pull request page shows.
type demoPage struct {
	Repo, Branch, Head string
	// Merged is the merge commit once the PR is merged, else "".
	Merged      string
	Number      int
	Status      *forgefake.Status
	Comment     template.HTML
	Verdict     string
	Description string
}

var demoTemplate = template.Must(template.New("demo").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>PR #{{.Number}} · {{.Repo}} · Tinyforge demo</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1f2328}
.box{border:1px solid #d0d7de;border-radius:6px;padding:0 1rem;margin:1rem 0}
.state{font-weight:600}.success{color:#1a7f37}.failure,.error{color:#cf222e}.warning,.pending{color:#9a6700}
table{border-collapse:collapse}td,th{border:1px solid #d0d7de;padding:.25rem .5rem}
pre{background:#f6f8fa;padding:.5rem;overflow:auto}button{font:inherit;padding:.4rem 1rem}
</style></head><body>
<p><a href="/apps">Tinyforge panel</a> · demo forge</p>
<h1>Pull request #{{.Number}} on {{.Repo}} <small>({{.Branch}} → main)</small></h1>
<p>Head commit <code>{{.Head}}</code></p>
{{if .Merged}}<p id="merged" class="state success">Merged into main in <code>{{.Merged}}</code></p>
{{else}}<form method="post" action="/demo/merge"><button type="submit" id="merge">Merge</button>
<span>(into main; the check then runs on main, as the action does on the push)</span></form>{{end}}
<h2>Commit status{{if .Merged}} of the merge commit{{end}}</h2>
{{with .Status}}<p id="status"><span class="state {{.State}}" data-state="{{.State}}">{{.State}}</span> · <code>{{.Context}}</code> · {{.Description}}{{if .TargetURL}} · <a href="{{.TargetURL}}">Details</a>{{end}}</p>
{{else}}<p id="status">No status yet.</p>{{end}}
<form method="post" action="/demo/check"><button type="submit" id="recheck">Run the check again</button>
<span>(as the action would on the next {{if .Merged}}push to main{{else}}push to the PR{{end}})</span></form>
<h2>The check's comment</h2>
<div class="box" id="comment" data-verdict="{{.Verdict}}">{{.Comment}}</div>
</body></html>
`))

// page renders the demo PR: its commit status and the check's comment as the forge would show it.
func (d *demo) page(w http.ResponseWriter, r *http.Request) {
	d.mu.Lock()
	last, merged := d.last, d.merged
	d.mu.Unlock()
	p := demoPage{Repo: demoOwner + "/" + demoPRRepo, Branch: demoPRBranch, Head: d.prHead, Number: demoPRNumber, Merged: merged}
	if sts := d.forge.Statuses(demoOwner, demoPRRepo, cmp.Or(merged, d.prHead)); len(sts) > 0 {
		p.Status = &sts[len(sts)-1]
	}
	if last != nil {
		p.Verdict, p.Description = string(last.Verdict), last.Description()
	}
	var body string
	for _, c := range d.forge.Comments(demoOwner, demoPRRepo, demoPRNumber) {
		body = c.Body // the check keeps one comment; show the newest in any case
	}
	var buf bytes.Buffer
	// The comment is the checker's markdown, whose untrusted parts are already neutralized;
	// its HTML (details, pre) is kept, and the page's policy forbids any script anyway.
	if err := d.md.Convert([]byte(body), &buf); err != nil {
		http.Error(w, "render the comment: "+err.Error(), http.StatusInternalServerError)
		return
	}
	p.Comment = template.HTML(buf.String())
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := demoTemplate.Execute(w, p); err != nil {
		io.WriteString(w, "render failed")
	}
}

// recheck runs the check again and shows the page. Only a form of this origin may ask.
func (d *demo) recheck(w http.ResponseWriter, r *http.Request) {
	if o := r.Header.Get("Origin"); o != "" && o != d.publicURL {
		http.Error(w, "cross-origin request refused", http.StatusForbidden)
		return
	}
	if _, err := d.check(r.Context()); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	http.Redirect(w, r, "/demo", http.StatusSeeOther)
}

// merge merges the demo PR into main, as a reviewer would on the forge, and runs the check on
// the merge commit, as the action does on the push: the PR's comment then says it is ready to
// Sync. Merging again changes nothing. Only a form of this origin may ask.
func (d *demo) merge(w http.ResponseWriter, r *http.Request) {
	if o := r.Header.Get("Origin"); o != "" && o != d.publicURL {
		http.Error(w, "cross-origin request refused", http.StatusForbidden)
		return
	}
	d.mu.Lock()
	if d.merged == "" {
		sha, err := d.forge.MergePull(demoOwner, demoPRRepo, demoPRNumber)
		if err != nil {
			d.mu.Unlock()
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		d.merged = sha
	}
	d.mu.Unlock()
	d.recheck(w, r)
}

// randomHex is n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
