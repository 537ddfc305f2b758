package server

import (
	"bytes"
	"encoding/json"
	"regexp"
	"sort"

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
