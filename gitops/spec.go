package gitops

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// Spec is a parsed .tinyforge.yml, schema version 1. A nil field pointer means the file does not
// declare that field; only declared fields are ever compared or applied.
type Spec struct {
	// Version is the schema version; always 1 in a valid file.
	Version int
	// Deploy holds the deploy fields the file declares.
	Deploy DeploySpec

	// pos maps a dotted field path to the position of its key, for source-aware diagnostics.
	pos map[string]position
}

// DeploySpec is the deploy mapping of the file. Each nil pointer is an undeclared field.
type DeploySpec struct {
	// Port is the container port, 1..65535 (dockerfile only).
	Port *int
	// Healthcheck is the HTTP path probed, "" to disable (dockerfile only).
	Healthcheck *string
	// DeployStrategy is "recreate" or "rolling".
	DeployStrategy *string
}

type position struct{ line, col int }

// The dotted field paths, in schema order.
const (
	FieldVersion        = "version"
	FieldDeploy         = "deploy"
	FieldPort           = "deploy.port"
	FieldHealthcheck    = "deploy.healthcheck"
	FieldDeployStrategy = "deploy.deploy_strategy"
)

// Limits of the healthcheck path, in bytes.
const maxHealthcheckLen = 512

// SupportedVersions lists the schema versions this build understands.
var supportedVersions = []int{1}

var (
	topKeys    = []string{"version", "deploy"}
	deployKeys = []string{"port", "healthcheck", "deploy_strategy"}
	strategies = []string{"recreate", "rolling"}
	decimalRE  = regexp.MustCompile(`^[0-9]+$`)
)

// ManagedFields returns the dotted paths of the fields the file declares, in schema order.
// A nil Spec declares nothing.
func (s *Spec) ManagedFields() []string {
	var out []string
	if s == nil {
		return out
	}
	if s.Deploy.Port != nil {
		out = append(out, FieldPort)
	}
	if s.Deploy.Healthcheck != nil {
		out = append(out, FieldHealthcheck)
	}
	if s.Deploy.DeployStrategy != nil {
		out = append(out, FieldDeployStrategy)
	}
	return out
}

// Position returns the 1-based line and column of a declared field's key, or 0, 0 when the
// field is not in the file or the Spec was not parsed from one.
func (s *Spec) Position(field string) (line, col int) {
	if s == nil {
		return 0, 0
	}
	p := s.pos[field]
	return p.line, p.col
}

// ParseSpec parses and validates a .tinyforge.yml against every rule of docs/file-format.md that does not
// depend on the workload's source type, and returns every problem at once. The Spec is nil
// when the diagnostics contain an error; warnings alone leave it set.
func ParseSpec(data []byte) (*Spec, Diagnostics) {
	s, diags := parse(data)
	if diags.HasErrors() {
		return nil, diags
	}
	return s, diags
}

// codeTooMany is the code of the entry that counts the problems past MaxDiagnostics.
const codeTooMany = "too-many-problems"

// Lint is ParseSpec plus the source-aware rules: a static workload may declare only
// deploy_strategy. sourceType "" means unknown and applies no such rule; a type that cannot use
// GitOps at all is the caller's error to report (see SupportsGitOps), not a file diagnostic.
func Lint(data []byte, sourceType string) (*Spec, Diagnostics) {
	s, diags := parse(data)
	if s != nil {
		diags = append(diags, CheckSource(s, sourceType)...)
		diags.Sort()
	}
	if diags.HasErrors() {
		return nil, diags
	}
	return s, diags
}

// CheckSource returns the source-aware diagnostics of a parsed Spec: on a static workload,
// port and healthcheck are errors at their keys. Other source types yield none.
func CheckSource(s *Spec, sourceType string) Diagnostics {
	var out Diagnostics
	if s == nil || sourceType != SourceStatic {
		return out
	}
	for _, f := range []struct {
		field    string
		declared bool
	}{{FieldPort, s.Deploy.Port != nil}, {FieldHealthcheck, s.Deploy.Healthcheck != nil}} {
		if !f.declared {
			continue
		}
		p := s.pos[f.field]
		out = append(out, Diagnostic{
			Severity: SeverityError, Line: p.line, Column: p.col, Field: f.field, Code: "source-type",
			Message: fmt.Sprintf("%s cannot be set for a static workload: static workloads may declare only deploy.deploy_strategy; remove the key", f.field),
		})
	}
	return out
}

