package gitops

import "testing"

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
