package panel

import (
	"context"
	"fmt"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/google/go-cmp/cmp"
	"github.com/tinyforge/tinyforge-check/gitops"
	"github.com/tinyforge/tinyforge-check/internal/testenv"
)

// BrowserTarget is a running panel the real-browser scenario drives: this package's test runs
// it over the fake backend, the server package's over the real server.
type BrowserTarget struct {
	// URL is the panel's root on loopback, e.g. http://127.0.0.1:41234.
	URL string
	// ViewerToken and AdminToken are API tokens of each role.
	ViewerToken, AdminToken string
	// IDs maps each GitOps status (disabled, ok, no_file, fetch_failed, invalid) to a workload
	// in that status.
	IDs map[string]int64
	// OKCommit and OKFile are the fetched commit and file fingerprint of the ok workload.
	OKCommit, OKFile string
	// Live returns the ok workload's stored source_config.
	Live func() string
	// WantLiveAfterSync is what Live must return after the Sync.
	WantLiveAfterSync string
	// ScreenshotPrefix names this run's screenshots, e.g. "fake" or "server".
	ScreenshotPrefix string
}

// chromiumPath finds the Debian chromium binary. Without it the browser test skips, saying how
// to install it, except under CI=true, where it fails.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "/usr/bin/chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "chromium is not installed, and the panel's browser test needs it: run `apt-get install -y chromium` (Debian; bash scripts/deps.sh does) and test again"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg) // required in CI: .ci/run installs it
	}
	t.Skip(msg)
	return ""
}

