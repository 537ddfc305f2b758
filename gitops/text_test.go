package gitops

import (
	"strings"
	"testing"
)

func TestTruncate(t *testing.T) {
	for _, tt := range []struct {
		s    string
		n    int
		want string
	}{
		{"web", 3, "web"},
		{"webs", 3, "we…"},
		{"привет", 4, "при…"},
		{"日本語テキスト", 2, "日…"},
		{"x", 0, ""},
		{"", 5, ""},
	} {
		if got := Truncate(tt.s, tt.n); got != tt.want {
			t.Errorf("Truncate(%q, %d) = %q, want %q", tt.s, tt.n, got, tt.want)
		}
	}
}

func TestShortSHA(t *testing.T) {
	if got := ShortSHA("0803663839f9917afdfe21ce964b96ced9bf0c9d"); got != "0803663" {
		t.Errorf("ShortSHA = %q", got)
	}
	if got := ShortSHA("abc"); got != "abc" {
		t.Errorf("ShortSHA of a short string = %q", got)
	}
}

func TestIsSHA(t *testing.T) {
	sha1 := "0803663839f9917afdfe21ce964b96ced9bf0c9d"
	sha256 := strings.Repeat("ab", 32)
	tests := []struct {
		s          string
		full, want bool
	}{
		{sha1, true, true},
		{strings.ToUpper(sha1), true, true},
		{sha256, true, true},
		{sha1[:7], true, false},
		{sha1[:7], false, true},
		{sha1[:6], false, false},
		{sha1 + "0", true, false},
		{sha1 + "0", false, true},
		{sha256 + "0", false, false},
		{sha1[:39] + "g", true, false},
		{"main", false, false},
		{"", false, false},
	}
	for _, tt := range tests {
		if got := IsSHA(tt.s, tt.full); got != tt.want {
			t.Errorf("IsSHA(%q, %v) = %v, want %v", tt.s, tt.full, got, tt.want)
		}
	}
}

func TestPinnedURL(t *testing.T) {
	tests := []struct{ ui, file, commit, want string }{
		{"https://tf.example/apps/3", "abc", "def", "https://tf.example/apps/3?file=abc&commit=def#gitops"},
		{"http://127.0.0.1:8080/apps/12", "abc", "", "http://127.0.0.1:8080/apps/12?file=abc#gitops"},
		{"http://127.0.0.1:8080/apps/12", "", "", "http://127.0.0.1:8080/apps/12#gitops"},
		{"javascript:alert(1)", "abc", "def", ""},
		{"https://tf.example/apps/3?x=1", "abc", "def", ""},
		{"https://tf.example/apps/3", "a&b", "c d", "https://tf.example/apps/3?file=a%26b&commit=c+d#gitops"},
	}
	for _, tt := range tests {
		if got := PinnedURL(tt.ui, tt.file, tt.commit); got != tt.want {
			t.Errorf("PinnedURL(%q, %q, %q) = %q, want %q", tt.ui, tt.file, tt.commit, got, tt.want)
		}
	}
}
