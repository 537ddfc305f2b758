package secret

import (
	"encoding/base64"
	"net/url"
	"strings"
	"testing"
)

const canary = "tfk_CANARY/+token=0123456789abcdef"

func TestRedactEveryForm(t *testing.T) {
	t.Parallel()
	basic := base64.StdEncoding.EncodeToString([]byte("x-access-token:" + canary))
	forms := map[string]string{
		"exact":                 canary,
		"query escape":          url.QueryEscape(canary),
		"path escape":           url.PathEscape(canary),
		"every byte, upper":     percentAll(canary, true),
		"every byte, lower":     percentAll(canary, false),
		"base64 std":            base64.StdEncoding.EncodeToString([]byte(canary)),
		"base64 url, raw":       base64.RawURLEncoding.EncodeToString([]byte(canary)),
		"basic auth header":     "Basic " + basic,
		"a 12-byte fragment":    canary[5:17],
		"an 8-byte fragment":    canary[20:28],
		"fragment of an escape": url.QueryEscape(canary)[3:15],
	}
	for name, form := range forms {
		msg := "GET https://forge.example/api?x=" + form + " failed: 401"
		got := Redact(msg, canary)
		if strings.Contains(got, form) {
			t.Errorf("%s: %q still holds %q", name, got, form)
		}
		if !strings.HasPrefix(got, "GET https://forge.example/api?x=") || !strings.HasSuffix(got, " failed: 401") || !strings.Contains(got, Placeholder) {
			t.Errorf("%s: %q, want only the secret replaced by %s", name, got, Placeholder)
		}
	}
}

func TestRedactLeavesTheRest(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"nothing secret here", "nothing secret here"},
		{"a 7-byte piece: tfk_CAN", "a 7-byte piece: tfk_CAN"}, // below MinFragment: kept
		{"two " + canary + " and " + canary, "two *** and ***"},
		{"short secret ab and abc", "short secret *** and ***c"}, // a short secret goes only whole
	} {
		secrets := []string{"", canary}
		if strings.HasPrefix(tc.in, "short") {
			secrets = []string{"ab"}
		}
		if got := Redact(tc.in, secrets...); got != tc.want {
			t.Errorf("Redact(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func FuzzRedact(f *testing.F) {
	f.Add("token tfk_abcdefghijkl in a message", "tfk_abcdefghijkl")
	f.Add("%74%66%6B", "tfk")
	f.Fuzz(func(t *testing.T, s, sec string) {
		got := Redact(s, sec)
		// Without a '*' the secret cannot be rebuilt around a placeholder, so any occurrence
		// left would lie in text Redact kept, whose every 8-byte piece of the secret it covers.
		if len(sec) >= MinFragment && !strings.Contains(sec, "*") && strings.Contains(got, sec) {
			t.Fatalf("Redact(%q, %q) = %q still holds the secret", s, sec, got)
		}
		if sec == "" && got != s {
			t.Fatalf("an empty secret changed %q to %q", s, got)
		}
	})
}