// parser collects diagnostics while walking one document.
type parser struct {
	diags Diagnostics
	spec  *Spec
}

func (p *parser) errAt(line, col int, field, code, format string, args ...any) {
	p.diags = append(p.diags, Diagnostic{Severity: SeverityError, Line: line, Column: col, Field: field, Code: code, Message: fmt.Sprintf(format, args...)})
}

func (p *parser) errNode(n *yaml.Node, field, code, format string, args ...any) {
	p.errAt(n.Line, n.Column, field, code, format, args...)
}

// parse returns the Spec built from whatever could be read (nil when the document could not be
// read at all) and every diagnostic, sorted.
func parse(data []byte) (*Spec, Diagnostics) {
	p := &parser{}
	s := p.parseDocument(data)
	p.diags.Sort()
	if len(p.diags) > MaxDiagnostics {
		rest := len(p.diags) - MaxDiagnostics
		more := fmt.Sprintf("%d more problems are", rest)
		if rest == 1 {
			more = "1 more problem is"
		}
		p.diags = append(p.diags[:MaxDiagnostics:MaxDiagnostics], Diagnostic{Severity: SeverityError, Code: codeTooMany,
			Message: more + " not shown; fix the ones above and lint again"})
	}
	return s, p.diags
}

// MaxDiagnostics bounds the diagnostics reported for one file, so a hostile file cannot produce
// unbounded output; one more entry says how many were left out.
const MaxDiagnostics = 100

func (p *parser) parseDocument(data []byte) *Spec {
	if len(data) > MaxFileSize {
		p.errAt(0, 0, "", "file-too-large", "the file is larger than the limit of %d bytes (64 KiB); keep it small, it declares only a few fields", MaxFileSize)
		return nil
	}
	if !utf8.Valid(data) {
		line, col := invalidUTF8Position(data)
		p.errAt(line, col, "", "invalid-utf8", "the file is not valid UTF-8; save it as UTF-8")
		return nil
	}
	if hasBOM(data) {
		data = data[3:]
	}
	tabs := p.checkTabs(data)
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			p.errAt(0, 0, "", "empty-file", "the file is empty or holds only comments; it must declare at least \"version: 1\"")
			return nil
		}
		if !tabs {
			line, col := yamlErrorLine(err), 0
			switch {
			case strings.Contains(err.Error(), "control characters are not allowed"):
				// The YAML library gives no position: point at the character itself.
				line, col = nonPrintablePosition(data)
			case strings.Contains(err.Error(), "unknown escape character"):
				// The library names the line; point at the backslash, not the line's key.
				col = badEscapeColumn(data, line)
			case line == 0:
				line = directiveLine(data)
			}
			if col == 0 {
				col = firstColumn(data, line)
			}
			p.errAt(line, col, "", "syntax", "the file is not valid YAML: %s", yamlErrorText(err))
		}
		return nil
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		line := extra.Line
		if err != nil {
			line = yamlErrorLine(err)
		}
		p.errAt(line, firstColumn(data, line), "", "multiple-documents", "the file holds more than one YAML document; keep exactly one (remove the \"---\" separator and what follows)")
		// keep going: the first document's problems are worth reporting too
	}
	if tabs {
		return nil
	}
	p.checkForbiddenNodes(&doc)
	root := &doc
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			p.errAt(0, 0, "", "empty-file", "the file is empty or holds only comments; it must declare at least \"version: 1\"")
			return nil
		}
		root = root.Content[0]
	}
	if root.Kind != yaml.MappingNode {
		if root.Kind == yaml.ScalarNode && root.Tag == "!!null" && root.Value == "" {
			// Only document markers (and comments): an empty file, reported like one.
			p.errAt(0, 0, "", "empty-file", "the file is empty or holds only comments; it must declare at least \"version: 1\"")
			return nil
		}
		if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
			p.errNode(root, "", "empty-file", "the file declares nothing; it must be a mapping with at least \"version: 1\"")
			return nil
		}
		p.errNode(root, "", "not-mapping", "the top level must be a mapping of keys (version, deploy), not %s", kindName(root))
		return nil
	}
	p.spec = &Spec{pos: map[string]position{}}
	p.parseTop(root)
	return p.spec
}

