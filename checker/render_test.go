package checker

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/tinyforge/tinyforge-check/forge"
	"github.com/tinyforge/tinyforge-check/gitops"
)

func runReport(t *testing.T, e env, in Inputs) *Report {
	t.Helper()
	c, _, _, _, _ := e.checker()
	r, err := c.Run(context.Background(), in)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return r
}

func TestRenderCommentDriftPR(t *testing.T) {
	r := runReport(t, env{workspace: map[string]string{".tinyforge.yml": driftYAML}, workloads: []*Workload{liveWeb()},
		files: map[string]string{"base2222222:.tinyforge.yml": inSyncYAML}},
		Inputs{Workload: "3", FailOn: DefaultFailOn, Event: prEvent(), Forge: ForgeGitHub, RunID: 42})
	want := "### ⚠️ Tinyforge GitOps: drift\n\n" +
		"**1 field differs from live: Sync required**\n\n" +
		"Workload **web** (#3, dockerfile) · File .tinyforge.yml · blob ff04d9f · commit head111 · check tinyforge/gitops\n\n" +
		"**[Review and Sync in Tinyforge](https://tf.example/apps/3?file=ff04d9f8b58cfd09b459907b0c7448a0d25035d3&commit=head1111111&pr=7#gitops)**" +
		" — the link is pinned to this file and commit. Sync applies the base branch: merge this PR first, then Sync; the link previews the change until then.\n\n" +
		"Sync preview: a Sync of this file would be accepted.\n\n" +
		"| Field | Base branch | This branch | Live | |\n|---|---|---|---|---|\n" +
		"| `deploy.port` | 8080 | 9090 | 8080 | changed by this PR |\n" +
		"| `deploy.deploy_strategy` | rolling | rolling | rolling | in sync |\n\n" +
		"<details><summary>.tinyforge.yml (59 bytes)</summary>\n\n" +
		"<pre>version: 1\ndeploy:\n  port: 9090\n  deploy_strategy: rolling\n</pre>\n\n</details>\n"
	got := RenderComment(r)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("comment (-want +got):\n%s", diff)
	}
	// Deterministic: another run id renders the same body.
	r2 := runReport(t, env{workspace: map[string]string{".tinyforge.yml": driftYAML}, workloads: []*Workload{liveWeb()},
		files: map[string]string{"base2222222:.tinyforge.yml": inSyncYAML}},
		Inputs{Workload: "3", FailOn: DefaultFailOn, Event: prEvent(), Forge: ForgeGitHub, RunID: 43})
	if diff := cmp.Diff(got, RenderComment(r2)); diff != "" {
		t.Errorf("comment differs between runs (-first +second):\n%s", diff)
	}
}

