package gitops

import "testing"

func TestHiddenChar(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		pos  int
		desc string
	}{
		{"web", 0, ""},
		{"Привет мир", 0, ""},
		{"web\u200b", 4, "U+200B ZERO WIDTH SPACE"},
		{"a\u202Eb", 2, "U+202E RIGHT-TO-LEFT OVERRIDE"},
		{"ci\nadmin", 3, "U+000A LINE FEED"},
		{"x\x1b[2K", 2, "U+001B ESCAPE"},
		{"p\u2029q", 2, "U+2029 PARAGRAPH SEPARATOR"},
		{"a\u061Cb", 2, "U+061C"}, // ARABIC LETTER MARK, a Cf without a name in the table
	} {
		pos, desc := HiddenChar(tc.in)
		if pos != tc.pos || desc != tc.desc {
			t.Errorf("HiddenChar(%q) = %d %q, want %d %q", tc.in, pos, desc, tc.pos, tc.desc)
		}
	}
	if msg := healthcheckProblem("/health\u200bz"); msg != "must not contain invisible or control characters: U+200B ZERO WIDTH SPACE at character 8" {
		t.Errorf("a zero-width space in a healthcheck: %q", msg)
	}
}