// parseTop reads the top-level mapping.
func (p *parser) parseTop(m *yaml.Node) {
	var sawVersion bool
	p.eachKey(m, "", topKeys, func(key string, k, v *yaml.Node) {
		switch key {
		case "version":
			sawVersion = true
			p.parseVersion(k, v)
		case "deploy":
			p.spec.pos[FieldDeploy] = position{k.Line, k.Column}
			p.parseDeploy(v)
		}
	})
	if !sawVersion {
		p.errAt(m.Line, m.Column, FieldVersion, "missing-version", "the key \"version\" is required; add \"version: 1\" (supported versions: %s)", versionList())
		return
	}
	if len(p.spec.ManagedFields()) == 0 && !p.diags.HasErrors() {
		line, col := m.Line, m.Column
		if d, ok := p.spec.pos[FieldDeploy]; ok {
			line, col = d.line, d.col
		}
		p.diags = append(p.diags, Diagnostic{Severity: SeverityWarning, Line: line, Column: col, Field: FieldDeploy, Code: "no-fields",
			Message: "the file declares no deploy field: Sync would change nothing; declare port, healthcheck or deploy_strategy under deploy"})
	}
}

// eachKey walks a mapping, reporting merge keys, non-scalar, duplicate and unknown keys, and calls
// fn for each first occurrence of a known key.
func (p *parser) eachKey(m *yaml.Node, prefix string, known []string, fn func(key string, k, v *yaml.Node)) {
	seen := map[string]position{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			p.errNode(k, prefix, "invalid-key", "keys must be plain names, not %s", kindName(k))
			continue
		}
		field := joinField(prefix, k.Value)
		if k.Tag == "!!merge" || (k.Value == "<<" && k.Style == 0) {
			// reported by checkForbiddenNodes
			continue
		}
		if first, dup := seen[k.Value]; dup {
			p.errNode(k, field, "duplicate-key", "the key %q is repeated (first at line %d); keep one", k.Value, first.line)
			continue
		}
		seen[k.Value] = position{k.Line, k.Column}
		if !contains(known, k.Value) {
			p.errNode(k, field, "unknown-key", "unknown key %q%s (%s)", Truncate(k.Value, 40), suggest(k.Value, known), allowedKeys(prefix, known))
			continue
		}
		fn(k.Value, k, v)
	}
}

func (p *parser) parseVersion(k, v *yaml.Node) {
	supported := versionList()
	switch {
	case tagged(v):
		// reported once as an explicit tag; its type is whatever the tag says
	case v.Kind != yaml.ScalarNode:
		p.errNode(v, FieldVersion, "type", "version must be the integer 1, not %s (supported versions: %s)", kindName(v), supported)
	case isNull(v):
		p.errNode(v, FieldVersion, "null-value", "version must be the integer 1, not null (supported versions: %s)", supported)
	case v.Style != 0 || !decimalRE.MatchString(v.Value):
		p.errNode(v, FieldVersion, "type", "version must be the plain integer 1, not %s (supported versions: %s)", describeScalar(v), supported)
	case len(v.Value) > 1 && v.Value[0] == '0':
		p.errNode(v, FieldVersion, "type", "version must be the plain integer 1, without leading zeros (supported versions: %s)", supported)
	default:
		n, err := strconv.Atoi(v.Value)
		if err != nil || !containsInt(supportedVersions, n) {
			p.errNode(v, FieldVersion, "unsupported-version", "version %s is not supported; supported versions: %s", Truncate(v.Value, 20), supported)
			return
		}
		p.spec.Version = n
	}
}

