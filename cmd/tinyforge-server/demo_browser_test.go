package main

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// demoChromium finds the Debian chromium binary. Without it the test skips, saying how to
// install it, except under CI=true, where it fails.
func demoChromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "chromium is not installed, and the demo's browser test needs it: run `apt-get install -y chromium` (Debian; bash scripts/deps.sh does) and test again"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// demoStory is what the browser reads in one language at each step of the loop.
type demoStory struct {
	notMerged, whyOff string
}

// TestDemoBrowserStory walks the loop of the demo in headless Chromium, as people live it, in
// English and in Russian: the PR comment's link before the merge says the PR is not merged,
// previews the change and keeps Sync off for that reason; Merge on the PR page makes the comment
// say ready to Sync, and its link enables Sync; after the Sync (through the confirm dialog) the
// check run again is in sync, and the PR's comment says so.
func TestDemoBrowserStory(t *testing.T) {
	bin := demoChromium(t)
	stories := map[string]demoStory{
		"en": {notMerged: "PR #1 proposes this file; it is not on main yet. Once it is merged, Sync applies it.",
			whyOff: "Disabled: Sync applies the branch; merge PR #1 first."},
		"ru": {notMerged: "PR #1 предлагает этот файл; в ветке main его ещё нет. После слияния Sync применит его.",
			whyOff: "Недоступно: Sync применяет ветку; сначала слейте PR #1."},
	}
	for _, lang := range []string{"en", "ru"} {
		t.Run(lang, func(t *testing.T) { walkDemo(t, bin, lang, stories[lang]) })
	}
}

func walkDemo(t *testing.T, bin, lang string, want demoStory) {
	t.Setenv("TMPDIR", t.TempDir())
	out := &demoOutput{}
	a := &app{stdout: out, stderr: &demoOutput{}, getenv: func(string) string { return "" }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() { done <- a.run(ctx, []string{"demo", "--addr", "127.0.0.1:0"}) }()
	defer func() {
		cancel()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Error("the demo did not stop within 5 s")
		}
	}()
	waitForOutput(t, out, done, demoReady)
	printed := out.String()
	base := submatch(t, printed, `(?m)^panel: (http://\S+)/apps$`)
	token := submatch(t, printed, `(?m)^token: (tfk_\S+)$`)

	bctx, stop := context.WithTimeout(context.Background(), 90*time.Second)
	defer stop()
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(bctx, chromedp.ExecPath(bin),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		// Host names never resolve: the pages may only reach the loopback IP they came from.
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"),
		chromedp.UserDataDir(t.TempDir()))
	defer cancelAlloc()
	b, cancelBrowser := chromedp.NewContext(allocCtx)
	defer cancelBrowser()
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(b, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	str := func(expr string) string {
		t.Helper()
		v, err := chromedp.Run(b, chromedp.Evaluate[string](expr))
		if err != nil {
			t.Fatalf("evaluate %s: %v", expr, err)
		}
		return v
	}
	commentLink := `document.querySelector('#comment a[href*="#gitops"]').href`

	// Before the merge: the PR comment's link, in the person's language.
	do("open the PR page", chromedp.Navigate(base+"/demo"), chromedp.WaitVisible(chromedp.ID("merge")))
	link := str(commentLink)
	if !strings.Contains(link, "pr=1") {
		t.Fatalf("the PR comment's link %q does not name PR 1", link)
	}
	do("choose "+lang, chromedp.Navigate(base+"/lang/"+lang+"?next=/login"), chromedp.WaitVisible(chromedp.ID("token")))
	do("follow the link and sign in", chromedp.Navigate(link), chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SendKeys(chromedp.ID("token"), token), chromedp.Click(chromedp.ID("sign-in")),
		chromedp.WaitVisible(chromedp.ID("pin-pr")))
	if got := str(`document.querySelector("#pin-pr p").textContent.trim()`); got != want.notMerged {
		t.Errorf("before the merge the page says %q, want %q", got, want.notMerged)
	}
	if got := str(`[...document.querySelectorAll("#pr-preview tbody tr td")].map(c => c.textContent.trim()).join("|")`); got != "deploy.port|3000|8080" {
		t.Errorf("before the merge the preview is %q, want deploy.port|3000|8080", got)
	}
	if got := str(`document.getElementById("sync-open").disabled + "|" + document.getElementById("sync-why").textContent.trim()`); got != "true|"+want.whyOff {
		t.Errorf("before the merge Sync is %q, want disabled with %q", got, want.whyOff)
	}
	if str(`document.getElementById("pin-mismatch") === null && document.getElementById("pin-moved") === null ? "" : "shown"`) != "" {
		t.Errorf("before the merge the page also says the file changed or the branch moved")
	}

	// Merge on the PR page: the comment says ready to Sync, pinned to the merge commit.
	do("merge", chromedp.Navigate(base+"/demo"), chromedp.WaitVisible(chromedp.ID("merge")), chromedp.Click(chromedp.ID("merge")),
		chromedp.WaitVisible(chromedp.ID("merged")))
	merge := str(`document.querySelector("#merged code").textContent`)
	if c := str(`document.getElementById("comment").textContent`); !strings.Contains(c, "Merged in "+merge[:7]+" — ready to Sync") {
		t.Errorf("after the merge the comment says:\n%s", c)
	}
	link = str(commentLink)
	if !strings.Contains(link, "commit="+merge) || strings.Contains(link, "pr=") {
		t.Errorf("after the merge the link %q is not pinned to the merge commit %s alone", link, merge)
	}

	// Its link enables Sync; Sync through the confirm dialog.
	do("follow the link and Sync", chromedp.Navigate(link), chromedp.WaitVisible(chromedp.ID("sync-open")))
	if str(`document.getElementById("pin-pr") === null && document.getElementById("pin-moved") === null ? "" : "shown"`) != "" {
		t.Errorf("after the merge the page still says not merged, or that the branch moved")
	}
	do("confirm Sync", chromedp.Click(chromedp.ID("sync-open")), chromedp.WaitVisible(chromedp.ID("sync-confirm")),
		chromedp.Click(chromedp.ID("sync-confirm")))
	// The page after the Sync says in sync (the old page may still be shown for a moment).
	const state = `(function(){var s=document.getElementById("gitops-state");return s?s.dataset.status:""})()`
	for deadline := time.Now().Add(15 * time.Second); str(state) != "in_sync"; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("after Sync the workload is %q, want in_sync; notice: %s", str(state),
				str(`(function(){var n=document.getElementById("notice");return n?n.textContent:""})()`))
		}
	}

	// The check again: in sync, and the PR's comment confirms it.
	do("run the check again", chromedp.Navigate(base+"/demo"), chromedp.WaitVisible(chromedp.ID("recheck")),
		chromedp.Click(chromedp.ID("recheck")))
	// The button posts and the page comes back: until then the old page (drift) may show.
	const verdict = `(function(){var c=document.getElementById("comment");return c?c.dataset.verdict:""})()`
	for deadline := time.Now().Add(15 * time.Second); str(verdict) != "in_sync"; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("after Sync the check says %q, want in_sync", str(verdict))
		}
	}
	if c := str(`document.getElementById("comment").textContent`); !strings.Contains(c, "Merged in "+merge[:7]+" — live matches it: nothing to Sync") {
		t.Errorf("after Sync the comment says:\n%s", c)
	}
}
