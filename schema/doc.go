// Package schema ships the JSON Schema of .tinyforge.yml (draft 2020-12) that editors use to
// complete and explain the file's fields. The schema is a convenience for editors: the rules
// it cannot express (duplicate keys, anchors, aliases, merge keys, explicit tags, quoted or
// non-decimal numbers, multiple documents, size, source-aware rules) are enforced only by
// package gitops, which is the authority. schema_test.go keeps the two in agreement on every
// file under testdata and lists each known difference with its reason.
package schema

import (
	"bytes"
	_ "embed"
)

// ID is the schema's $id, the URL editors and tools refer to it by.
const ID = "https://github.com/tinyforge/tinyforge-check/schema/tinyforge.schema.json"

//go:embed tinyforge.schema.json
var schemaJSON []byte

// JSON returns the schema document, tinyforge.schema.json, as UTF-8 JSON bytes. Each call
// returns a fresh copy, so a caller may modify it.
func JSON() []byte { return bytes.Clone(schemaJSON) }