func (p *parser) parseDeploy(v *yaml.Node) {
	if v.Kind == yaml.ScalarNode && isNull(v) && v.Style&yaml.TaggedStyle == 0 {
		return // deploy: (null) declares nothing
	}
	if v.Kind != yaml.MappingNode {
		p.errNode(v, FieldDeploy, "type", "deploy must be a mapping of deploy fields (port, healthcheck, deploy_strategy), not %s", kindName(v))
		return
	}
	p.eachKey(v, "deploy", deployKeys, func(key string, k, val *yaml.Node) {
		field := joinField("deploy", key)
		p.spec.pos[field] = position{k.Line, k.Column}
		if tagged(val) {
			return // reported once as an explicit tag
		}
		if val.Kind == yaml.ScalarNode && isNull(val) {
			p.errNode(val, field, "null-value", "%s is null; omit the key instead of setting it to null", field)
			return
		}
		switch key {
		case "port":
			p.parsePort(val)
		case "healthcheck":
			p.parseHealthcheck(val)
		case "deploy_strategy":
			p.parseStrategy(val)
		}
	})
}

func (p *parser) parsePort(v *yaml.Node) {
	const rule = "deploy.port must be a plain decimal integer from 1 to 65535"
	if v.Kind != yaml.ScalarNode {
		p.errNode(v, FieldPort, "type", "%s, not %s", rule, kindName(v))
		return
	}
	if v.Style != 0 || !decimalRE.MatchString(v.Value) {
		hint := ""
		if v.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 {
			hint = "; remove the quotes"
		}
		p.errNode(v, FieldPort, "port-format", "%s, not %s%s", rule, describeScalar(v), hint)
		return
	}
	if len(v.Value) > 1 && v.Value[0] == '0' {
		p.errNode(v, FieldPort, "port-format", "%s without leading zeros, not %s: YAML 1.1 tools read a leading 0 as octal", rule, strconv.Quote(Truncate(v.Value, 20)))
		return
	}
	n, err := strconv.Atoi(v.Value)
	if err != nil || n < 1 || n > 65535 {
		p.errNode(v, FieldPort, "port-range", "%s; %s is out of range", rule, Truncate(v.Value, 20))
		return
	}
	p.spec.Deploy.Port = &n
}

func (p *parser) parseHealthcheck(v *yaml.Node) {
	if v.Kind != yaml.ScalarNode || v.Tag != "!!str" {
		p.errNode(v, FieldHealthcheck, "type", "deploy.healthcheck must be a string: \"\" to disable, or a path starting with \"/\"; not %s", describeNode(v))
		return
	}
	if msg := healthcheckProblem(v.Value); msg != "" {
		code := "healthcheck"
		if len(v.Value) > maxHealthcheckLen {
			code = "healthcheck-length"
		}
		p.errNode(v, FieldHealthcheck, code, "deploy.healthcheck %s", msg)
		return
	}
	s := v.Value
	p.spec.Deploy.Healthcheck = &s
}

// healthcheckProblem returns why a healthcheck value breaks docs/file-format.md, or "" when it is valid.
func healthcheckProblem(s string) string {
	if s == "" {
		return ""
	}
	if len(s) > maxHealthcheckLen {
		return fmt.Sprintf("is %d bytes long; the limit is %d bytes", len(s), maxHealthcheckLen)
	}
	if !strings.HasPrefix(s, "/") {
		return "must be \"\" (disabled) or a path starting with \"/\""
	}
	if pos, desc := HiddenChar(s); pos > 0 {
		return fmt.Sprintf("must not contain invisible or control characters: %s at character %d", desc, pos)
	}
	for _, r := range s {
		if unicode.IsSpace(r) || r == utf8.RuneError {
			return "must not contain whitespace or control characters"
		}
	}
	return ""
}

func (p *parser) parseStrategy(v *yaml.Node) {
	if v.Kind != yaml.ScalarNode || v.Tag != "!!str" {
		p.errNode(v, FieldDeployStrategy, "type", "deploy.deploy_strategy must be \"recreate\" or \"rolling\", not %s", describeNode(v))
		return
	}
	if !contains(strategies, v.Value) {
		p.errNode(v, FieldDeployStrategy, "deploy-strategy", "deploy.deploy_strategy must be \"recreate\" or \"rolling\" (case-sensitive), not %q%s", Truncate(v.Value, 40), suggest(v.Value, strategies))
		return
	}
	s := v.Value
	p.spec.Deploy.DeployStrategy = &s
}

