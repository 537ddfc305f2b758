package schema_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"

	"github.com/tinyforge/tinyforge-check/gitops"
	"github.com/tinyforge/tinyforge-check/schema"
)

// knownDisagreements lists, by path under testdata/, every file on which the JSON Schema and
// gitops.Lint disagree, with the reason: a rule the schema cannot express, because it is about
// the YAML text rather than the decoded value, or depends on the workload's source type. The
// test fails when a listed file actually agrees (so the list stays honest) and when an
// unlisted file disagrees.
var knownDisagreements = map[string]string{
	"invalid/explicit-tags.yml":        "explicit tags (!!int, !!str, !custom) vanish once decoded; the values under them are valid",
	"invalid/merge-key.yml":            "a merge key (<<) is resolved by the YAML decoder into deploy.port: 8080, which is valid",
	"invalid/port-float.yml":           "8080.0 decodes to the number 8080, and JSON Schema's integer accepts any number with a zero fraction",
	"invalid/port-leading-zero.yml":    "010 decodes to an integer (8 or 10 depending on the YAML version); leading zeros are a rule about the text",
	"invalid/version-leading-zero.yml": "01 decodes to the integer 1; leading zeros are a rule about the text",
	"invalid/port-hex.yml":             "0x1F90 decodes to the integer 8080; the plain-decimal rule is about the text",
	"invalid/port-octal.yml":           "0o17620 decodes to the integer 8080; the plain-decimal rule is about the text",
	"invalid/port-underscore.yml":      "yaml.v3 reads 8_080 as the integer 8080 (YAML 1.1 style); the plain-decimal rule is about the text",
	"invalid/static-port.yml":          "source-aware: port and healthcheck are errors only for a static workload, which the file does not say",
	"invalid/too-large.yml":            "the 64 KiB size limit is about the file's bytes; its only key, version: 1, is valid",
	"invalid/two-documents.yml":        "a decoder reads one document at a time, and each of the two documents is valid on its own",
	"invalid/version-float.yml":        "1.0 decodes to the number 1, which equals the const 1 in JSON Schema",
}

// testdataFiles returns every .tinyforge.yml case under testdata: valid/*.yml, invalid/*.yml
// and each drift case's tinyforge.yml, as paths relative to testdata/.
func testdataFiles(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, pattern := range []string{"valid/*.yml", "invalid/*.yml", "drift/*/tinyforge.yml"} {
		matches, err := filepath.Glob(filepath.Join("..", "testdata", pattern))
		if err != nil {
			t.Fatal(err)
		}
		if len(matches) == 0 {
			t.Fatalf("no testdata files match %s", pattern)
		}
		for _, m := range matches {
			rel, err := filepath.Rel(filepath.Join("..", "testdata"), m)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, filepath.ToSlash(rel))
		}
	}
	return out
}

// sourceTypeOf reads the "# source-type: T" first line a testdata file may carry; "" when it
// has none.
func sourceTypeOf(data []byte) string {
	line, _, _ := bytes.Cut(data, []byte("\n"))
	if t, ok := bytes.CutPrefix(line, []byte("# source-type: ")); ok {
		return string(bytes.TrimSpace(t))
	}
	return ""
}

// compile returns the embedded schema, compiled from its $id the way a tool would use it.
func compile(t testing.TB) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schema.JSON()))
	if err != nil {
		t.Fatalf("schema is not JSON: %v", err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(schema.ID, doc); err != nil {
		t.Fatalf("add schema: %v", err)
	}
	sch, err := c.Compile(schema.ID)
	if err != nil {
		t.Fatalf("schema does not compile against the draft 2020-12 metaschema: %v", err)
	}
	return sch
}

// decodeYAML decodes the file the way an editor sees it: the first YAML document, into plain
// values. It fails on what YAML itself cannot decode (syntax, tabs, duplicate keys, invalid
// UTF-8, excessive aliasing) and on values JSON has no form for.
func decodeYAML(data []byte) (any, error) {
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		return nil, err
	}
	return jsonValue(v, 0)
}

// jsonValue converts a value decoded by yaml.v3 into the values JSON Schema validates: maps
// with string keys, slices, strings, numbers, booleans and nil.
func jsonValue(v any, depth int) (any, error) {
	if depth > 10000 {
		return nil, fmt.Errorf("nesting deeper than 10000")
	}
	switch v := v.(type) {
	case nil, string, bool, int, int64, uint64, float64:
		return v, nil
	case time.Time:
		return v.Format(time.RFC3339Nano), nil
	case []byte:
		return string(v), nil
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			c, err := jsonValue(e, depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = c
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			c, err := jsonValue(e, depth+1)
			if err != nil {
				return nil, err
			}
			out[k] = c
		}
		return out, nil
	case map[any]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			c, err := jsonValue(e, depth+1)
			if err != nil {
				return nil, err
			}
			out[fmt.Sprint(k)] = c
		}
		return out, nil
	}
	return nil, fmt.Errorf("no JSON form for a %T", v)
}

