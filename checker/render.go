package checker

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/tinyforge/tinyforge-check/forge"
	"github.com/tinyforge/tinyforge-check/gitops"
)

// Size limits of the rendered markdown, in bytes (bytes bound characters from above).
const (
	// MaxRenderedComment bounds RenderComment's output, the comment body without its marker
	// line: forge.MaxCommentBody (GitHub's limit, in characters) less room for the marker.
	MaxRenderedComment = forge.MaxCommentBody - 1536
	// MaxSummary bounds the job summary; GitHub refuses step summaries over 1 MiB.
	MaxSummary = 1<<20 - 4096
)

// Caps of the comment; the job summary shows everything.
const (
	maxCommentDiagnostics = 50
	maxCellRunes          = 200
	maxMessageRunes       = 500
)

const truncationNote = "\n\n**Truncated:** this report is longer than a comment may be; the full report is in the job summary of this run.\n"

// RenderComment renders the PR comment body (without the marker line): verdict, counts and the
// pinned Sync link first, then the drift table (three-way on PRs), the diagnostics, and the
// file folded. The output depends only on r (no clock, no run number), escapes every value
// that comes from the repo or Tinyforge, and is at most MaxRenderedComment bytes, with a visible
// note when it had to be cut. `tinyforge-check drift --format markdown` prints the same text.
func RenderComment(r *Report) string {
	return render(r, false)
}

// RenderSummary renders the job summary: the comment's content without its caps, plus the
// run's notices, at most MaxSummary bytes.
func RenderSummary(r *Report) string {
	return render(r, true)
}

func render(r *Report, summary bool) string {
	limit := MaxRenderedComment
	if summary {
		limit = MaxSummary
	}
	head := renderHead(r, summary)
	body := renderBody(r, summary)
	file := renderFile(r)
	out := head + body + file
	if len(out) <= limit {
		return out
	}
	if file != "" {
		out = head + body + fmt.Sprintf("\n_The file (%d bytes) is too large to show here; it is in the job summary of this run._\n", len(r.File))
		if summary {
			out = head + body + fmt.Sprintf("\n_The file (%d bytes) is too large to show here._\n", len(r.File))
		}
		if len(out) <= limit {
			return out
		}
	}
	return capLines(out, limit)
}

// capLines is out when it fits in limit bytes, else its longest prefix that ends at a line
// break, followed by truncationNote, in limit bytes all told.
func capLines(out string, limit int) string {
	if len(out) <= limit {
		return out
	}
	return cutLines(out, limit-len(truncationNote)) + truncationNote
}

// cutLines returns the longest prefix of s of at most n bytes that ends at a line break.
func cutLines(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return ""
}

func title(r *Report) string {
	switch r.Verdict {
	case VerdictInSync:
		return "✅ Tinyforge GitOps: in sync"
	case VerdictDrift:
		return "⚠️ Tinyforge GitOps: drift"
	case VerdictInvalid:
		if r.File != nil && r.Diagnostics.HasErrors() {
			return "❌ Tinyforge GitOps: invalid file"
		}
		return "❌ Tinyforge GitOps: cannot use GitOps"
	case VerdictNoFile:
		if r.BaseHasFile {
			return "❌ Tinyforge GitOps: file removed"
		}
		return "❌ Tinyforge GitOps: no file"
	case VerdictDisabled:
		return "⏸️ Tinyforge GitOps: GitOps disabled"
	case VerdictSkipped:
		return "ℹ️ Tinyforge GitOps: lint only"
	}
	return "⛔ Tinyforge GitOps: the check could not finish"
}

// renderHead renders the report's top: title, description and reason, the facts line, the
// Sync link, the path warning, the Sync preview and, in the summary, the run's notices.
func renderHead(r *Report, summary bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "### %s\n\n", title(r))
	fmt.Fprintf(&b, "**%s**", escapeInline(r.Description(), maxMessageRunes))
	if r.showReason() {
		fmt.Fprintf(&b, " — %s", escapeInline(r.Reason, maxMessageRunes))
	}
	b.WriteString("\n\n")
	b.WriteString(strings.Join(facts(r), " · "))
	b.WriteString("\n")
	b.WriteString(renderSyncLink(r))
	if r.TinyforgePath != "" {
		fmt.Fprintf(&b, "\n> [!WARNING]\n> The path input %s differs from the GitOps path %s set in Tinyforge; Tinyforge syncs %s.\n",
			escapeInline(r.Path, maxCellRunes), escapeInline(r.TinyforgePath, maxCellRunes), escapeInline(r.TinyforgePath, maxCellRunes))
	}
	b.WriteString(renderSyncPreview(r.Sync))
	if summary && r.Event.Name == EventMergeGroup {
		b.WriteString("\nA merge group run: the status is set on the merge group's head commit, for the merge queue; a merge group gets no comment and no issue.\n")
	}
	if summary {
		b.WriteString(renderNotices(r.Notices))
	}
	return b.String()
}

