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
	// OKDrift is how many declared fields of the ok workload differ from live before the Sync.
	OKDrift int
	// Live returns the ok workload's stored source_config.
	Live func() string
	// WantLiveAfterSync is what Live must return after the Sync.
	WantLiveAfterSync string
	// ScreenshotPrefix names this run's screenshots, e.g. "fake" or "server".
	ScreenshotPrefix string
	// OKSetByField, when set, is a drifted field of the ok workload whose drift view row must
	// show its attribution: OKSetBy[lang] (how and who) and the audit row, in each language.
	OKSetByField string
	OKSetBy      map[string]string
}

// browserTZ is the browser's time zone in the scenario: far from UTC and without daylight
// saving time, so a local time is always UTC+9.
const browserTZ = "Asia/Tokyo"

// artifactsEnv names the folder the browser scenario saves its screenshots in; unset, none are
// saved. A relative path is taken from the module root.
const artifactsEnv = "TINYFORGE_ARTIFACTS"

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

// artifactsDir is the folder for screenshots from TINYFORGE_ARTIFACTS, created if needed, or ""
// when the variable is unset.
func artifactsDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv(artifactsEnv)
	if dir == "" {
		t.Logf("%s is unset: no screenshots are saved", artifactsEnv)
		return ""
	}
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(testenv.ModuleRoot(t), dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// listLabels is the status column's text per state and language, as people read it.
func listLabels(lang, state string, drift int) string {
	labels := map[string]map[string]string{
		"en": {"in_sync": "in sync", "invalid": "invalid", "no_file": "no file", "fetch_failed": "fetch failed", "disabled": "disabled"},
		"ru": {"in_sync": "синхронно", "invalid": "файл некорректен", "no_file": "нет файла", "fetch_failed": "ошибка загрузки", "disabled": "выключен"},
	}
	if state != "drift" {
		return labels[lang][state]
	}
	if lang == "ru" {
		// Enough forms for the counts the scenarios use.
		forms := map[int]string{1: "поле", 2: "поля", 3: "поля", 4: "поля"}
		return fmt.Sprintf("расхождение: %d %s", drift, forms[drift])
	}
	if drift == 1 {
		return "drift: 1 field"
	}
	return fmt.Sprintf("drift: %d fields", drift)
}

// pillLabels is the GitOps status pill's text per status and language.
var pillLabels = map[string]map[string]string{
	"en": {"ok": "File valid", "disabled": "Disabled", "no_file": "No file", "fetch_failed": "Fetch failed", "invalid": "Invalid file"},
	"ru": {"ok": "Файл корректен", "disabled": "Выключен", "no_file": "Файла нет", "fetch_failed": "Ошибка загрузки", "invalid": "Файл некорректен"},
}

// RunBrowserScenario drives headless Chromium through the panel: a viewer signs in from a PR
// comment's link and sees no buttons; an admin signs in and checks, in English and in Russian,
// every state of the workload list and every status of the workload page; the Sync goes
// through the confirm dialog, the live config changes and the list says "in sync"; the last
// Sync time shows in the browser's time zone; a changed file disables Sync. With
// TINYFORGE_ARTIFACTS set, a screenshot of each step is saved there.
func RunBrowserScenario(t *testing.T, bt BrowserTarget) {
	t.Helper()
	bin := chromiumPath(t)
	shots := artifactsDir(t)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
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
		chromedp.Env("TZ="+browserTZ),
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
	str := func(expr string) string {
		t.Helper()
		v, err := chromedp.Run(bctx, chromedp.Evaluate[string](expr))
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
		if shots == "" {
			return
		}
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
	// language switches the page language with the header's switch and opens path.
	language := func(lang, path string, waitFor string) {
		t.Helper()
		do("switch to "+lang+" at "+path,
			chromedp.Navigate(bt.URL+"/lang/"+lang+"?next="+url.QueryEscape(path)),
			chromedp.WaitVisible(chromedp.ID(waitFor)),
		)
		if got := str(`document.documentElement.lang`); got != lang {
			t.Fatalf("page language %q, want %q", got, lang)
		}
	}
	// checkList checks the list's status cell of every workload in want (id: state, drift).
	type cell struct {
		State string
		Drift int
		Text  string
	}
	checkList := func(lang string, want map[int64]cell) {
		t.Helper()
		for id, w := range want {
			w.Text = listLabels(lang, w.State, w.Drift)
			js := fmt.Sprintf(`(function(){var c=document.querySelector('#workloads tr[data-id="%d"] td.status');return c?[c.dataset.status,c.dataset.drift,c.textContent.trim()].join("|"):"no cell"})()`, id)
			got := str(js)
			if exp := fmt.Sprintf("%s|%d|%s", w.State, w.Drift, w.Text); got != exp {
				t.Errorf("%s list, workload %d: status cell %q, want %q", lang, id, got, exp)
			}
		}
	}
	// listWant is the list's expected states before (synced=false) and after the Sync.
	listWant := func(synced bool) map[int64]cell {
		out := map[int64]cell{}
		for status, id := range bt.IDs {
			switch {
			case status == "ok" && synced:
				out[id] = cell{State: "in_sync"}
			case status == "ok":
				out[id] = cell{State: "drift", Drift: bt.OKDrift}
			default:
				out[id] = cell{State: status}
			}
		}
		return out
	}
	// checkLocalTime checks the last Sync's <time>: its text is the local time in browserTZ
	// (UTC+9), not RFC 3339, and its title the exact RFC 3339 time.
	checkLocalTime := func(lang string) {
		t.Helper()
		exact := str(`document.getElementById("last-sync").getAttribute("datetime")`)
		at, err := time.Parse(time.RFC3339, exact)
		if err != nil {
			t.Fatalf("%s: last Sync datetime %q: %v", lang, exact, err)
		}
		shown, title := text("#last-sync"), str(`document.getElementById("last-sync").title`)
		local := at.In(time.FixedZone(browserTZ, 9*3600))
		if !strings.Contains(shown, local.Format("15:04")) || !strings.Contains(shown, fmt.Sprint(local.Day())) || strings.Contains(shown, "UTC") || strings.Contains(shown, "T") {
			t.Errorf("%s: the last Sync shows %q, want the local time %s in %s", lang, shown, local.Format("2 Jan 2006, 15:04"), browserTZ)
		}
		if title != exact {
			t.Errorf("%s: the last Sync's title is %q, want %q", lang, title, exact)
		}
		if !eval(`document.getElementById("last-sync").hasAttribute("data-local")`) {
			t.Errorf("%s: panel.js did not rewrite the last Sync time as a local time", lang)
		}
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

	// An admin signs in and checks, in each language, every list state and workload status.
	do("open sign-in", chromedp.Navigate(bt.URL+"/login?next=/apps"))
	signIn(bt.AdminToken)
	for _, lang := range []string{"en", "ru"} {
		language(lang, "/apps", "workloads")
		checkList(lang, listWant(false))
		shot("list-" + lang)
		for _, status := range []string{"disabled", "ok", "no_file", "fetch_failed", "invalid"} {
			id, ok := bt.IDs[status]
			if !ok {
				t.Fatalf("no workload in status %s", status)
			}
			do("open "+status, chromedp.Navigate(fmt.Sprintf("%s/apps/%d", bt.URL, id)), chromedp.WaitVisible(chromedp.ID("gitops-status")))
			if got := str(`document.getElementById("gitops-status").dataset.status`); got != status {
				t.Errorf("%s, workload %d: the pill is %q, want %s", lang, id, got, status)
			}
			if got, want := text("#gitops-status"), pillLabels[lang][status]; got != want {
				t.Errorf("%s, workload %d: the pill says %q, want %q", lang, id, got, want)
			}
			if !eval(`document.getElementById("gitops-settings") !== null`) {
				t.Errorf("%s, workload %d: an admin sees no GitOps settings", lang, id)
			}
			if status == "disabled" {
				// The message names the switch as the page labels it.
				if !eval(`document.getElementById("gitops-message").textContent.includes(document.querySelector("label.switch").textContent.trim())`) {
					t.Errorf("%s: the GitOps-off message %q does not name the switch", lang, text("#gitops-message"))
				}
			}
			if status == "ok" {
				if got, want := text("#gitops-state"), listLabels(lang, "drift", bt.OKDrift); got != want {
					t.Errorf("%s: the ok workload's state says %q, want %q", lang, got, want)
				}
				if bt.OKSetByField != "" {
					got := text(`#drift tr[data-field="` + bt.OKSetByField + `"] .set-by`)
					event := map[string]string{"en": "event #", "ru": "событие №"}[lang]
					if !strings.Contains(got, bt.OKSetBy[lang]) || !strings.Contains(got, event) || !eval(`document.querySelector('#drift tr[data-field="`+bt.OKSetByField+`"] .set-by time').dateTime !== ""`) {
						t.Errorf("%s: the drift view says of %s %q, want %q, when and %q", lang, bt.OKSetByField, got, bt.OKSetBy[lang], event)
					}
				}
			}
			if body := text("main"); strings.Contains(body, "{id}") || strings.Contains(body, "/api/workloads") {
				t.Errorf("%s, workload %d: the page shows an API path", lang, id)
			}
			shot("status-" + status + "-" + lang)
		}
	}
	language("en", fmt.Sprintf("/apps/%d", okID), "gitops-status")

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
	if n, _ := chromedp.Run(bctx, chromedp.Evaluate[int](`document.querySelectorAll("#sync-changes tbody tr").length`)); n != bt.OKDrift {
		t.Errorf("the confirm dialog lists %d changes, want %d", n, bt.OKDrift)
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
	if n, want := text("#notice"), fmt.Sprintf("Sync applied %d changes from commit %s.", bt.OKDrift, gitops.ShortSHA(bt.OKCommit)); n != want {
		t.Errorf("after Sync the notice says %q, want %q", n, want)
	}
	if diff := cmp.Diff(bt.WantLiveAfterSync, bt.Live()); diff != "" {
		t.Errorf("live config after Sync (-want +got):\n%s", diff)
	}
	if s := text("#drift-summary"); s != "Live matches the file." {
		t.Errorf("after Sync the drift summary says %q", s)
	}
	checkLocalTime("en")
	shot("after-sync")

	// Now nothing differs: the dialog says only that.
	do("press Sync again", chromedp.Click(chromedp.ID("sync-open")), chromedp.WaitVisible(chromedp.ID("sync-confirm")))
	if s := text("#sync-dialog #sync-changes"); !strings.HasPrefix(s, "Live already matches the file") || eval(`document.querySelector("#sync-dialog table") !== null`) {
		t.Errorf("with nothing to change the dialog says %q", s)
	}
	shot("sync-dialog-nothing")
	do("cancel", chromedp.Click(chromedp.ID("sync-cancel")))

	// The list after the Sync, in both languages: the ok workload is in sync.
	for _, lang := range []string{"en", "ru"} {
		language(lang, "/apps", "workloads")
		checkList(lang, listWant(true))
		shot("list-after-sync-" + lang)
	}
	language("ru", fmt.Sprintf("/apps/%d", okID), "gitops-status")
	checkLocalTime("ru")
	if !strings.Contains(text("#gitops h2"), "GitOps") || text("#sync-open") != "Sync…" {
		t.Errorf("the Russian page is not Russian")
	}
	if h := text("#live h2"); h != "Текущая конфигурация" {
		t.Errorf("Russian live-config heading = %q", h)
	}
	shot("ru")
	language("en", fmt.Sprintf("/apps/%d", okID), "gitops-status")

	// A link whose file is no longer the fetched one: warning, Sync disabled.
	do("open a stale link", chromedp.Navigate(fmt.Sprintf("%s/apps/%d?file=%s", bt.URL, okID, strings.Repeat("0", 40))), chromedp.WaitVisible(chromedp.ID("pin-mismatch")))
	if !eval(`document.getElementById("sync-open").disabled && document.getElementById("sync-dialog") === null`) {
		t.Errorf("Sync is not disabled for a file that was not reviewed")
	}
	shot("pin-mismatch")
}

// TestBrowserFakeBackend runs the scenario over the fake backend on loopback.
func TestBrowserFakeBackend(t *testing.T) {
	t.Parallel() // each browser test starts its own chromium and servers
	fake := newFakeBackend()
	srv := httptest.NewServer(New(Config{Backend: fake}))
	defer srv.Close()
	RunBrowserScenario(t, BrowserTarget{
		URL: srv.URL, ViewerToken: viewerToken, AdminToken: adminToken,
		IDs:      map[string]int64{"ok": 1, "disabled": 2, "no_file": 3, "fetch_failed": 4, "invalid": 5},
		OKCommit: headCommit, OKFile: gitops.FileSHA([]byte(okRaw)), OKDrift: 2,
		Live:              func() string { return fake.live(1) },
		WantLiveAfterSync: `{"deploy_strategy":"rolling","dockerfile_path":"Dockerfile","healthcheck":"/healthz","port":8080}`,
		ScreenshotPrefix:  "fake",
	})
}
