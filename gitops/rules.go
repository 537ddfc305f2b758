package gitops

// Rule is one diagnostic code: the stable name a diagnostic carries, the severity it has, and
// one line saying what it checks. Rules lists them for SARIF's rule metadata and for
// docs/file-format.md, which describes each with an example (tests keep the three in step).
type Rule struct {
	// Code is the diagnostic's code, e.g. "unknown-key".
	Code string
	// Severity is the severity every diagnostic of this code has.
	Severity Severity
	// Summary says in one line what the rule checks.
	Summary string
}

// Rules returns every diagnostic code that Lint, LintSource and the CLI report, grouped as
// docs/file-format.md groups them: the file, its YAML, the keys, each field, the source type.
func Rules() []Rule {
	return []Rule{
		{"no-file", SeverityError, "the file does not exist at the path"},
		{"not-regular-file", SeverityError, "the path is a symbolic link, device or other non-regular file, which is never followed"},
		{"not-tinyforge-file", SeverityError, "in a check, the file is not a .tinyforge.yml document (no top-level version key): none of it is shown"},
		{"file-too-large", SeverityError, "the file is larger than 64 KiB"},
		{"invalid-utf8", SeverityError, "the file is not valid UTF-8"},
		{"empty-file", SeverityError, "the file is empty or holds only comments"},
		{"syntax", SeverityError, "the file is not valid YAML"},
		{"tab", SeverityError, "a tab character indents a line"},
		{"multiple-documents", SeverityError, "the file holds more than one YAML document"},
		{"not-mapping", SeverityError, "the top level is not a mapping"},
		{"anchor", SeverityError, "an anchor (&name) is used"},
		{"alias", SeverityError, "an alias (*name) is used"},
		{"merge-key", SeverityError, "a merge key (<<) is used"},
		{"tag", SeverityError, "an explicit tag (!!str, !foo) is used"},
		{"invalid-key", SeverityError, "a key is not a plain name"},
		{"unknown-key", SeverityError, "a key is not part of schema version 1"},
		{"duplicate-key", SeverityError, "a key appears twice in one mapping"},
		{"null-value", SeverityError, "a field is set to null instead of being left out"},
		{"type", SeverityError, "a value has the wrong type for its field"},
		{"missing-version", SeverityError, "version is missing"},
		{"unsupported-version", SeverityError, "version is an integer other than 1"},
		{"port-format", SeverityError, "deploy.port is not a plain decimal integer"},
		{"port-range", SeverityError, "deploy.port is outside 1..65535"},
		{"healthcheck", SeverityError, `deploy.healthcheck is neither "" nor a path starting with "/" without whitespace or control characters`},
		{"healthcheck-length", SeverityError, "deploy.healthcheck is longer than 512 bytes"},
		{"deploy-strategy", SeverityError, `deploy.deploy_strategy is not exactly "recreate" or "rolling"`},
		{"source-type", SeverityError, "a static workload declares port or healthcheck"},
		{"no-fields", SeverityWarning, "the file declares no deploy field, so a Sync would change nothing"},
		{codeTooMany, SeverityError, "more than 100 problems: the rest are not listed"},
	}
}

// RuleFor returns the rule of a code, and false for a code that is not one of Rules.
func RuleFor(code string) (Rule, bool) {
	for _, r := range Rules() {
		if r.Code == code {
			return r, true
		}
	}
	return Rule{}, false
}