// schemaVerdict returns nil when the schema accepts the file, else why not.
func schemaVerdict(sch *jsonschema.Schema, data []byte) error {
	v, err := decodeYAML(data)
	if err != nil {
		return fmt.Errorf("not decodable: %w", err)
	}
	return sch.Validate(v)
}

// goVerdict returns the error diagnostics gitops gives the file (warnings do not count).
func goVerdict(data []byte) gitops.Diagnostics {
	_, diags := gitops.Lint(data, sourceTypeOf(data))
	return diags.Errors()
}

func TestSchemaAgreesWithValidatorOnTestdata(t *testing.T) {
	sch := compile(t)
	files := testdataFiles(t)
	seen := map[string]bool{}
	var schemaRejects, goRejects int
	for _, rel := range files {
		seen[rel] = true
		t.Run(rel, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("..", "testdata", filepath.FromSlash(rel)))
			if err != nil {
				t.Fatal(err)
			}
			schemaErr := schemaVerdict(sch, data)
			goErrs := goVerdict(data)
			if schemaErr != nil {
				schemaRejects++
			}
			if len(goErrs) > 0 {
				goRejects++
			}
			agree := (schemaErr == nil) == (len(goErrs) == 0)
			reason, listed := knownDisagreements[rel]
			switch {
			case agree && listed:
				t.Errorf("listed as a known disagreement (%s), but schema and validator agree (schema valid: %v, validator valid: %v): remove it from knownDisagreements", reason, schemaErr == nil, len(goErrs) == 0)
			case !agree && !listed:
				t.Errorf("schema and validator disagree: schema error: %v; validator errors: %v\nfix the schema, or list the file in knownDisagreements with the rule the schema cannot express", schemaErr, goErrs)
			case !agree && len(goErrs) == 0:
				// Every rule the schema cannot express makes it more lenient, never stricter:
				// an editor must not flag a file the linter accepts.
				t.Errorf("the schema rejects a file the validator accepts (%v): the schema must never be stricter", schemaErr)
			}
		})
	}
	for rel := range knownDisagreements {
		if !seen[rel] {
			t.Errorf("knownDisagreements lists %s, which is not a testdata file: remove it", rel)
		}
	}
	// Guard against a vacuous pass: the corpus must exercise both verdicts on both sides.
	if schemaRejects == 0 || goRejects == 0 || schemaRejects == len(files) || goRejects == len(files) {
		t.Errorf("corpus does not exercise both verdicts: %d files, schema rejects %d, validator rejects %d", len(files), schemaRejects, goRejects)
	}
}

