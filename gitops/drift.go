package gitops

import (
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
)

// Rendered placeholders for values that have no text of their own.
const (
	// Unset is how a missing live value renders.
	Unset = "(unset)"
	// EmptyString is how "" renders.
	EmptyString = `""`
)

// DriftEntry is one declared field whose repo value differs from live after normalization. The
// same shape is used by the CLI's JSON, the API and Go code.
type DriftEntry struct {
	Field     string `json:"field"`
	RepoValue string `json:"repo_value"`
	LiveValue string `json:"live_value"`
	// LiveMissing reports that live has no value (absent or null; LiveValue is then Unset), as
	// opposed to the string "(unset)". It is not in the JSON, which has Unset for both, so a
	// decoded entry has it false.
	LiveMissing bool `json:"-"`
	// SetBy is the last audited change in Tinyforge that set the live value (drift
	// attribution); nil when Tinyforge did not say (an older server, or no audited change).
	SetBy *SetBy `json:"set_by,omitempty"`
}

// SetBy is one audited change of a workload's live config in Tinyforge, as drift attribution:
// what set a field's live value, when and the way in. Every field is what the server said.
type SetBy struct {
	// EventID is the audit row's id (GET /api/workloads/{id}/events).
	EventID int64 `json:"event_id"`
	// At is the change's RFC 3339 UTC time.
	At string `json:"at"`
	// Action is the audit action: "create", "source_config" (an edit) or "sync".
	Action string `json:"action"`
	// Via is the way in: "api" or "panel"; "" when unknown.
	Via string `json:"via,omitempty"`
	// CommitSHA is the commit a Sync applied; "" for other actions.
	CommitSHA string `json:"commit_sha,omitempty"`
	// Actor names the token that made the change ("token:NAME#ID"), never its secret. A PR
	// comment, which may be public, never shows it.
	Actor string `json:"actor,omitempty"`
	// Role is the token's role; "" when unknown.
	Role string `json:"role,omitempty"`
}

// Change is one field a Sync applied: its live value before and the value written.
type Change struct {
	Field string `json:"field"`
	From  string `json:"from"`
	To    string `json:"to"`
}

// Comparison is the comparison of one declared field with live, for views that show equal
// fields too.
type Comparison struct {
	// Field is the dotted path, e.g. "deploy.port".
	Field string `json:"field"`
	// RepoValue and LiveValue are rendered as docs/file-format.md (How the file is compared with live) says (Unset for a missing live value).
	RepoValue string `json:"repo_value"`
	LiveValue string `json:"live_value"`
	// Equal reports whether the two values are the same after normalization.
	Equal bool `json:"equal"`
	// Normalization names the rule that made different raw values equal, or "".
	Normalization string `json:"normalization,omitempty"`
	// LiveMissing reports that live has no value (absent or null): LiveValue is then Unset.
	LiveMissing bool `json:"-"`
}

// Compare compares every field the Spec declares with the live source_config, in schema order,
// applying the normalization rules of docs/file-format.md (How the file is compared with live). sourceType must be "" (unknown), dockerfile or
// static; live must be a JSON object (empty or null counts as {}).
func Compare(s *Spec, sourceType string, live json.RawMessage) ([]Comparison, error) {
	if sourceType != "" && !SupportsGitOps(sourceType) {
		return nil, fmt.Errorf("source type %q cannot use GitOps; only dockerfile and static workloads can", Truncate(sourceType, 40))
	}
	cfg, err := decodeObject(live)
	if err != nil {
		return nil, err
	}
	out := []Comparison{}
	if s == nil {
		return out, nil
	}
	if s.Deploy.Port != nil {
		out = append(out, comparePort(*s.Deploy.Port, cfg))
	}
	if s.Deploy.Healthcheck != nil {
		out = append(out, compareHealthcheck(*s.Deploy.Healthcheck, cfg))
	}
	if s.Deploy.DeployStrategy != nil {
		out = append(out, compareStrategy(*s.Deploy.DeployStrategy, cfg))
	}
	return out, nil
}