// facts are what the check looked at, escaped: the workload (or the source type), the file and
// its blob, the commit and the status context.
func facts(r *Report) []string {
	var out []string
	if w := r.Workload; w != nil && w.ID > 0 {
		out = append(out, fmt.Sprintf("Workload **%s** (#%d, %s)", escapeInline(w.Name, maxCellRunes), w.ID, escapeInline(w.SourceType, 40)))
	} else if r.SourceType != "" {
		out = append(out, fmt.Sprintf("Source type %s", escapeInline(r.SourceType, 40)))
	}
	out = append(out, "File "+escapeInline(r.Path, maxCellRunes))
	if r.FileSHA != "" {
		out = append(out, "blob "+escapeInline(gitops.ShortSHA(r.FileSHA), 12))
	}
	if sha := r.Status.SHA; sha != "" {
		out = append(out, "commit "+escapeInline(gitops.ShortSHA(sha), 12))
	}
	if g := r.Event.MergeGroup; g != "" {
		out = append(out, "merge group "+escapeInline(g, maxCellRunes))
	}
	return append(out, "check "+escapeInline(r.StatusContext, maxCellRunes))
}

// renderSyncLink renders the link to the workload in Tinyforge, saying what it is pinned to;
// "" when there is no link.
func renderSyncLink(r *Report) string {
	if r.SyncURL == "" {
		return ""
	}
	what := "Open the workload in Tinyforge"
	if r.Verdict == VerdictDrift {
		what = "Review and Sync in Tinyforge"
	}
	pinned := ""
	switch {
	case r.FileSHA == "" || (r.Verdict != VerdictDrift && r.Verdict != VerdictInSync):
	case r.Event.PR != nil && r.Verdict == VerdictDrift:
		pinned = " — the link is pinned to this file and commit. Sync applies the base branch: merge this PR first, then Sync; the link previews the change until then."
	case r.Event.headSHA() != "":
		pinned = " — the link is pinned to this file and commit, so a Sync applies exactly what was reviewed."
	default: // a local run: no commit to pin (gitops.PinnedURL leaves commit= out)
		pinned = " — the link is pinned to this file, so Tinyforge refuses a Sync of any other content."
	}
	return fmt.Sprintf("\n**[%s](%s)**%s\n", what, escapeURL(r.SyncURL), pinned)
}

// renderSyncPreview renders whether a Sync would be accepted; "" when it was not computed.
func renderSyncPreview(s *SyncPreview) string {
	switch {
	case s == nil:
		return ""
	case s.Valid:
		return "\nSync preview: a Sync of this file would be accepted.\n"
	}
	return fmt.Sprintf("\nSync preview: **a Sync of this file would be refused**: %s\n", escapeInline(s.Error, maxMessageRunes))
}

// renderSetBy says, for each drifted field Tinyforge attributes, what last set its live value:
// when and the way in, never who (a comment may be public, and the token's name is a person's
// choice). "" when Tinyforge sent no attribution (an older server) or nothing drifts.
func renderSetBy(r *Report) string {
	if r.Workload == nil || len(r.Workload.SetBy) == 0 {
		return ""
	}
	var lines []string
	for _, d := range r.Drift {
		sb, ok := r.Workload.SetBy[d.Field]
		if !ok {
			continue
		}
		lines = append(lines, fmt.Sprintf("- `%s`: %s", d.Field, setByText(sb)))
	}
	if len(lines) == 0 {
		return ""
	}
	return "\nWhy live differs — the live value was last set:\n" + strings.Join(lines, "\n") + "\n"
}

// setByText is how an attributed change reads in a comment: the way in and the day, from fixed
// phrases; only the commit and the date come from Tinyforge, validated.
func setByText(sb gitops.SetBy) string {
	var how string
	switch {
	case sb.Action == "sync" && gitops.IsSHA(sb.CommitSHA, false):
		how = "by a Sync of " + gitops.ShortSHA(sb.CommitSHA)
	case sb.Action == "sync":
		how = "by a Sync"
	case sb.Action == "create":
		how = "when the workload was created in Tinyforge"
	case sb.Via == "panel":
		how = "in Tinyforge's edit form"
	case sb.Via == "api":
		how = "through Tinyforge's API"
	default:
		how = "in Tinyforge"
	}
	if t, err := time.Parse(time.RFC3339, sb.At); err == nil {
		how += " on " + t.UTC().Format("2006-01-02")
	}
	return how
}

// renderNotices renders the run's notices as a list; "" when there are none.
func renderNotices(notices []Notice) string {
	if len(notices) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("\n")
	for _, n := range notices {
		fmt.Fprintf(&b, "- %s: %s\n", n.Level, escapeInline(n.Message, maxMessageRunes))
	}
	return b.String()
}