// TestSchemaAgreesOnInlineCases pins the rules whose schema form is subtle (the healthcheck
// pattern's whitespace and control characters, null handling, the strategy enum) against the
// validator, both ways.
func TestSchemaAgreesOnInlineCases(t *testing.T) {
	sch := compile(t)
	tests := []struct {
		name string
		yaml string
		want bool // valid for both
	}{
		{"minimal", "version: 1\n", true},
		{"deploy null", "version: 1\ndeploy:\n", true},
		{"deploy empty mapping", "version: 1\ndeploy: {}\n", true},
		{"deploy list", "version: 1\ndeploy: []\n", false},
		{"top-level null", "~\n", false},
		{"top-level string", "hello\n", false},
		{"version 2", "version: 2\n", false},
		{"version null", "version:\n", false},
		{"version string", "version: '1'\n", false},
		{"port min", "version: 1\ndeploy: {port: 1}\n", true},
		{"port max", "version: 1\ndeploy: {port: 65535}\n", true},
		{"port zero", "version: 1\ndeploy: {port: 0}\n", false},
		{"port too big", "version: 1\ndeploy: {port: 65536}\n", false},
		{"port bool", "version: 1\ndeploy: {port: true}\n", false},
		{"port mapping", "version: 1\ndeploy: {port: {a: 1}}\n", false},
		{"healthcheck empty", "version: 1\ndeploy: {healthcheck: ''}\n", true},
		{"healthcheck root", "version: 1\ndeploy: {healthcheck: /}\n", true},
		{"healthcheck query", "version: 1\ndeploy: {healthcheck: '/ready?full=1&x=%20'}\n", true},
		{"healthcheck unicode", "version: 1\ndeploy: {healthcheck: \"/sant\\u00e9/\\u4e2d\"}\n", true},
		{"healthcheck 512 bytes", "version: 1\ndeploy: {healthcheck: /" + strings.Repeat("a", 511) + "}\n", true},
		{"healthcheck 513 bytes", "version: 1\ndeploy: {healthcheck: /" + strings.Repeat("a", 512) + "}\n", false},
		{"healthcheck relative", "version: 1\ndeploy: {healthcheck: healthz}\n", false},
		{"healthcheck space", "version: 1\ndeploy: {healthcheck: '/a b'}\n", false},
		{"healthcheck trailing newline", "version: 1\ndeploy: {healthcheck: \"/a\\n\"}\n", false},
		{"healthcheck NUL", "version: 1\ndeploy: {healthcheck: \"/a\\0\"}\n", false},
		{"healthcheck DEL", "version: 1\ndeploy: {healthcheck: \"/a\\x7f\"}\n", false},
		{"healthcheck C1 control", "version: 1\ndeploy: {healthcheck: \"/a\\x9b\"}\n", false},
		{"healthcheck NEL", "version: 1\ndeploy: {healthcheck: \"/a\\N\"}\n", false},
		{"healthcheck no-break space", "version: 1\ndeploy: {healthcheck: \"/a\\_\"}\n", false},
		{"healthcheck ogham space", "version: 1\ndeploy: {healthcheck: \"/a\\u1680\"}\n", false},
		{"healthcheck em space", "version: 1\ndeploy: {healthcheck: \"/a\\u2003\"}\n", false},
		{"healthcheck line separator", "version: 1\ndeploy: {healthcheck: \"/a\\L\"}\n", false},
		{"healthcheck ideographic space", "version: 1\ndeploy: {healthcheck: \"/a\\u3000\"}\n", false},
		{"healthcheck replacement char", "version: 1\ndeploy: {healthcheck: \"/a\\ufffd\"}\n", false},
		{"healthcheck zero-width space is invisible", "version: 1\ndeploy: {healthcheck: \"/a\\u200b\"}\n", false},
		{"healthcheck bidi override", "version: 1\ndeploy: {healthcheck: \"/a\\u202e\"}\n", false},
		{"healthcheck astral format char", "version: 1\ndeploy: {healthcheck: \"/a\\U000E0041\"}\n", false},
		{"healthcheck bool", "version: 1\ndeploy: {healthcheck: true}\n", false},
		{"healthcheck null", "version: 1\ndeploy: {healthcheck: null}\n", false},
		{"strategy recreate", "version: 1\ndeploy: {deploy_strategy: recreate}\n", true},
		{"strategy upper case", "version: 1\ndeploy: {deploy_strategy: RECREATE}\n", false},
		{"strategy padded", "version: 1\ndeploy: {deploy_strategy: ' rolling'}\n", false},
		{"strategy null", "version: 1\ndeploy: {deploy_strategy: ~}\n", false},
		{"unknown deploy key", "version: 1\ndeploy: {replicas: 2}\n", false},
		{"unknown top key", "version: 1\nname: web\n", false},
		{"non-string key", "version: 1\n1: x\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := []byte(tt.yaml)
			schemaErr := schemaVerdict(sch, data)
			goErrs := goVerdict(data)
			got := map[string]bool{"schema": schemaErr == nil, "gitops": len(goErrs) == 0}
			want := map[string]bool{"schema": tt.want, "gitops": tt.want}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("validity (-want +got):\n%s\nschema: %v\ngitops: %v", diff, schemaErr, goErrs)
			}
		})
	}
}