// Drift returns the declared fields whose values differ from live after normalization, in schema
// order; an empty, non-nil slice when the file and live agree. Fields the file does not declare
// are never compared.
func Drift(s *Spec, sourceType string, live json.RawMessage) ([]DriftEntry, error) {
	cmp, err := Compare(s, sourceType, live)
	if err != nil {
		return nil, err
	}
	if d := Unequal(cmp); d != nil {
		return d, nil
	}
	return []DriftEntry{}, nil
}

// Unequal is the drift among comparisons already made (Compare): the ones that are not equal,
// in order; nil when all are.
func Unequal(cmp []Comparison) []DriftEntry {
	var out []DriftEntry
	for _, c := range cmp {
		if !c.Equal {
			out = append(out, DriftEntry{Field: c.Field, RepoValue: c.RepoValue, LiveValue: c.LiveValue, LiveMissing: c.LiveMissing})
		}
	}
	return out
}

// Changes turns drift into the changes a Sync applies: from the live value to the repo value.
func Changes(drift []DriftEntry) []Change {
	out := make([]Change, 0, len(drift))
	for _, d := range drift {
		out = append(out, Change{Field: d.Field, From: d.LiveValue, To: d.RepoValue})
	}
	return out
}

func comparePort(repo int, cfg map[string]any) Comparison {
	c := Comparison{Field: FieldPort, RepoValue: strconv.Itoa(repo)}
	v, ok := cfg[KeyPort]
	if !ok || v == nil {
		c.LiveValue, c.LiveMissing = Unset, true
		return c
	}
	c.LiveValue = renderLive(v)
	n, isPort := portValue(v)
	c.Equal = isPort && n == repo
	if c.Equal {
		if _, isString := v.(string); isString {
			c.Normalization = "port compared by integer value: the string " + strconv.Quote(c.LiveValue) + " equals " + c.RepoValue
		} else if c.LiveValue != c.RepoValue {
			c.Normalization = "port compared by integer value: " + c.LiveValue + " equals " + c.RepoValue
		}
	}
	return c
}

func compareHealthcheck(repo string, cfg map[string]any) Comparison {
	c := Comparison{Field: FieldHealthcheck, RepoValue: renderString(repo)}
	v, ok := cfg[KeyHealthcheck]
	if !ok || v == nil {
		c.LiveValue, c.LiveMissing = Unset, true
		c.Equal = repo == ""
		if c.Equal {
			c.Normalization = `a missing healthcheck equals ""`
		}
		return c
	}
	c.LiveValue = renderLive(v)
	s, isStr := v.(string)
	c.Equal = isStr && s == repo
	return c
}

func compareStrategy(repo string, cfg map[string]any) Comparison {
	c := Comparison{Field: FieldDeployStrategy, RepoValue: renderString(repo)}
	v, ok := cfg[KeyDeployStrategy]
	live, isStr := v.(string)
	switch {
	case !ok || v == nil:
		c.LiveValue, c.LiveMissing = Unset, true
		live, isStr = "", true
	default:
		c.LiveValue = renderLive(v)
	}
	if !isStr {
		return c
	}
	effective := live
	if effective == "" {
		effective = "recreate"
	}
	c.Equal = effective == repo
	if c.Equal && live != repo {
		c.Normalization = `deploy_strategy "" or unset equals recreate`
	}
	return c
}

func renderString(s string) string {
	if s == "" {
		return EmptyString
	}
	return s
}

// renderLive renders a decoded live JSON value: strings as themselves, numbers as written, other
// values as compact JSON.
func renderLive(v any) string {
	switch x := v.(type) {
	case string:
		return renderString(x)
	case json.Number:
		return string(x)
	}
	b, err := marshal(v)
	if err != nil {
		return "(unprintable)"
	}
	return string(b)
}

// FileSHA returns the file's fingerprint: the git blob SHA-1 of its bytes,
// sha1("blob <len>\x00" + data), in lower-case hex. It equals `git hash-object` of the file.
func FileSHA(data []byte) string {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", len(data))
	h.Write(data)
	return hex.EncodeToString(h.Sum(nil))
}
