package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/tinyforge/tinyforge-check/checker"
	"github.com/tinyforge/tinyforge-check/gitops"
	"github.com/tinyforge/tinyforge-check/internal/secret"
)

const driftUsage = `Usage: tinyforge-check drift (--live FILE.json | --tinyforge-url URL --workload ID|NAME) [--source-type T]
                             [--format text|json|markdown] [--color WHEN] [PATH]

Compare the fields a .tinyforge.yml declares (default: ./.tinyforge.yml) with a workload's live
source_config, after normalization (deploy_strategy "" or unset equals recreate; port compares by
integer value; a missing healthcheck equals ""), and preview whether a Sync would be accepted.
Fields the file does not declare are never compared.

--live reads a bare source_config JSON object, e.g. {"port": 8080, "deploy_strategy": ""}; the
source type then comes from --source-type. --tinyforge-url and --workload read the workload's live
config and source type from Tinyforge instead, with the token in TINYFORGE_TOKEN.

Formats:
  text  a summary line, one line per differing field, and the Sync preview; a value missing
        from live reads (unset); on a terminal, the file's problems as lint shows them there
  json  {"path","valid","source_type","diagnostics":[...],"drift":[{"field","repo_value","live_value"}],
         "managed_fields":[...],"sync":{"valid","error"}}; a value missing from live is null
  markdown  the comment the action would post (without its marker line)

Exit codes: 0 in sync, 1 drift or an invalid file, 2 a usage or configuration mistake (a missing
TINYFORGE_TOKEN, a URL without a scheme, a --live file that is missing or no JSON object), 3 the
live config could not be read (Tinyforge unreachable, a token it refuses, a URL that does not
answer as its API).
`

// driftReport is the drift command's result, in the JSON shape of docs/design.md (The check).
type driftReport struct {
	Path string `json:"path"`
	// Verdict and Reason drive the text format; the JSON shape of docs/design.md (The check) leaves them out.
	Verdict       checker.Verdict    `json:"-"`
	Reason        string             `json:"-"`
	Valid         bool               `json:"valid"`
	SourceType    string             `json:"source_type"`
	Diagnostics   gitops.Diagnostics `json:"diagnostics"`
	Drift         []driftEntry       `json:"drift"`
	ManagedFields []string           `json:"managed_fields"`
	Sync          syncPreview        `json:"sync"`
	// SyncURL is the workload's panel page pinned to this file (with --tinyforge-url), for the
	// text format; "" when unknown.
	SyncURL string `json:"-"`
	// source is the file's content, for the text format's source snippets.
	source []byte
}

// driftEntry is one differing field in the drift command's output. It differs from
// gitops.DriftEntry, which the Tinyforge API shares, in one way: a value missing from live is
// null in JSON, where text and markdown show gitops.Unset.
type driftEntry struct {
	Field     string `json:"field"`
	RepoValue string `json:"repo_value"`
	// LiveValue is the rendered live value, nil when live has none (the key is absent or null).
	LiveValue *string `json:"live_value"`
}

// MarshalJSON writes the entry with an empty value as the empty string: text and markdown show
// it as gitops.EmptyString (`""`), which in JSON would read as a two-character string.
func (d driftEntry) MarshalJSON() ([]byte, error) {
	type plain driftEntry // no MarshalJSON: no recursion
	raw := func(v string) string {
		if v == gitops.EmptyString {
			return ""
		}
		return v
	}
	out := plain{Field: d.Field, RepoValue: raw(d.RepoValue)}
	if d.LiveValue != nil {
		v := raw(*d.LiveValue)
		out.LiveValue = &v
	}
	return json.Marshal(out)
}

// liveText is how the text format shows the live value.
func (d driftEntry) liveText() string {
	if d.LiveValue == nil {
		return gitops.Unset
	}
	return *d.LiveValue
}

// syncPreview says whether Tinyforge would accept a Sync of the file over the live config.
type syncPreview struct {
	Valid bool   `json:"valid"`
	Error string `json:"error"`
}

func (c *Command) runDrift(args []string) int {
	fs := c.newFlagSet("drift", driftUsage)
	live := fs.String("live", "", "path of a JSON file holding the live source_config object")
	report := addReportFlags(fs, "the workload's source type, dockerfile or static",
		"output format: text, json or markdown (the comment the action would post)", "text", "json", "markdown")
	tinyforgeURL := fs.String("tinyforge-url", "", "read the live config from this Tinyforge server (token from TINYFORGE_TOKEN)")
	workload := fs.String("workload", "", "with --tinyforge-url: the workload's id or name")
	operands, code, ok := c.parseFlags(fs, args)
	if !ok {
		return code
	}
	if err := report.check(); err != nil {
		return c.usageError("drift", "%v", err)
	}
	if err := checkLiveSource(*live, *tinyforgeURL, *workload); err != nil {
		return c.usageError("drift", "%v", err)
	}
	if len(operands) > 1 {
		return c.usageError("drift", "drift takes one file, got %d", len(operands))
	}
	path := ""
	if len(operands) == 1 {
		path = operands[0]
	}
	r, secrets, code := c.driftCheck(path, *live, *tinyforgeURL, *workload, *report.sourceType)
	if r == nil {
		return code
	}
	if r.Verdict == checker.VerdictError {
		fmt.Fprintln(c.Stderr, checker.Neutralize("tinyforge-check drift: "+secret.Redact(r.Reason, secrets...)))
	}
	var err error
	switch {
	case *report.format == "markdown":
		_, err = fmt.Fprint(c.Stdout, secret.Redact(checker.RenderComment(r), secrets...))
	case r.Verdict != checker.VerdictError:
		shown := path
		if shown == "" {
			shown = r.Path
		}
		err = writeDrift(c.Stdout, *report.format, c.textStyle(*report.color), driftReportOf(shown, r))
	}
	if err != nil {
		fmt.Fprintf(c.Stderr, "tinyforge-check drift: %v\n", err)
		return ExitError
	}
	return r.ExitCode()
}