// TestSchemaDocumentsEveryField checks what editors show: the schema's identity, and a title
// and description for the file and each field, plus the enums and const of docs/file-format.md.
func TestSchemaDocumentsEveryField(t *testing.T) {
	var doc map[string]any
	if err := json.Unmarshal(schema.JSON(), &doc); err != nil {
		t.Fatal(err)
	}
	props := func(m map[string]any) map[string]any {
		p, _ := m["properties"].(map[string]any)
		return p
	}
	deploy, _ := props(doc)["deploy"].(map[string]any)
	nodes := map[string]map[string]any{"": doc}
	for _, name := range []string{"version", "deploy"} {
		nodes[name], _ = props(doc)[name].(map[string]any)
	}
	for _, name := range []string{"port", "healthcheck", "deploy_strategy"} {
		nodes["deploy."+name], _ = props(deploy)[name].(map[string]any)
	}
	var undocumented []string
	for path, n := range nodes {
		for _, kw := range []string{"title", "description", "markdownDescription"} {
			if s, _ := n[kw].(string); s == "" {
				undocumented = append(undocumented, path+" "+kw)
			}
		}
	}
	sort.Strings(undocumented)
	if diff := cmp.Diff([]string(nil), undocumented); diff != "" {
		t.Errorf("fields without documentation (-want +got):\n%s", diff)
	}

	got := map[string]any{
		"$schema":                      doc["$schema"],
		"$id":                          doc["$id"],
		"additionalProperties":         doc["additionalProperties"],
		"required":                     doc["required"],
		"version.const":                nodes["version"]["const"],
		"deploy.type":                  nodes["deploy"]["type"],
		"deploy.additionalProperties":  nodes["deploy"]["additionalProperties"],
		"deploy.deploy_strategy.enum":  nodes["deploy.deploy_strategy"]["enum"],
		"deploy.port.minimum":          nodes["deploy.port"]["minimum"],
		"deploy.port.maximum":          nodes["deploy.port"]["maximum"],
		"deploy.healthcheck.maxLength": nodes["deploy.healthcheck"]["maxLength"],
	}
	want := map[string]any{
		"$schema":                      "https://json-schema.org/draft/2020-12/schema",
		"$id":                          schema.ID,
		"additionalProperties":         false,
		"required":                     []any{"version"},
		"version.const":                1.0,
		"deploy.type":                  []any{"object", "null"},
		"deploy.additionalProperties":  false,
		"deploy.deploy_strategy.enum":  []any{"recreate", "rolling"},
		"deploy.port.minimum":          1.0,
		"deploy.port.maximum":          65535.0,
		"deploy.healthcheck.maxLength": 512.0,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("schema keywords (-want +got):\n%s", diff)
	}
	// Editors must say that a static workload may declare only deploy_strategy.
	for _, f := range []string{"deploy", "deploy.port", "deploy.healthcheck"} {
		if d, _ := nodes[f]["description"].(string); !strings.Contains(d, "static workload") || !strings.Contains(d, "only deploy_strategy") {
			t.Errorf("%s description does not say static workloads may declare only deploy_strategy: %q", f, d)
		}
	}
}

// TestSchemaExamplesLintClean checks that every example the schema offers an editor is valid
// for both the schema and the linter, so completion never suggests a broken file.
func TestSchemaExamplesLintClean(t *testing.T) {
	sch := compile(t)
	var doc struct {
		Examples []map[string]any `json:"examples"`
	}
	if err := json.Unmarshal(schema.JSON(), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Examples) == 0 {
		t.Fatal("the schema has no top-level examples")
	}
	for i, ex := range doc.Examples {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			data, err := yaml.Marshal(ex)
			if err != nil {
				t.Fatal(err)
			}
			if err := schemaVerdict(sch, data); err != nil {
				t.Errorf("schema rejects its own example:\n%s%v", data, err)
			}
			if _, diags := gitops.Lint(data, ""); len(diags) != 0 {
				t.Errorf("example does not lint clean:\n%s%v", data, diags)
			}
		})
	}
}

// yamlDoubleQuoted renders s as a YAML double-quoted scalar that escapes every rune outside
// printable ASCII, so no YAML line-break folding can change it.
func yamlDoubleQuoted(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r >= 0x20 && r < 0x7f:
			b.WriteRune(r)
		case r <= 0xffff:
			fmt.Fprintf(&b, "\\u%04x", r)
		default:
			fmt.Fprintf(&b, "\\U%08x", r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// FuzzHealthcheckAgreement checks that the schema's healthcheck pattern accepts exactly the
// values gitops accepts, for any UTF-8 string within the length both count the same way.
func FuzzHealthcheckAgreement(f *testing.F) {
	for _, s := range []string{"", "/", "/healthz", "healthz", "/a b", "/a\tb", "/\u0085", "/\u00a0", "/\u2028", "/\u3000", "/\ufffd", "/\u200b", "/é", "//x?y=1#z", "/\x7f", "/\x00"} {
		f.Add(s)
	}
	sch := compile(f)
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) {
			return // YAML files are UTF-8; the invalid-utf8 rule is tested on files
		}
		if len(s) > 512 && utf8.RuneCountInString(s) <= 512 {
			return // maxLength counts characters, the validator bytes: a known difference
		}
		data := []byte("version: 1\ndeploy:\n  healthcheck: " + yamlDoubleQuoted(s) + "\n")
		v, err := decodeYAML(data)
		if err != nil {
			t.Fatalf("cannot decode %q: %v", data, err)
		}
		if got := v.(map[string]any)["deploy"].(map[string]any)["healthcheck"]; got != s {
			t.Fatalf("the YAML does not round-trip: wrote %q, read %q", s, got)
		}
		schemaErr := sch.Validate(v)
		goErrs := goVerdict(data)
		if (schemaErr == nil) != (len(goErrs) == 0) {
			t.Errorf("healthcheck %q: schema valid %v (%v), gitops valid %v (%v)", s, schemaErr == nil, schemaErr, len(goErrs) == 0, goErrs)
		}
	})
}