// checkForbiddenNodes reports anchors, aliases, merge keys and explicit tags anywhere in the
// document. It walks iteratively, so deep nesting cannot exhaust the stack.
func (p *parser) checkForbiddenNodes(doc *yaml.Node) {
	stack := []*yaml.Node{doc}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if n.Anchor != "" {
			p.errNode(n, "", "anchor", "anchors (&%s) are not allowed; write the value out", Truncate(n.Anchor, 40))
		}
		switch {
		case n.Kind == yaml.AliasNode:
			p.errNode(n, "", "alias", "aliases (*%s) are not allowed; write the value out", Truncate(n.Value, 40))
			continue // never follow an alias: that is how alias bombs explode
		case n.Kind == yaml.ScalarNode && n.Tag == "!!merge":
			p.errNode(n, "", "merge-key", "merge keys (<<) are not allowed; write the keys out")
		case n.Style&yaml.TaggedStyle != 0:
			p.errNode(n, "", "tag", "explicit tags (%s) are not allowed; remove the tag", Truncate(n.Tag, 40))
		}
		for i := len(n.Content) - 1; i >= 0; i-- {
			stack = append(stack, n.Content[i])
		}
	}
}

// checkTabs reports tab characters in indentation, which YAML forbids, and reports whether it
// found any (the YAML error they cause would only repeat them).
func (p *parser) checkTabs(data []byte) bool {
	found := false
	for i, line := range splitLines(data) {
		for j, c := range line {
			if c == ' ' {
				continue
			}
			if c == '\t' {
				p.errAt(i+1, j+1, "", "tab", "tab characters are not allowed in indentation; indent with spaces")
				found = true
			}
			break
		}
	}
	return found
}

