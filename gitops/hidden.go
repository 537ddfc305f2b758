package gitops

import (
	"fmt"
	"unicode"
)

// HiddenChar finds the first character of s that a reader cannot see or that changes how the
// rest reads: control characters (Cc, ESC and newlines among them), format characters (Cf:
// zero-width spaces and joiners, bidi overrides), and line and paragraph separators (Zl, Zp).
// "web\u200b" looks exactly like "web", and "\x1b[2K" rewrites a terminal line. It returns the
// 1-based position in characters and a description such as "U+200B ZERO WIDTH SPACE", or 0 and
// "" when s has none.
func HiddenChar(s string) (pos int, desc string) {
	i := 0
	for _, r := range s {
		i++
		if IsHidden(r) {
			return i, describeRune(r)
		}
	}
	return 0, ""
}

// IsHidden reports whether r is a control (Cc), format (Cf), line separator (Zl) or paragraph
// separator (Zp) character: the characters HiddenChar refuses and checker.Neutralize replaces.
func IsHidden(r rune) bool {
	return unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp)
}

// hiddenNames are the names of the hidden characters people meet most.
var hiddenNames = map[rune]string{
	0x00: "NUL", 0x09: "TAB", 0x0A: "LINE FEED", 0x0D: "CARRIAGE RETURN", 0x1B: "ESCAPE",
	0x7F: "DELETE", 0xAD: "SOFT HYPHEN", 0x200B: "ZERO WIDTH SPACE", 0x200C: "ZERO WIDTH NON-JOINER",
	0x200D: "ZERO WIDTH JOINER", 0x200E: "LEFT-TO-RIGHT MARK", 0x200F: "RIGHT-TO-LEFT MARK",
	0x2028: "LINE SEPARATOR", 0x2029: "PARAGRAPH SEPARATOR", 0x202A: "LEFT-TO-RIGHT EMBEDDING",
	0x202B: "RIGHT-TO-LEFT EMBEDDING", 0x202C: "POP DIRECTIONAL FORMATTING", 0x202D: "LEFT-TO-RIGHT OVERRIDE",
	0x202E: "RIGHT-TO-LEFT OVERRIDE", 0x2060: "WORD JOINER", 0x2066: "LEFT-TO-RIGHT ISOLATE",
	0x2067: "RIGHT-TO-LEFT ISOLATE", 0x2068: "FIRST STRONG ISOLATE", 0x2069: "POP DIRECTIONAL ISOLATE",
	0xFEFF: "ZERO WIDTH NO-BREAK SPACE",
}

func describeRune(r rune) string {
	if name, ok := hiddenNames[r]; ok {
		return fmt.Sprintf("%U %s", r, name)
	}
	return fmt.Sprintf("%U", r)
}
