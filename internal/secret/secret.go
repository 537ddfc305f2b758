// Package secret removes secrets from text before it reaches anything a person or a log can
// read: error messages, the action's output, PR comments, job summaries, API answers, panel
// pages and audit rows. Every such place calls Redact, so all of them remove the same forms.
package secret

import (
	"encoding/base64"
	"net/url"
	"strings"
)

// Placeholder is what every removed secret, or piece of one, becomes.
const Placeholder = "***"

// MinFragment is the length, in bytes, from which a piece of a secret (or of one of its
// encodings) is removed on its own. Shorter secrets are removed only whole.
const MinFragment = 8

// Redact returns s with every secret removed in every form it takes in the messages of HTTP
// clients and servers: as is; base64 in the standard and URL alphabets, with and without
// padding, at each of the three alignments it can have inside a longer encoding (Basic auth's
// "user:secret"); percent-encoded as a query or a path escapes it, or with every byte as %XX in
// either case; and any piece of MinFragment bytes or more of any of these. Empty secrets are
// ignored. The result holds Placeholder once for each run of removed bytes.
func Redact(s string, secrets ...string) string {
	if s == "" {
		return s
	}
	covered := make([]bool, len(s))
	hit := false
	for _, sec := range secrets {
		if sec == "" {
			continue
		}
		for _, form := range forms(sec) {
			if mark(s, form, covered) {
				hit = true
			}
		}
	}
	if !hit {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if !covered[i] {
			b.WriteByte(s[i])
			i++
			continue
		}
		b.WriteString(Placeholder)
		for i < len(s) && covered[i] {
			i++
		}
	}
	return b.String()
}

// forms lists the encodings of sec that Redact looks for.
func forms(sec string) []string {
	out := []string{sec, url.QueryEscape(sec), url.PathEscape(sec), percentAll(sec, true), percentAll(sec, false)}
	encs := []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding}
	for shift := 0; shift < 3; shift++ {
		// Behind shift bytes of something else, the encoding of the secret's bytes starts at a
		// different bit offset; the first group mixes in those bytes and is left out.
		b := append(make([]byte, shift), sec...)
		for _, enc := range encs {
			e := enc.EncodeToString(b)
			if shift > 0 {
				if len(e) <= 4 {
					continue
				}
				e = e[4:]
			}
			out = append(out, e)
		}
	}
	return out
}

// percentAll percent-encodes every byte of s, in upper or lower case hex.
func percentAll(s string, upper bool) string {
	digits := "0123456789abcdef"
	if upper {
		digits = "0123456789ABCDEF"
	}
	b := make([]byte, 0, 3*len(s))
	for i := 0; i < len(s); i++ {
		b = append(b, '%', digits[s[i]>>4], digits[s[i]&15])
	}
	return string(b)
}

// mark covers every occurrence in s of form, and of every piece of form MinFragment bytes or
// longer; it reports whether it covered anything.
func mark(s, form string, covered []bool) bool {
	found := false
	for i := 0; ; {
		j := strings.Index(s[i:], form)
		if j < 0 {
			break
		}
		for k := i + j; k < i+j+len(form); k++ {
			covered[k] = true
		}
		found = true
		i += j + 1
	}
	if len(form) < MinFragment || len(s) < MinFragment {
		return found
	}
	windows := make(map[string]struct{}, len(form)-MinFragment+1)
	for i := 0; i+MinFragment <= len(form); i++ {
		windows[form[i:i+MinFragment]] = struct{}{}
	}
	for i := 0; i+MinFragment <= len(s); i++ {
		if _, ok := windows[s[i:i+MinFragment]]; ok {
			for k := i; k < i+MinFragment; k++ {
				covered[k] = true
			}
			found = true
		}
	}
	return found
}
