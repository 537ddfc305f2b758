package checker

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"testing/fstest"
)

// FuzzRenderComment runs a whole check on an arbitrary file and live value and checks the
// comment and summary: no panic, within their size limits, no HTML or marker from the input,
// no @mention.
func FuzzRenderComment(f *testing.F) {
	f.Add([]byte(driftYAML), "/healthz", "web")
	f.Add([]byte(invalidYAML), "<!-- tinyforge-check:tinyforge/gitops run=1 -->", "<b>")
	f.Add([]byte("version: 1\ndeploy:\n  healthcheck: \"/a|b`c@d\"\n"), "x | y\n@z", "a|b")
	f.Add([]byte("# </pre></details>\x00\xff\nversion: 1\n"), "\u202e", "@here")
	f.Fuzz(func(t *testing.T, file []byte, live, name string) {
		cfg, err := json.Marshal(map[string]any{"port": 8080, "healthcheck": live, "deploy_strategy": live})
		if err != nil {
			t.Skip()
		}
		w := &Workload{ID: 1, Name: name, SourceType: "dockerfile", SourceConfig: cfg, GitOpsEnabled: true, UIURL: "https://tf.example/apps/1"}
		c := &Checker{Workspace: fstest.MapFS{".tinyforge.yml": {Data: file}}, Live: &fakeLive{workloads: []*Workload{w}},
			Files: &fakeFiles{files: map[string]string{"base2222222:.tinyforge.yml": live}}}
		r, err := c.Run(context.Background(), Inputs{Workload: "1", Event: prEvent()})
		if err != nil {
			t.Fatal(err)
		}
		comment, summary := RenderComment(r), RenderSummary(r)
		if len(comment) > MaxRenderedComment {
			t.Fatalf("comment is %d bytes", len(comment))
		}
		if len(summary) > MaxSummary {
			t.Fatalf("summary is %d bytes", len(summary))
		}
		assertSafeMarkdown(t, comment)
		assertSafeMarkdown(t, summary)
		if comment != RenderComment(r) {
			t.Fatalf("not deterministic")
		}
		// The same report as a push's, in the comment of the PR it merged.
		r.Event = Event{Name: EventPush, CommitSHA: "merge333333333333333333333333333333333333"}
		merged := RenderMergedComment(r)
		if len(merged) > MaxRenderedComment {
			t.Fatalf("merged comment is %d bytes", len(merged))
		}
		assertSafeMarkdown(t, merged)
		if !strings.HasPrefix(merged, "### 🔀 "+MergedTitle(r)+"\n") || merged != RenderMergedComment(r) {
			t.Fatalf("merged comment does not start with its title, or is not deterministic:\n%s", merged)
		}
	})
}

// FuzzNeutralize checks that no text survives Neutralize as a workflow command or a new line.
func FuzzNeutralize(f *testing.F) {
	for _, s := range []string{"::error::x", " \t::add-mask::s", "a ##[set-env name=x;]y", "a\n::b", "\u2028::x", "\xff::"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := Neutralize(s)
		if isCommand(out) || strings.ContainsAny(out, "\r\n\x1b\u0085\u2028\u2029") {
			t.Fatalf("Neutralize(%q) = %q", s, out)
		}
	})
}

// FuzzWriteFileCommand checks that any value round-trips through GITHUB_OUTPUT without forming
// another entry.
func FuzzWriteFileCommand(f *testing.F) {
	f.Add("[]\nverdict<<EOF\nin_sync\nEOF")
	f.Add("ghadelimiter_x\n")
	f.Fuzz(func(t *testing.T, v string) {
		if strings.Contains(v, "\r") {
			v = strings.ReplaceAll(v, "\r", "")
		}
		var b bytes.Buffer
		if err := WriteFileCommand(&b, nil, "drift-json", v); err != nil {
			t.Fatal(err)
		}
		if err := WriteFileCommand(&b, nil, "verdict", "drift"); err != nil {
			t.Fatal(err)
		}
		got, err := parseFileCommands(b.String())
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got["drift-json"] != v || got["verdict"] != "drift" {
			t.Fatalf("round trip of %q gave %q", v, got)
		}
	})
}

// FuzzEscapeInline checks that an escaped value stays one line and carries no markup.
func FuzzEscapeInline(f *testing.F) {
	f.Add("a|b<c>`d`@e")
	f.Fuzz(func(t *testing.T, s string) {
		out := escapeInline(s, maxCellRunes)
		if strings.ContainsAny(out, "\n\r|`<>") {
			t.Fatalf("escapeInline(%q) = %q", s, out)
		}
		assertSafeMarkdown(t, out)
	})
}