func TestRenderCommentTitles(t *testing.T) {
	disabled := liveWeb()
	disabled.GitOpsEnabled = false
	tests := []struct {
		name string
		e    env
		in   Inputs
		want []string // lines the comment must contain
	}{
		{"in sync push", env{workspace: map[string]string{".tinyforge.yml": inSyncYAML}, workloads: []*Workload{liveWeb()}},
			Inputs{Workload: "3", Event: pushEvent()},
			[]string{"### ✅ Tinyforge GitOps: in sync", "| Field | This commit | Live | |", "| `deploy.port` | 8080 | 8080 | in sync |",
				"**[Open the workload in Tinyforge](https://tf.example/apps/3?file=" + gitops.FileSHA([]byte(inSyncYAML)) + "&commit=push3333333#gitops)**" +
					" — the link is pinned to this file and commit, so a Sync applies exactly what was reviewed."}},
		{"file removed", env{workspace: map[string]string{}, workloads: []*Workload{liveWeb()}, files: map[string]string{"base2222222:.tinyforge.yml": inSyncYAML}},
			Inputs{Workload: "3", Event: prEvent()},
			[]string{"### ❌ Tinyforge GitOps: file removed", "**No .tinyforge.yml at this commit** — this PR removes .tinyforge.yml"}},
		{"disabled", env{workspace: map[string]string{".tinyforge.yml": inSyncYAML}, workloads: []*Workload{disabled}},
			Inputs{Workload: "3", Event: prEvent()},
			[]string{"### ⏸️ Tinyforge GitOps: GitOps disabled",
				"**GitOps is disabled for this workload in Tinyforge: nothing to compare**",
				"**[Open the workload in Tinyforge](https://tf.example/apps/3?file=" + gitops.FileSHA([]byte(inSyncYAML)) + "&commit=head1111111&pr=7#gitops)**"}},
		{"invalid", env{workspace: map[string]string{".tinyforge.yml": invalidYAML}},
			Inputs{Event: prEvent()},
			[]string{"### ❌ Tinyforge GitOps: invalid file", "**2 errors in .tinyforge.yml: fix the file**",
				`- **error** .tinyforge.yml:3:3: unknown key &quot;prot&quot;; did you mean &quot;port&quot;? (allowed under deploy: port, healthcheck, deploy\_strategy) \[unknown-key\]`}},
		{"sync refused", env{workspace: map[string]string{".tinyforge.yml": "version: 1\ndeploy:\n  port: 8080\n"},
			workloads: []*Workload{{ID: 3, Name: "web", SourceType: "dockerfile", GitOpsEnabled: true,
				SourceConfig: json.RawMessage(`{"port":8080,"deploy_strategy":"blue-green"}`)}}},
			Inputs{Workload: "3", Event: pushEvent()},
			[]string{"### ✅ Tinyforge GitOps: in sync", "Sync preview: **a Sync of this file would be refused**: "}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runReport(t, tt.e, tt.in)
			got := RenderComment(r)
			if r.Verdict != VerdictInSync && r.Verdict != VerdictDrift && strings.Contains(got, "pinned to this file") {
				t.Errorf("a %s comment claims a pinned Sync:\n%s", r.Verdict, got)
			}
			lines := strings.Split(got, "\n")
			for _, w := range tt.want {
				found := false
				for _, l := range lines {
					if l == w || (strings.HasSuffix(w, ": ") && strings.HasPrefix(l, w)) {
						found = true
					}
				}
				if !found {
					t.Errorf("comment lacks line %q; got:\n%s", w, got)
				}
			}
		})
	}
}