// RunBrowserScenario drives headless Chromium through the panel: a viewer signs in from a PR
// comment's link and sees no buttons; an admin signs in, a screenshot of every status is
// saved, the Sync goes through the confirm dialog and the live config changes; a changed file
// disables Sync; the Russian switch works.
func RunBrowserScenario(t *testing.T, bt BrowserTarget) {
	t.Helper()
	bin := chromiumPath(t)
	shots := filepath.Join(testenv.ModuleRoot(t), "screenshots")
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Second)
	defer cancel()
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(bin),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("no-default-browser-check", true),
		// Host names never resolve: the page may only reach the loopback IP it came from.
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(allocCtx)
	defer cancelBrowser()

	start := time.Now()
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(bctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	eval := func(expr string) bool {
		t.Helper()
		v, err := chromedp.Run(bctx, chromedp.Evaluate[bool](expr))
		if err != nil {
			t.Fatalf("evaluate %s: %v", expr, err)
		}
		return v
	}
	text := func(sel string) string {
		t.Helper()
		v, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return strings.TrimSpace(v)
	}
	shot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		p := filepath.Join(shots, bt.ScreenshotPrefix+"-"+name+".png")
		if err := os.WriteFile(p, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot (%.1fs): %s", time.Since(start).Seconds(), p)
	}
	signIn := func(token string) {
		t.Helper()
		do("sign in",
			chromedp.WaitVisible(chromedp.ID("token")),
			chromedp.SendKeys(chromedp.ID("token"), token),
			chromedp.Click(chromedp.ID("sign-in")),
			chromedp.WaitVisible(chromedp.ID("who")),
		)
	}
	okID := bt.IDs[string(gitops.StatusOK)]
	pinned := fmt.Sprintf("%s/apps/%d?file=%s&commit=%s", bt.URL, okID, bt.OKFile, bt.OKCommit)

	// A viewer follows the PR comment's link, signs in and lands on the pinned panel.
	do("open the PR link", chromedp.Navigate(pinned))
	signIn(bt.ViewerToken)
	do("wait for the panel", chromedp.WaitVisible(chromedp.ID("gitops-status")))
	loc, err := chromedp.Run(bctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.TrimPrefix(pinned, bt.URL) + "#gitops"; !strings.HasSuffix(loc, want) {
		t.Errorf("after sign-in the viewer is at %s, want the pinned panel %s", loc, want)
	}
	viewerSees := map[string]bool{
		"settings form": eval(`document.getElementById("gitops-settings") !== null`),
		"sync button":   eval(`document.getElementById("sync-open") !== null`),
		"edit link":     eval(`document.getElementById("edit-link") !== null`),
		"viewer note":   eval(`document.getElementById("viewer-note") !== null`),
		"drift view":    eval(`document.getElementById("drift") !== null`),
		"file preview":  eval(`document.getElementById("preview") !== null`),
	}
	wantViewer := map[string]bool{"settings form": false, "sync button": false, "edit link": false, "viewer note": true, "drift view": true, "file preview": true}
	if diff := cmp.Diff(wantViewer, viewerSees); diff != "" {
		t.Errorf("what a viewer sees (-want +got):\n%s", diff)
	}
	shot("viewer-ok")
	do("sign out", chromedp.Click(chromedp.ID("sign-out")), chromedp.WaitVisible(chromedp.ID("token")))

	// An admin signs in and sees every status.
	do("open sign-in", chromedp.Navigate(bt.URL+"/login?next=/apps"))
	signIn(bt.AdminToken)
	do("workload list", chromedp.WaitVisible(chromedp.ID("workloads")))
	shot("list")
	for _, status := range []string{"disabled", "ok", "no_file", "fetch_failed", "invalid"} {
		id, ok := bt.IDs[status]
		if !ok {
			t.Fatalf("no workload in status %s", status)
		}
		do("open "+status, chromedp.Navigate(fmt.Sprintf("%s/apps/%d", bt.URL, id)), chromedp.WaitVisible(chromedp.ID("gitops-status")))
		if got := eval(fmt.Sprintf(`document.getElementById("gitops-status").dataset.status === %q`, status)); !got {
			t.Errorf("workload %d: the pill is not %s", id, status)
		}
		if !eval(`document.getElementById("gitops-settings") !== null`) {
			t.Errorf("workload %d: an admin sees no GitOps settings", id)
		}
		shot("status-" + status)
	}

	// Sync through the confirm dialog, from the PR comment's pinned link.
	do("open the pinned panel", chromedp.Navigate(pinned), chromedp.WaitVisible(chromedp.ID("sync-open")))
	if eval(`document.getElementById("sync-dialog").open`) {
		t.Fatal("the confirm dialog is open before Sync was pressed")
	}
	do("press Sync", chromedp.Click(chromedp.ID("sync-open")), chromedp.WaitVisible(chromedp.ID("sync-confirm")))
	if !eval(`document.getElementById("sync-dialog").open && location.pathname.endsWith("/apps/` + fmt.Sprint(okID) + `")`) {
		t.Fatal("pressing Sync did not open the confirm dialog on the same page")
	}
	got := []string{text("#sync-commit"), text("#sync-file")}
	if diff := cmp.Diff([]string{bt.OKCommit, bt.OKFile}, got); diff != "" {
		t.Errorf("dialog's commit and file (-want +got):\n%s", diff)
	}
	if n, _ := chromedp.Run(bctx, chromedp.Evaluate[int](`document.querySelectorAll("#sync-changes tbody tr").length`)); n == 0 {
		t.Errorf("the confirm dialog lists no changes")
	}
	shot("sync-dialog")
	do("cancel", chromedp.Click(chromedp.ID("sync-cancel")))
	if eval(`document.getElementById("sync-dialog").open`) {
		t.Errorf("Cancel left the dialog open")
	}
	if diff := cmp.Diff(bt.WantLiveAfterSync, bt.Live()); diff == "" {
		t.Fatalf("the live config already has the synced values before the Sync")
	}
	do("confirm Sync",
		chromedp.Click(chromedp.ID("sync-open")),
		chromedp.WaitVisible(chromedp.ID("sync-confirm")),
		chromedp.Click(chromedp.ID("sync-confirm")),
		chromedp.WaitVisible(chromedp.ID("notice")),
	)
	if n := text("#notice"); !strings.Contains(n, "Sync applied") {
		t.Errorf("after Sync the notice says %q", n)
	}
	if diff := cmp.Diff(bt.WantLiveAfterSync, bt.Live()); diff != "" {
		t.Errorf("live config after Sync (-want +got):\n%s", diff)
	}
	if s := text("#drift-summary"); !strings.Contains(s, "Live matches the file") {
		t.Errorf("after Sync the drift summary says %q", s)
	}
	shot("after-sync")

	// A link whose file is no longer the fetched one: warning, Sync disabled.
	do("open a stale link", chromedp.Navigate(fmt.Sprintf("%s/apps/%d?file=%s", bt.URL, okID, strings.Repeat("0", 40))), chromedp.WaitVisible(chromedp.ID("pin-mismatch")))
	if !eval(`document.getElementById("sync-open").disabled && document.getElementById("sync-dialog") === null`) {
		t.Errorf("Sync is not disabled for a file that was not reviewed")
	}
	shot("pin-mismatch")

	// The language switch.
	do("switch to Russian",
		chromedp.Navigate(bt.URL+"/lang/ru?next="+url.QueryEscape(fmt.Sprintf("/apps/%d", okID))),
		chromedp.WaitVisible(chromedp.ID("gitops-status")),
	)
	if !eval(`document.documentElement.lang === "ru"`) || !strings.Contains(text("#gitops h2"), "GitOps") || text("#sync-open") != "Sync…" {
		t.Errorf("the Russian page is not Russian")
	}
	if h := text("#live h2"); h != "Текущая конфигурация" {
		t.Errorf("Russian live-config heading = %q", h)
	}
	shot("ru")
}

// TestBrowserFakeBackend runs the scenario over the fake backend on loopback.
func TestBrowserFakeBackend(t *testing.T) {
	fake := newFakeBackend()
	srv := httptest.NewServer(New(Config{Backend: fake}))
	defer srv.Close()
	RunBrowserScenario(t, BrowserTarget{
		URL: srv.URL, ViewerToken: viewerToken, AdminToken: adminToken,
		IDs:      map[string]int64{"ok": 1, "disabled": 2, "no_file": 3, "fetch_failed": 4, "invalid": 5},
		OKCommit: headCommit, OKFile: gitops.FileSHA([]byte(okRaw)),
		Live:              func() string { return fake.live(1) },
		WantLiveAfterSync: `{"deploy_strategy":"rolling","dockerfile_path":"Dockerfile","healthcheck":"/healthz","port":8080}`,
		ScreenshotPrefix:  "fake",
	})
}
