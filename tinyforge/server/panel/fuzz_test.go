package panel

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/tinyforge/tinyforge-check/gitops"
	"github.com/tinyforge/tinyforge-check/tinyforge"
)

// FuzzSafeNext: whatever the input, the redirect target is a local path that a browser cannot
// read as another host.
func FuzzSafeNext(f *testing.F) {
	for _, s := range []string{"/apps/1?file=a#gitops", "//evil", "/\\evil", "https://x", "/%2f%2fevil", "/\t/x", "", "/apps\r\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, next string) {
		got := safeNext(next)
		if got != "/apps" && got != next {
			t.Fatalf("safeNext(%q) = %q: neither the input nor the fallback", next, got)
		}
		if !strings.HasPrefix(got, "/") || strings.HasPrefix(got, "//") || strings.ContainsAny(got, "\\\t\r\n") {
			t.Fatalf("safeNext(%q) = %q is not a local path", next, got)
		}
		base, _ := url.Parse("https://panel.example/apps/1")
		ref, err := url.Parse(got)
		if err != nil {
			t.Fatalf("safeNext(%q) = %q does not parse: %v", next, got, err)
		}
		if h := base.ResolveReference(ref).Host; h != "panel.example" {
			t.Fatalf("safeNext(%q) = %q resolves to host %q", next, got, h)
		}
	})
}

// FuzzNegotiate: any header picks a supported language.
func FuzzNegotiate(f *testing.F) {
	for _, s := range []string{"ru-RU,ru;q=0.9", "en;q=0", "ru;q=NaN", ";;;,,,q=", "*"} {
		f.Add("", s)
	}
	f.Fuzz(func(t *testing.T, cookie, header string) {
		if got := negotiate(cookie, header); !supported(got) {
			t.Fatalf("negotiate(%q, %q) = %q", cookie, header, got)
		}
	})
}

// FuzzWorkloadPage renders the workload page with arbitrary name, file, message, source_config
// and pins: it never fails and never lets input form an element.
func FuzzWorkloadPage(f *testing.F) {
	f.Add("api", okRaw, "msg", `{"port":"8080"}`, "abc")
	f.Add(xssName, xssRaw, "<b>x</b>", `{"a":"<img src=x>"}`, "<script>")
	f.Add("a\"b'c&d", "\x00\xff", "</dialog>", `[1]`, "")
	f.Fuzz(func(t *testing.T, name, raw, message, cfg, pin string) {
		p, err := build(Config{Backend: newFakeBackend()})
		if err != nil {
			t.Fatal(err)
		}
		spec, _ := gitops.ParseSpec([]byte(raw))
		view := &View{GitOpsView: tinyforge.GitOpsView{Enabled: true, Path: ".tinyforge.yml", Status: "ok", Message: message, Raw: raw,
			CommitSHA: headCommit, FileSHA: gitops.FileSHA([]byte(raw)), Drift: []tinyforge.DriftEntry{{Field: name, RepoValue: raw, LiveValue: message}},
			LastSyncAt: message}}
		view.Comparisons, _ = gitops.Compare(spec, "", json.RawMessage(cfg))
		gp := gitopsPanel{View: view, Rows: driftRows(p.cats["en"], view), ReviewedFile: pin, CanSync: true, ConfirmURL: confirmURL(1, url.Values{"file": {pin}})}
		gp.Message, gp.Detail = statusMessage(p.cats["en"], view, true)
		gp.State = stateOf(view, nil).text(p.cats["en"])
		gp.Mismatch, gp.CommitMoved = pinState(view, pin, pin)
		wl := &tinyforge.Workload{ID: 1, Name: name, SourceType: "dockerfile", SourceConfig: json.RawMessage(cfg), GitOps: tinyforge.GitOpsSettings{Enabled: true, Path: name}}
		r := httptest.NewRequest(http.MethodGet, "/apps/1", nil)
		rq := request{s: session{p: Principal{Name: name, Role: RoleAdmin}, csrf: "c"}, lang: "en"}
		data := workloadPage{base: p.base(r, &rq, "workload"), W: wl, GitOps: gp, IsAdmin: true, Supported: true, Live: liveRows(wl.SourceConfig, nil)}
		for _, page := range []string{"workload", "confirm"} {
			w := httptest.NewRecorder()
			p.render(w, "en", page, http.StatusOK, data)
			if w.Code != http.StatusOK {
				t.Fatalf("render %s: %d %s", page, w.Code, w.Body)
			}
			body := w.Body.Bytes()
			if n := bytes.Count(body, []byte("<script")); n != 1 {
				t.Fatalf("%s page has %d <script elements", page, n)
			}
			for _, tag := range []string{"<img", "<b>"} {
				if bytes.Contains(body, []byte(tag)) {
					t.Fatalf("%s page renders input %q as markup", page, tag)
				}
			}
		}
	})
}
