package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/tinyforge/tinyforge-check/gitops"
	"github.com/tinyforge/tinyforge-check/tinyforge"
)

// Redacted stands for a value the audit log does not keep: one under a key whose name says it
// is a secret (see secretKey).
const Redacted = "(redacted)"

// secretKey matches the source_config keys, at any depth, whose values the audit log redacts:
// names that say password, secret, token, credential, private key or API key.
var secretKey = regexp.MustCompile(`(?i)(passw|pwd|secret|token|credential|private|api_?key|auth)`)

// configChanges lists the source_config keys that differ between old and new (JSON objects;
// anything else counts as {}), sorted by key, as audit changes "source_config.KEY" from the old
// value to the new one. Values are compact JSON, gitops.Unset when absent; a value under a
// secret-looking key, at any depth, is Redacted. A key whose only change is a redacted value
// still shows, with the same text on both sides.
func configChanges(old, new []byte) []tinyforge.Change {
	a, b := configObject(old), configObject(new)
	keys := make([]string, 0, len(a)+len(b))
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var out []tinyforge.Change
	for _, k := range keys {
		va, inA := a[k]
		vb, inB := b[k]
		if inA && inB && sameJSON(va, vb) {
			continue
		}
		out = append(out, tinyforge.Change{Field: "source_config." + k, From: auditValue(k, va, inA), To: auditValue(k, vb, inB)})
	}
	return out
}

// configObject decodes a source_config's top-level keys; a value that is not an object is {}.
func configObject(raw []byte) map[string]json.RawMessage {
	m := map[string]json.RawMessage{}
	if json.Unmarshal(raw, &m) != nil || m == nil {
		return map[string]json.RawMessage{}
	}
	return m
}

// auditValue renders the value of key for the audit log: gitops.Unset when absent, Redacted
// under a secret-looking key, else compact JSON with nested secrets redacted.
func auditValue(key string, v json.RawMessage, present bool) string {
	switch {
	case !present:
		return gitops.Unset
	case secretKey.MatchString(key):
		return Redacted
	}
	var x any
	dec := json.NewDecoder(bytes.NewReader(v))
	dec.UseNumber()
	if dec.Decode(&x) != nil {
		return Redacted // never reached for a stored config: it was checked to be JSON
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if enc.Encode(redactNested(x)) != nil {
		return Redacted
	}
	return string(bytes.TrimRight(buf.Bytes(), "\n"))
}

// redactNested replaces, in a decoded JSON value, every value under a secret-looking key.
func redactNested(x any) any {
	switch v := x.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			if secretKey.MatchString(k) {
				out[k] = Redacted
				continue
			}
			out[k] = redactNested(e)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = redactNested(e)
		}
		return out
	}
	return x
}

// setByField is the file field whose live value an audit change set, "" for none: a Sync's
// "deploy.port", or an edit's or a creation's "source_config.port".
func setByField(ch tinyforge.Change) string {
	key, edit := strings.CutPrefix(ch.Field, "source_config.")
	if !edit {
		key, _ = strings.CutPrefix(ch.Field, "deploy.")
	}
	switch key {
	case gitops.KeyPort:
		return gitops.FieldPort
	case gitops.KeyHealthcheck:
		return gitops.FieldHealthcheck
	case gitops.KeyDeployStrategy:
		return gitops.FieldDeployStrategy
	}
	return ""
}

// LastSets returns drift attribution for workload id: for each file field, the newest applied
// audit row (a creation, an edit or a Sync) that changed its live value. Fields no such row
// changed are absent.
func (s *Store) LastSets(ctx context.Context, id int64) (map[string]gitops.SetBy, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, at, actor, action, commit_sha, changes, role, via FROM event_log
		WHERE workload_id = ? AND outcome = ? AND action IN (?, ?, ?) ORDER BY id DESC LIMIT 1000`,
		id, OutcomeApplied, ActionCreate, ActionSourceConfig, ActionSync)
	if err != nil {
		return nil, fmt.Errorf("read drift attribution: %w", err)
	}
	defer rows.Close()
	out := map[string]gitops.SetBy{}
	for rows.Next() {
		var sb gitops.SetBy
		var cj string
		if err := rows.Scan(&sb.EventID, &sb.At, &sb.Actor, &sb.Action, &sb.CommitSHA, &cj, &sb.Role, &sb.Via); err != nil {
			return nil, fmt.Errorf("read drift attribution: %w", err)
		}
		var changes []tinyforge.Change
		if json.Unmarshal([]byte(cj), &changes) != nil {
			continue
		}
		for _, ch := range changes {
			if f := setByField(ch); f != "" {
				if _, seen := out[f]; !seen {
					out[f] = sb
				}
			}
		}
	}
	return out, rows.Err()
}

// setBy is Store.LastSets for a read that does not fail for it: attribution is optional, so an
// error is logged and gives none.
func (s *Server) setBy(ctx context.Context, id int64) map[string]gitops.SetBy {
	m, err := s.store.LastSets(ctx, id)
	if err != nil {
		s.log.Warn("drift attribution left out", "workload", id, "err", err)
		return nil
	}
	return m
}

// attribute names, in each drift entry of v, the last audited change that set its live value.
func attribute(v *tinyforge.GitOpsView, m map[string]gitops.SetBy) {
	for i := range v.Drift {
		if sb, ok := m[v.Drift[i].Field]; ok {
			v.Drift[i].SetBy = &sb
		}
	}
}