// directiveLine returns the 1-based line of the first %YAML directive, or 0 when there is none.
func directiveLine(data []byte) int {
	for i, l := range splitLines(data) {
		if bytes.HasPrefix(l, []byte("%YAML")) {
			return i + 1
		}
	}
	return 0
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): `)

func yamlErrorLine(err error) int {
	m := yamlLineRE.FindStringSubmatch(err.Error())
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

func yamlErrorText(err error) string {
	if strings.Contains(err.Error(), "incompatible YAML document") {
		return "only YAML 1.1 documents are read; remove the %YAML directive line"
	}
	s := yamlLineRE.ReplaceAllString(err.Error(), "")
	return Truncate(strings.TrimPrefix(s, "yaml: "), 200)
}

// firstColumn returns the 1-based column of the first non-blank character of a 1-based line,
// 1 for a blank line, and 0 when line is 0 or past the end.
func firstColumn(data []byte, line int) int {
	if line < 1 {
		return 0
	}
	lines := splitLines(data)
	if line > len(lines) {
		return 0
	}
	l := lines[line-1]
	trimmed := bytes.TrimLeft(l, " \t")
	if len(trimmed) == 0 {
		return 1
	}
	return utf8.RuneCount(l[:len(l)-len(trimmed)]) + 1
}

// SourceLines splits a file into its lines as diagnostics number them: after a leading byte
// order mark, which Lint drops, at "\r\n", "\r" and "\n".
func SourceLines(data []byte) [][]byte {
	if hasBOM(data) {
		data = data[3:]
	}
	return splitLines(data)
}

// splitLines splits data at YAML line breaks: "\r\n", "\r" and "\n".
func splitLines(data []byte) [][]byte {
	var lines [][]byte
	start := 0
	for i := 0; i < len(data); i++ {
		switch data[i] {
		case '\n':
			lines = append(lines, data[start:i])
			start = i + 1
		case '\r':
			lines = append(lines, data[start:i])
			if i+1 < len(data) && data[i+1] == '\n' {
				i++
			}
			start = i + 1
		}
	}
	return append(lines, data[start:])
}

// nonPrintablePosition is the 1-based line and column of the first character YAML does not
// allow in a file (a control character other than tab, line feed and carriage return, DEL, a
// C1 control other than NEL, a surrogate or U+FFFE/U+FFFF), or 0, 0 when there is none.
func nonPrintablePosition(data []byte) (line, col int) {
	line, col = 1, 1
	for _, r := range string(data) {
		printable := r == '\t' || r == '\n' || r == '\r' || (r >= 0x20 && r <= 0x7e) || r == 0x85 ||
			(r >= 0xa0 && r <= 0xd7ff) || (r >= 0xe000 && r <= 0xfffd) || r >= 0x10000
		if !printable {
			return line, col
		}
		if r == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return 0, 0
}

// badEscapeColumn is the 1-based column of the first backslash on line that does not start a
// YAML escape, or 0 when there is none.
func badEscapeColumn(data []byte, line int) int {
	lines := splitLines(data)
	if line < 1 || line > len(lines) {
		return 0
	}
	runes := []rune(string(lines[line-1]))
	for i := 0; i+1 < len(runes); i++ {
		if runes[i] != '\\' {
			continue
		}
		if !strings.ContainsRune("0abt\tnvfre \"/\\N_LPxuU", runes[i+1]) {
			return i + 1
		}
		i++ // skip the escaped character
	}
	return 0
}

func invalidUTF8Position(data []byte) (line, col int) {
	line, col = 1, 1
	for len(data) > 0 {
		r, size := utf8.DecodeRune(data)
		if r == utf8.RuneError && size <= 1 {
			return line, col
		}
		if r == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
		data = data[size:]
	}
	return line, col
}

func hasBOM(data []byte) bool { return bytes.HasPrefix(data, []byte("\xef\xbb\xbf")) }

// tagged reports whether a scalar carries an explicit tag, already reported by
// checkForbiddenNodes; its type-specific checks would only repeat that problem.
func tagged(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Style&yaml.TaggedStyle != 0 }

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	case yaml.DocumentNode:
		return "a document"
	}
	return describeScalar(n)
}

func describeNode(n *yaml.Node) string {
	if n.Kind != yaml.ScalarNode {
		return kindName(n)
	}
	return describeScalar(n)
}

// describeScalar names a scalar's type for a message, quoting a short form of its text.
func describeScalar(n *yaml.Node) string {
	v := strconv.Quote(Truncate(n.Value, 40))
	switch {
	case n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0:
		return "the quoted string " + v
	case n.Tag == "!!null":
		return "null"
	case n.Tag == "!!bool":
		return "the boolean " + v
	case n.Tag == "!!float":
		return "the number " + v
	case n.Tag == "!!int":
		return "the number " + v
	case n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0:
		return "a block string"
	}
	return "the string " + v
}

func joinField(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return prefix + "." + key
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func containsInt(list []int, n int) bool {
	for _, x := range list {
		if x == n {
			return true
		}
	}
	return false
}

func versionList() string {
	parts := make([]string, len(supportedVersions))
	for i, v := range supportedVersions {
		parts[i] = strconv.Itoa(v)
	}
	return strings.Join(parts, ", ")
}

func allowedKeys(prefix string, known []string) string {
	where := "at the top level"
	if prefix != "" {
		where = "under " + prefix
	}
	return fmt.Sprintf("allowed %s: %s", where, strings.Join(known, ", "))
}

// suggest returns `; did you mean "x"?` for the closest candidate, or "".
func suggest(got string, candidates []string) string {
	if len(got) > 64 {
		return ""
	}
	best, bestDist := "", 1<<30
	lower := strings.ToLower(got)
	for _, c := range candidates {
		d := editDistance(lower, c)
		if strings.EqualFold(got, c) {
			d = 0
		}
		if d < bestDist {
			best, bestDist = c, d
		}
	}
	limit := 2
	if len(best) > 8 {
		limit = 3
	}
	if bestDist > limit {
		return ""
	}
	return fmt.Sprintf("; did you mean %q?", best)
}

// editDistance is the Damerau-free Levenshtein distance between a and b, in runes.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