func renderBody(r *Report, summary bool) string {
	var b strings.Builder
	if len(r.Rows) > 0 {
		b.WriteString("\n")
		if r.Event.PR != nil {
			b.WriteString("| Field | Base branch | This branch | Live | |\n|---|---|---|---|---|\n")
			for _, row := range r.Rows {
				fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", row.Field, escapeInline(row.Base, maxCellRunes),
					escapeInline(row.Head, maxCellRunes), escapeInline(row.Live, maxCellRunes), row.Tag)
			}
		} else {
			b.WriteString("| Field | This commit | Live | |\n|---|---|---|---|\n")
			for _, row := range r.Rows {
				fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", row.Field,
					escapeInline(row.Head, maxCellRunes), escapeInline(row.Live, maxCellRunes), row.Tag)
			}
		}
	}
	b.WriteString(renderSetBy(r))
	if len(r.Diagnostics) > 0 {
		b.WriteString("\n")
		limit := len(r.Diagnostics)
		if !summary && limit > maxCommentDiagnostics {
			limit = maxCommentDiagnostics
		}
		for _, d := range r.Diagnostics[:limit] {
			fmt.Fprintf(&b, "- **%s** %s: %s \\[%s\\]\n", d.Severity, d.Location(escapeInline(r.Path, maxCellRunes)),
				escapeInline(d.Message, maxMessageRunes), escapeInline(d.Code, 60))
		}
		if rest := len(r.Diagnostics) - limit; rest > 0 {
			fmt.Fprintf(&b, "- … and %d more in the job summary of this run\n", rest)
		}
	}
	return b.String()
}

func renderFile(r *Report) string {
	if len(r.File) == 0 || r.FileHidden {
		return ""
	}
	return fmt.Sprintf("\n<details><summary>%s (%d bytes)</summary>\n\n<pre>%s</pre>\n\n</details>\n",
		escapeInline(r.Path, maxCellRunes), len(r.File), escapeBlock(string(r.File)))
}

// showReason reports whether the Reason adds to the description.
func (r *Report) showReason() bool {
	switch r.Verdict {
	case VerdictInSync, VerdictDrift:
		return false
	case VerdictInvalid:
		return !r.Diagnostics.HasErrors()
	case VerdictDisabled, VerdictSkipped:
		return false // the description already says it
	}
	return r.Reason != ""
}

// escapeInline makes a value safe inside a markdown paragraph or table cell: one line, no HTML,
// no table pipes, no backticks, no @mentions, no emphasis or link syntax, no control or bidi
// characters, at most n runes.
func escapeInline(s string, n int) string {
	s = gitops.Truncate(s, n)
	return escapeRunes(s, len(s)/4, inlineEntity, func(b *strings.Builder, r rune) bool {
		switch {
		case strings.ContainsRune(`\*_[]~$`, r):
			b.WriteByte('\\')
			b.WriteRune(r)
		case unicode.IsControl(r):
			b.WriteByte(' ')
		default:
			return false
		}
		return true
	})
}

// escapeBlock makes a multi-line text safe inside <pre>: no HTML, no @mentions, no control or
// bidi characters other than newlines and tabs.
func escapeBlock(s string) string {
	return escapeRunes(s, len(s)/8, htmlEntity, func(b *strings.Builder, r rune) bool {
		switch r {
		case '\n', '\t':
			b.WriteRune(r)
		case '\r':
		default:
			return false
		}
		return true
	})
}

// escapeRunes is the rune loop escapeInline and escapeBlock share, reserving grow bytes beyond
// len(s): an invalid byte becomes U+FFFD, a rune that entity names becomes that entity, own
// writes the runes it treats its own way (it reports whether it did), a hidden character (control,
// format such as bidi or zero-width, line or paragraph separator) becomes U+FFFD, and any other
// rune stays.
func escapeRunes(s string, grow int, entity func(rune) string, own func(*strings.Builder, rune) bool) string {
	var b strings.Builder
	b.Grow(len(s) + grow)
	for i, w := 0, 0; i < len(s); i += w {
		var r rune
		r, w = utf8.DecodeRuneInString(s[i:])
		switch e := entity(r); {
		case r == utf8.RuneError && w <= 1:
			b.WriteRune(utf8.RuneError)
		case e != "":
			b.WriteString(e)
		case own(&b, r): // own wrote it
		case gitops.IsHidden(r):
			b.WriteRune(utf8.RuneError)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// htmlEntity is how rendered markdown writes a character GitHub would read as HTML or a
// mention: an entity for &, < and >, and @ followed by a zero-width space; "" for any other.
func htmlEntity(r rune) string {
	switch r {
	case '&':
		return "&amp;"
	case '<':
		return "&lt;"
	case '>':
		return "&gt;"
	case '@':
		return "@\u200b" // a zero-width space after @ keeps it from mentioning anyone
	}
	return ""
}

// inlineEntity is htmlEntity plus the characters that end an attribute, a table cell or code
// inside one line: ", | and `.
func inlineEntity(r rune) string {
	switch r {
	case '"':
		return "&quot;"
	case '|':
		return "&#124;"
	case '`':
		return "&#96;"
	}
	return htmlEntity(r)
}

// escapeURL keeps a URL usable as a markdown link target: characters that would end the
// target or start markup are percent-encoded.
func escapeURL(u string) string {
	var b strings.Builder
	for i := 0; i < len(u); i++ {
		c := u[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("()<>\"'`|\\[]@", c) >= 0 {
			fmt.Fprintf(&b, "%%%02X", c)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}