func TestEscapeInline(t *testing.T) {
	tests := []struct{ in, want string }{
		{"8080", "8080"},
		{"/healthz", "/healthz"},
		{"a|b", "a&#124;b"},
		{"`rm -rf`", "&#96;rm -rf&#96;"},
		{"<img src=x onerror=alert(1)>", "&lt;img src=x onerror=alert(1)&gt;"},
		{"<!-- tinyforge-check:tinyforge/gitops run=99 -->", "&lt;!-- tinyforge-check:tinyforge/gitops run=99 --&gt;"},
		{"ping @octocat", "ping @\u200boctocat"},
		{"**bold** _it_ [x](y) ~~s~~ $x$", `\*\*bold\*\* \_it\_ \[x\](y) \~\~s\~\~ \$x\$`},
		{"line1\nline2\r", "line1 line2 "},
		{"evil\u202ereversed", "evil\ufffdreversed"},
		{"bad\xffutf8", "bad\ufffdutf8"},
		{`a"b&c`, "a&quot;b&amp;c"},
	}
	for _, tt := range tests {
		if got := escapeInline(tt.in, 1000); got != tt.want {
			t.Errorf("escapeInline(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if got := escapeInline(strings.Repeat("x", 300), 10); got != "xxxxxxxxx…" {
		t.Errorf("escapeInline cap = %q", got)
	}
}

func TestRenderEscapesRepoValues(t *testing.T) {
	// A live config whose values try to break the table and inject HTML, and a file whose
	// comments do the same.
	w := liveWeb()
	w.Name = "web|<b>x</b>"
	w.SourceConfig = json.RawMessage(`{"port":8080,"healthcheck":"/ok | <script>alert(1)</script> @admin","deploy_strategy":"rolling"}`)
	file := "# <!-- tinyforge-check:tinyforge/gitops run=999999 -->\n# </pre></details><img src=x> @octocat ::error::x\nversion: 1\ndeploy:\n  healthcheck: /healthz\n"
	r := runReport(t, env{workspace: map[string]string{".tinyforge.yml": file}, workloads: []*Workload{w},
		files: map[string]string{"base2222222:.tinyforge.yml": file}},
		Inputs{Workload: "3", Event: prEvent()})
	got := RenderComment(r)
	assertSafeMarkdown(t, got)
	wantRow := "| `deploy.healthcheck` | /healthz | /healthz | /ok &#124; &lt;script&gt;alert(1)&lt;/script&gt; @\u200badmin | already drifted |"
	if !strings.Contains(got, wantRow+"\n") {
		t.Errorf("comment lacks row %q:\n%s", wantRow, got)
	}
	if strings.Count(got, "\n| ") != 2 { // header and one row
		t.Errorf("table has extra rows or broke:\n%s", got)
	}
}

// allowedTags are the only HTML tags the renderer itself writes.
var allowedTags = regexp.MustCompile(`</?(details|summary|pre)>`)

// assertSafeMarkdown checks the properties every rendered body has: valid UTF-8, no HTML but
// our own tags, no marker, no live @mention, and no line that a runner would take as a command.
func assertSafeMarkdown(t *testing.T, s string) {
	t.Helper()
	if !utf8.ValidString(s) {
		t.Errorf("not valid UTF-8")
	}
	stripped := allowedTags.ReplaceAllString(s, "")
	if i := strings.IndexByte(stripped, '<'); i >= 0 {
		t.Errorf("raw '<' survives at %q", stripped[max(0, i-20):min(len(stripped), i+40)])
	}
	if strings.Contains(s, "<!--") {
		t.Errorf("a marker-like comment survives")
	}
	for i := strings.IndexByte(s, '@'); i >= 0; {
		if !strings.HasPrefix(s[i+1:], "\u200b") {
			t.Errorf("@ without a zero-width space at %q", s[i:min(len(s), i+20)])
			break
		}
		j := strings.IndexByte(s[i+1:], '@')
		if j < 0 {
			break
		}
		i += 1 + j
	}
}

func TestRenderTruncation(t *testing.T) {
	// A file near the 64 KiB limit full of characters that grow when escaped: the comment
	// drops the file with a note and stays under the limit; the summary keeps it.
	big := "version: 1\ndeploy:\n  port: 8080\n" + strings.Repeat("# <&>@ <&>@ <&>@ <&>@ <&>@ <&>@ <&>@\n", 1700)
	if len(big) > gitops.MaxFileSize {
		t.Fatalf("test file too large: %d", len(big))
	}
	r := runReport(t, env{workspace: map[string]string{".tinyforge.yml": big}, workloads: []*Workload{liveWeb()}},
		Inputs{Workload: "3", Event: prEvent()})
	comment := RenderComment(r)
	if len(comment) > MaxRenderedComment {
		t.Errorf("comment is %d bytes, over %d", len(comment), MaxRenderedComment)
	}
	if !strings.Contains(comment, "is too large to show here; it is in the job summary of this run._") {
		t.Errorf("comment lacks the visible note:\n%s", comment[len(comment)-300:])
	}
	summary := RenderSummary(r)
	if !strings.Contains(summary, "<pre>version: 1\n") || len(summary) > MaxSummary {
		t.Errorf("summary lacks the file or is too large (%d bytes)", len(summary))
	}
	assertSafeMarkdown(t, comment)
	assertSafeMarkdown(t, summary)

	// Thousands of diagnostics: the comment shows 50 and says how many more, the summary all.
	diags := make(gitops.Diagnostics, 3000)
	for i := range diags {
		diags[i] = gitops.Diagnostic{Severity: gitops.SeverityError, Line: i + 1, Column: 1, Code: "unknown-key",
			Message: strings.Repeat("m", 400)}
	}
	r = &Report{Verdict: VerdictInvalid, Path: ".tinyforge.yml", File: []byte("x"), Diagnostics: diags, StatusContext: DefaultStatusContext}
	comment = RenderComment(r)
	if got := strings.Count(comment, "\n- **error**"); got != maxCommentDiagnostics {
		t.Errorf("comment lists %d diagnostics, want %d", got, maxCommentDiagnostics)
	}
	if !strings.Contains(comment, "- … and 2950 more in the job summary of this run\n") {
		t.Errorf("comment lacks the count of the rest")
	}
	summary = RenderSummary(r)
	if len(summary) > MaxSummary || !strings.HasSuffix(summary, truncationNote) {
		t.Errorf("summary: %d bytes, ends %q", len(summary), summary[len(summary)-80:])
	}
}

func TestDescriptionLength(t *testing.T) {
	r := &Report{Verdict: VerdictInvalid, Path: strings.Repeat("very/long/", 30) + "x.yml", File: []byte("x"),
		Diagnostics: gitops.Diagnostics{{Severity: gitops.SeverityError}}}
	d := r.Description()
	if n := utf8.RuneCountInString(d); n != forge.MaxDescription || !strings.HasSuffix(d, "…") {
		t.Errorf("description has %d runes: %q", n, d)
	}
}

// TestRenderCommentSetBy: with Tinyforge's drift attribution, the comment says, under the
// table, what last set each drifted field's live value, when and the way in, never the token's
// name; a field in sync is not explained. Without attribution (an older Tinyforge) the comment
// is exactly TestRenderCommentDriftPR's.
func TestRenderCommentSetBy(t *testing.T) {
	tests := []struct {
		name string
		by   gitops.SetBy
		want string
	}{
		{"edit form", gitops.SetBy{EventID: 9, At: "2026-12-05T10:11:12Z", Action: "source_config", Via: "panel", Actor: "token:alice-WHO#6", Role: "admin"},
			"in Tinyforge's edit form on 2026-12-05"},
		{"API", gitops.SetBy{EventID: 9, At: "2026-12-05T10:11:12Z", Action: "source_config", Via: "api", Actor: "token:alice-WHO#6"},
			"through Tinyforge's API on 2026-12-05"},
		{"sync", gitops.SetBy{EventID: 9, At: "2026-12-04T23:59:59Z", Action: "sync", Via: "panel", CommitSHA: "abc1234def5678", Actor: "token:alice-WHO#6"},
			"by a Sync of abc1234 on 2026-12-04"},
		{"creation", gitops.SetBy{EventID: 9, At: "2026-12-01T00:00:00Z", Action: "create", Via: "api", Actor: "token:alice-WHO#6"},
			"when the workload was created in Tinyforge on 2026-12-01"},
		{"untrusted values", gitops.SetBy{At: "<b>@here</b>", Action: "sync", CommitSHA: "[x](https://evil)", Via: "<script>", Actor: "token:alice-WHO#6"},
			"by a Sync"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := liveWeb()
			w.SetBy = map[string]gitops.SetBy{"deploy.port": tt.by, "deploy.deploy_strategy": tt.by}
			r := runReport(t, env{workspace: map[string]string{".tinyforge.yml": driftYAML}, workloads: []*Workload{w},
				files: map[string]string{"base2222222:.tinyforge.yml": inSyncYAML}},
				Inputs{Workload: "3", FailOn: DefaultFailOn, Event: prEvent(), Forge: ForgeGitHub, RunID: 42})
			got := RenderComment(r)
			want := "| `deploy.deploy_strategy` | rolling | rolling | rolling | in sync |\n" +
				"\nWhy live differs — the live value was last set:\n- `deploy.port`: " + tt.want + "\n\n<details>"
			if !strings.Contains(got, want) {
				t.Errorf("comment lacks\n%s\ngot:\n%s", want, got)
			}
			for _, leak := range []string{"WHO", "alice", "<b>", "evil", "<script>"} {
				if strings.Contains(got, leak) {
					t.Errorf("comment shows %q:\n%s", leak, got)
				}
			}
		})
	}
}

// FuzzSetByText: whatever Tinyforge sends as attribution, the phrase is one line of fixed
// words, a date and a short hex SHA: no markdown, HTML or mention can come through.
func FuzzSetByText(f *testing.F) {
	f.Add("2026-12-05T10:11:12Z", "sync", "panel", "abc1234def", "token:x#1")
	f.Add("<b>", "create", "api", "[x](y)", "@here")
	f.Fuzz(func(t *testing.T, at, action, via, commit, actor string) {
		got := setByText(gitops.SetBy{At: at, Action: action, Via: via, CommitSHA: commit, Actor: actor})
		if strings.ContainsAny(got, "<>[]()@`*_\\|\n\r") || !utf8.ValidString(got) {
			t.Fatalf("setByText = %q", got)
		}
	})
}