// readLive reads and checks a live source_config file: one JSON object.
func (c *Command) readLive(path string) (json.RawMessage, error) {
	const limit = 1 << 20
	data, err := c.readSpecFile(path, limit)
	if errors.Is(err, errNotFound) {
		return nil, fmt.Errorf("live config %s: %w; pass a JSON file with the workload's source_config", path, errNotFound)
	}
	if err != nil {
		return nil, err
	}
	if len(data) > limit {
		return nil, fmt.Errorf("live config %s is larger than 1 MiB; pass the workload's source_config object only", path)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(data, &obj); err != nil || obj == nil {
		return nil, fmt.Errorf("live config %s must be a JSON object such as {\"port\": 8080}: %w", path, gitops.DescribeJSONError(err))
	}
	return data, nil
}

// driftReportOf shapes a check's report as the drift command's JSON (docs/design.md, The check), under the path
// the user gave.
func driftReportOf(path string, r *checker.Report) driftReport {
	out := driftReport{Path: path, Valid: r.Valid(), SourceType: r.SourceType, Diagnostics: r.Diagnostics,
		Drift: driftEntries(r), ManagedFields: r.ManagedFields, Verdict: r.Verdict, Reason: r.Reason, source: r.File, SyncURL: r.SyncURL}
	if out.Diagnostics == nil {
		out.Diagnostics = gitops.Diagnostics{}
	}
	if r.File == nil {
		out.Diagnostics = append(gitops.Diagnostics{{Severity: gitops.SeverityError, Code: "no-file",
			Message: "the file does not exist; create it, or pass the path of your .tinyforge.yml"}}, out.Diagnostics...)
	}
	if out.ManagedFields == nil {
		out.ManagedFields = []string{}
	}
	switch {
	case r.Sync != nil:
		out.Sync = syncPreview{Valid: r.Sync.Valid, Error: r.Sync.Error}
	case r.File == nil:
		out.Sync.Error = "there is no file to sync"
	case !out.Valid:
		out.Sync.Error = "the file is invalid; fix the problems above"
	default:
		out.Sync.Error = r.Reason
	}
	return out
}

// driftEntries converts the report's drift to the command's entries, in order; an empty list
// when nothing differs. A live value is missing (nil) when the checker rendered it as
// gitops.Unset and the live config indeed has no value for the field, so a live string that
// happens to read "(unset)" stays a string.
func driftEntries(r *checker.Report) []driftEntry {
	out := make([]driftEntry, 0, len(r.Drift))
	for _, d := range r.Drift {
		e := driftEntry{Field: d.Field, RepoValue: d.RepoValue}
		if !d.LiveMissing {
			e.LiveValue = &d.LiveValue
		}
		out = append(out, e)
	}
	return out
}

// writeDrift prints the drift command's report in a format; style applies to the text format
// only.
func writeDrift(w io.Writer, format string, style textStyle, r driftReport) error {
	if format == "json" {
		return writeJSON(w, r)
	}
	lines := snippetLines(style, r.source)
	for _, d := range r.Diagnostics {
		writeDiagnostic(w, style, r.Path, lines, d)
	}
	path := checker.Neutralize(r.Path)
	switch {
	case !r.Valid:
		fmt.Fprintf(w, "%s: invalid: %d %s; nothing compared\n", path, len(r.Diagnostics.Errors()), plural(len(r.Diagnostics.Errors()), "problem", "problems"))
		return nil
	case r.Verdict == checker.VerdictDisabled || r.Verdict == checker.VerdictInvalid:
		fmt.Fprintf(w, "%s: %s\n", path, checker.Neutralize(r.Reason))
		return nil
	case len(r.Drift) == 0:
		fmt.Fprintf(w, "%s: in sync with live (%d %s managed)\n", path, len(r.ManagedFields), plural(len(r.ManagedFields), "field", "fields"))
	default:
		fmt.Fprintf(w, "%s: %d %s from live: Sync required\n", path, len(r.Drift), plural(len(r.Drift), "field differs", "fields differ"))
		for _, d := range r.Drift {
			fmt.Fprintf(w, "  %s: repo %s, live %s\n", d.Field, checker.Neutralize(d.RepoValue), checker.Neutralize(d.liveText()))
		}
	}
	if r.Sync.Valid {
		fmt.Fprintln(w, "Sync preview: Tinyforge would accept a Sync of this file")
	} else {
		fmt.Fprintf(w, "Sync preview: Tinyforge would refuse a Sync of this file: %s\n", checker.Neutralize(r.Sync.Error))
	}
	if r.SyncURL != "" {
		fmt.Fprintf(w, "Review and Sync in Tinyforge: %s\n", checker.Neutralize(r.SyncURL))
	}
	return nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
