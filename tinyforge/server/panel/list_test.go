package panel

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tinyforge/tinyforge-check/gitops"
)

// listCell is what one row's status cell of the workload list says.
type listCell struct {
	Status string // data-status
	Drift  string // data-drift
	Text   string // the visible text
}

var (
	rowRE  = regexp.MustCompile(`(?s)<tr data-id="(\d+)">(.*?)</tr>`)
	cellRE = regexp.MustCompile(`(?s)<td class="status" data-status="([^"]*)" data-drift="([^"]*)">(.*?)</td>`)
	tagRE  = regexp.MustCompile(`<[^>]*>`)
)

// listCells reads every row's status cell from a list page, by workload id.
func listCells(t *testing.T, body string) map[string]listCell {
	t.Helper()
	out := map[string]listCell{}
	for _, r := range rowRE.FindAllStringSubmatch(body, -1) {
		m := cellRE.FindStringSubmatch(r[2])
		if m == nil {
			t.Errorf("row %s has no status cell:\n%s", r[1], r[2])
			continue
		}
		out[r[1]] = listCell{Status: m[1], Drift: m[2], Text: strings.TrimSpace(tagRE.ReplaceAllString(m[3], ""))}
	}
	return out
}

// TestListStates: every row of /apps says its workload's state in a stable data-status hook,
// with the drift count and real plural forms, in both languages.
func TestListStates(t *testing.T) {
	tests := []struct {
		lang string
		want map[string]listCell
	}{
		{"en", map[string]listCell{
			"1": {"drift", "2", "drift: 2 fields"},
			"2": {"disabled", "0", "disabled"},
			"3": {"no_file", "0", "no file"},
			"4": {"fetch_failed", "0", "fetch failed"},
			"5": {"invalid", "0", "invalid"},
			"6": {"drift", "1", "drift: 1 field"},
			"7": {"disabled", "0", "disabled"},
			"8": {"in_sync", "0", "in sync"},
		}},
		{"ru", map[string]listCell{
			"1": {"drift", "2", "расхождение: 2 поля"},
			"2": {"disabled", "0", "выключен"},
			"3": {"no_file", "0", "нет файла"},
			"4": {"fetch_failed", "0", "ошибка загрузки"},
			"5": {"invalid", "0", "файл некорректен"},
			"6": {"drift", "1", "расхождение: 1 поле"},
			"7": {"disabled", "0", "выключен"},
			"8": {"in_sync", "0", "синхронно"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.lang, func(t *testing.T) {
			e := setup(t)
			b := e.browser()
			b.lang = tt.lang
			b.signIn(viewerToken)
			res := b.get("/apps")
			if res.status != http.StatusOK {
				t.Fatalf("status %d:\n%s", res.status, res.body)
			}
			if diff := cmp.Diff(tt.want, listCells(t, res.body)); diff != "" {
				t.Errorf("status cells (-want +got):\n%s", diff)
			}
		})
	}
}

// TestListRussianPluralDrift: the list's drift label uses Russian's one/few/many forms.
func TestListRussianPluralDrift(t *testing.T) {
	e := setup(t)
	b := e.browser()
	b.lang = "ru"
	b.signIn(viewerToken)
	// Live with 0..3 of the file's fields equal, so the drift counts are 3, 2, 1.
	for _, tt := range []struct {
		live, want string
	}{
		{`{}`, "расхождение: 3 поля"},
		{`{"port":8080}`, "расхождение: 2 поля"},
		{`{"port":8080,"healthcheck":"/healthz"}`, "расхождение: 1 поле"},
	} {
		e.fake.mu.Lock()
		e.fake.workloads[1].wl.SourceConfig = []byte(tt.live)
		e.fake.mu.Unlock()
		if got := listCells(t, b.get("/apps").body)["1"].Text; got != tt.want {
			t.Errorf("live %s: %q, want %q", tt.live, got, tt.want)
		}
	}
}

// TestListFetchErrorOnlyThatRow: a workload whose view fails shows "fetch failed"; the page and
// every other row are unaffected, and the error's text (here with the token) is not shown.
func TestListFetchErrorOnlyThatRow(t *testing.T) {
	e := setup(t)
	b := e.browser()
	b.signIn(adminToken)
	e.fake.mu.Lock()
	e.fake.gitopsErr = map[int64]error{1: apiErr(http.StatusBadGateway, "forge said no to %s", adminToken), 8: errors.New("connection reset")}
	e.fake.mu.Unlock()
	res := b.get("/apps")
	if res.status != http.StatusOK {
		t.Fatalf("status %d, want 200:\n%s", res.status, res.body)
	}
	got := map[string]string{}
	for id, c := range listCells(t, res.body) {
		got[id] = c.Status
	}
	want := map[string]string{"1": "fetch_failed", "2": "disabled", "3": "no_file", "4": "fetch_failed", "5": "invalid", "6": "drift", "7": "disabled", "8": "fetch_failed"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("states (-want +got):\n%s", diff)
	}
	if has(res.body, adminToken) || has(res.body, "forge said no") {
		t.Errorf("the list shows a backend error's text")
	}
}

// TestListFetchesBounded: the list fetches views in parallel, at most maxListFetches at once,
// and only for GitOps-enabled workloads.
func TestListFetchesBounded(t *testing.T) {
	e := setup(t)
	e.fake.addWorkloads(22) // 6 enabled + 22 = 28 views to fetch
	mu := &e.fake.mu
	asked := map[int64]int{}
	e.fake.gitopsWait = func(ctx context.Context, id int64) {
		mu.Lock()
		asked[id]++
		mu.Unlock()
		select {
		case <-time.After(20 * time.Millisecond):
		case <-ctx.Done():
		}
	}
	b := e.browser()
	b.signIn(viewerToken) // renders /apps once
	e.fake.mu.Lock()
	peak := e.fake.maxInFlight
	var disabledAsked []int64
	for _, id := range []int64{2, 7} {
		if asked[id] > 0 {
			disabledAsked = append(disabledAsked, id)
		}
	}
	n := len(asked)
	e.fake.mu.Unlock()
	if peak > 8 || peak < 2 {
		t.Errorf("%d views fetched at once, want 2..8 (parallel, bounded)", peak)
	}
	if n != 28 || len(disabledAsked) > 0 {
		t.Errorf("views fetched for %d workloads (want 28), disabled ones among them: %v", n, disabledAsked)
	}
}

// TestListDeadline: a view that does not arrive within the list's deadline (its backend
// ignores the context) shows "fetch failed"; the page does not wait for it.
func TestListDeadline(t *testing.T) {
	e := setup(t, func(c *Config) { c.ListTimeout = 300 * time.Millisecond })
	e.fake.gitopsWait = func(_ context.Context, id int64) {
		if id == 3 {
			time.Sleep(8 * time.Second) // ignores ctx on purpose
		}
	}
	b := e.browser()
	b.signIn(viewerToken)
	start := time.Now()
	res := b.get("/apps")
	took := time.Since(start)
	if took > 5*time.Second {
		t.Errorf("the list took %s; it must not wait past its deadline", took)
	}
	cells := listCells(t, res.body)
	if cells["3"].Status != "fetch_failed" || cells["1"].Status != "drift" || cells["8"].Status != "in_sync" {
		t.Errorf("states after the deadline: %+v", cells)
	}
}

// TestDisabledNamesTheSwitch: "GitOps is off" names the switch on the page (and, for an admin,
// its Save button) in the page's language, never an API path.
func TestDisabledNamesTheSwitch(t *testing.T) {
	tests := []struct {
		token, lang, want string
	}{
		{adminToken, "en", "GitOps is off: these settings are edited here. To read them from the repo, turn on “Read deploy settings from the repo (GitOps)” below and press “Save settings”."},
		{viewerToken, "en", "GitOps is off for this workload. An admin can turn on “Read deploy settings from the repo (GitOps)” on this page."},
		{adminToken, "ru", "включите «Брать настройки деплоя из репозитория (GitOps)» ниже и нажмите «Сохранить настройки»."},
		{viewerToken, "ru", "Администратор может включить «Брать настройки деплоя из репозитория (GitOps)» на этой странице."},
	}
	for _, tt := range tests {
		t.Run(tt.lang+"/"+tt.token, func(t *testing.T) {
			e := setup(t)
			b := e.browser()
			b.lang = tt.lang
			b.signIn(tt.token)
			res := b.get("/apps/2")
			if !has(res.body, tt.want) {
				t.Errorf("page lacks %q:\n%s", tt.want, res.body)
			}
			if has(res.body, "{id}") || has(res.body, "/api/") || has(res.body, "GitOps is disabled for this workload") {
				t.Errorf("the page shows the API's message")
			}
		})
	}
}

// TestSyncConfirmNothingDiffers: with live already equal to the file, the confirm dialog and
// page say only that, without the "writes these values" intro, and the result says nothing
// changed.
func TestSyncConfirmNothingDiffers(t *testing.T) {
	e := setup(t)
	b := e.browser()
	csrf := b.signIn(adminToken)
	for _, path := range []string{"/apps/8", "/apps/8/sync"} {
		res := b.get(path)
		if !has(res.body, `<p id="sync-changes" class="muted">Live already matches the file: Sync records this commit as applied and changes nothing.</p>`) {
			t.Errorf("%s lacks the nothing-differs message:\n%s", path, res.body)
		}
		if has(res.body, "Sync writes these values") || has(res.body, `<table class="grid changes"`) {
			t.Errorf("%s says Sync writes values although nothing differs", path)
		}
	}
	if res := b.get("/apps/1/sync"); !has(res.body, "Sync writes these values into the live config of api:") || has(res.body, "Live already matches") {
		t.Errorf("with drift the confirm page does not list the changes:\n%s", res.body)
	}
	res := b.do(http.MethodPost, "/apps/8/sync", url.Values{"csrf": {csrf}, "commit_sha": {headCommit}, "file_sha": {gitops.FileSHA([]byte(syncedRaw))}})
	if res.status != http.StatusSeeOther {
		t.Fatalf("sync: %d\n%s", res.status, res.body)
	}
	if after := b.get("/apps/8"); !has(after.body, "Sync recorded commit 1111111 as applied; live already matched the file, so nothing changed.") || has(after.body, "Sync applied 0") {
		t.Errorf("the result of a Sync that changed nothing:\n%s", after.body)
	}
}

// rfc3339RE finds an RFC 3339 time.
var rfc3339RE = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d`)

// TestTimesReadable: a time is a <time> with the exact RFC 3339 time in datetime and title and a
// readable UTC text in the page's language; no page shows a raw RFC 3339 time as text.
func TestTimesReadable(t *testing.T) {
	for _, tt := range []struct{ lang, want string }{
		{"en", `<time id="last-sync" datetime="2026-11-28T01:00:00Z" title="2026-11-28T01:00:00Z">28 Nov 2026, 01:00 UTC</time>`},
		{"ru", `<time id="last-sync" datetime="2026-11-28T01:00:00Z" title="2026-11-28T01:00:00Z">28 нояб. 2026, 01:00 UTC</time>`},
	} {
		t.Run(tt.lang, func(t *testing.T) {
			e := setup(t)
			b := e.browser()
			b.lang = tt.lang
			csrf := b.signIn(adminToken)
			res := b.do(http.MethodPost, "/apps/1/sync", url.Values{"csrf": {csrf}, "commit_sha": {headCommit}, "file_sha": {gitops.FileSHA([]byte(okRaw))}})
			if res.status != http.StatusSeeOther {
				t.Fatalf("sync: %d", res.status)
			}
			page := b.get("/apps/1")
			if !has(page.body, tt.want) {
				t.Errorf("page lacks %s:\n%s", tt.want, page.body)
			}
			for _, path := range []string{"/apps", "/apps/1", "/apps/1/sync", "/apps/1/edit"} {
				visible := tagRE.ReplaceAllString(b.get(path).body, "")
				if m := rfc3339RE.FindString(visible); m != "" {
					t.Errorf("%s shows a raw RFC 3339 time as text: %s", path, m)
				}
			}
		})
	}
}

func TestWhen(t *testing.T) {
	cats, err := loadCatalogues()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		lang, in string
		want     timeText
	}{
		{"en", "2026-12-02T14:05:09Z", timeText{"2026-12-02T14:05:09Z", "2 Dec 2026, 14:05 UTC"}},
		{"en", "2026-12-02T17:05:00+03:00", timeText{"2026-12-02T17:05:00+03:00", "2 Dec 2026, 14:05 UTC"}},
		{"ru", "2026-05-31T00:00:00Z", timeText{"2026-05-31T00:00:00Z", "31 мая 2026, 00:00 UTC"}},
		{"en", "yesterday", timeText{"", "yesterday"}},
	}
	for _, tt := range tests {
		if got := cats[tt.lang].when(tt.in); got != tt.want {
			t.Errorf("%s when(%q) = %+v, want %+v", tt.lang, tt.in, got, tt.want)
		}
	}
	if got := fmt.Sprint(cats["en"].T("nav.limited", "1234")); got != "workload 1234 only" {
		t.Errorf("an id is printed as %q", got)
	}
}

// TestNormalizationTranslated: every normalization gitops.Compare names is shown in the page's
// language; the English text is gitops's own, so a rule gitops renames shows up here.
func TestNormalizationTranslated(t *testing.T) {
	cats, err := loadCatalogues()
	if err != nil {
		t.Fatal(err)
	}
	spec, diags := gitops.Lint([]byte("version: 1\ndeploy:\n  port: 8080\n  healthcheck: \"\"\n  deploy_strategy: recreate\n"), "dockerfile")
	if spec == nil {
		t.Fatalf("lint: %v", diags)
	}
	seen := map[string]bool{}
	for _, live := range []string{`{"port":"8080"}`, `{"port":8080.0}`, `{"port":8080,"deploy_strategy":""}`} {
		comps, err := gitops.Compare(spec, "dockerfile", []byte(live))
		if err != nil {
			t.Fatal(err)
		}
		for _, comp := range comps {
			if comp.Normalization == "" {
				continue
			}
			seen[comp.Field+" "+fmt.Sprint(strings.Contains(comp.Normalization, "the string"))] = true
			if got := normalization(cats["en"], comp); got != comp.Normalization {
				t.Errorf("live %s, en: %q, want gitops's %q", live, got, comp.Normalization)
			}
			if got := normalization(cats["ru"], comp); got == comp.Normalization || !strings.ContainsAny(got, "абвгдеёжзийклмнопрстуфхцчшщъыьэюя") {
				t.Errorf("live %s, ru: %q is not Russian", live, got)
			}
		}
	}
	want := map[string]bool{"deploy.port true": true, "deploy.port false": true, "deploy.healthcheck false": true, "deploy.deploy_strategy false": true}
	if diff := cmp.Diff(want, seen); diff != "" {
		t.Errorf("normalizations seen (-want +got):\n%s", diff)
	}
}

// TestEmptyListSaysWhatToDo: a list without workloads says how workloads come to be and that a
// limited token sees only its own, in the page's language.
func TestEmptyListSaysWhatToDo(t *testing.T) {
	e := setup(t)
	e.fake.mu.Lock()
	e.fake.workloads = map[int64]*fakeWorkload{}
	e.fake.mu.Unlock()
	for lang, want := range map[string]string{"en": "An admin creates workloads with the API (POST /api/workloads", "ru": "Администратор создаёт приложения через API (POST /api/workloads"} {
		b := e.browser()
		b.lang = lang
		b.signIn(adminToken)
		if res := b.get("/apps"); !strings.Contains(res.body, `id="no-workloads"`) || !strings.Contains(res.body, want) {
			t.Errorf("%s: the empty list lacks %q:\n%s", lang, want, res.body)
		}
	}
}

// TestSyncOffSaysWhy: the disabled Sync button of a workload with GitOps off says GitOps is off,
// not that the file is invalid.
func TestSyncOffSaysWhy(t *testing.T) {
	e := setup(t)
	b := e.browser()
	b.signIn(adminToken)
	res := b.get("/apps/2") // GitOps off in the fake
	if !strings.Contains(res.body, `data-status="disabled"`) || !strings.Contains(res.body, "Disabled: GitOps is off for this workload.") ||
		strings.Contains(res.body, "Sync needs a valid file") {
		t.Errorf("the GitOps-off workload's Sync button does not say GitOps is off:\n%s", res.body)
	}
}

// TestListShowsLastKnownWhenLate: a view that misses the list's budget shows the workload's
// last known state with when it was checked, not "fetch failed"; a view that fails still shows
// "fetch failed".
func TestListShowsLastKnownWhenLate(t *testing.T) {
	e := setup(t, func(c *Config) {
		c.ListTimeout = 300 * time.Millisecond
		c.Now = func() time.Time { return time.Date(2026, 12, 5, 9, 30, 0, 0, time.UTC) }
	})
	b := e.browser()
	b.signIn(viewerToken) // the first load: every view in time
	e.fake.mu.Lock()
	e.fake.gitopsWait = func(ctx context.Context, id int64) {
		if id == 1 {
			<-ctx.Done()
			time.Sleep(200 * time.Millisecond) // its answer comes after the list stopped waiting
		}
	}
	e.fake.gitopsErr = map[int64]error{8: errors.New("connection reset")}
	e.fake.mu.Unlock()
	res := b.get("/apps")
	cells := listCells(t, res.body)
	if cells["1"].Status != "drift" || cells["8"].Status != "fetch_failed" || cells["6"].Status != "drift" {
		t.Errorf("states: %+v; want 1 drift (last known), 8 fetch_failed, 6 drift", cells)
	}
	row1 := res.body[strings.Index(res.body, `<tr data-id="1"`):]
	row1 = row1[:strings.Index(row1, "</tr>")]
	if !has(row1, `as of <time datetime="2026-12-05T09:30:00Z"`) {
		t.Errorf("the late row does not say when its state was checked:\n%s", row1)
	}
	row6 := res.body[strings.Index(res.body, `<tr data-id="6"`):]
	if has(row6[:strings.Index(row6, "</tr>")], "as of") {
		t.Errorf("a fresh row says as of")
	}
}
