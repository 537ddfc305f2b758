package providers

import (
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestMarker(t *testing.T) {
	if got, want := Marker("tinyforge/gitops", 42), "<!-- tinyforge-check:tinyforge/gitops run=42 -->"; got != want {
		t.Errorf("Marker = %q, want %q", got, want)
	}
}

func TestParseMarker(t *testing.T) {
	type parsed struct {
		Context string
		Run     int64
		OK      bool
	}
	tests := []struct {
		body string
		want parsed
	}{
		{"<!-- tinyforge-check:tinyforge/gitops run=42 -->\nbody", parsed{"tinyforge/gitops", 42, true}},
		{"<!-- tinyforge-check:tinyforge/gitops run=42 -->\r\nbody", parsed{"tinyforge/gitops", 42, true}},
		{"<!-- tinyforge-check:tinyforge/gitops run=42 -->", parsed{"tinyforge/gitops", 42, true}},
		{"<!-- tinyforge-check:a run=b run=7 -->", parsed{"a run=b", 7, true}},
		{"<!-- tinyforge-check:ctx with spaces run=0 -->", parsed{"ctx with spaces", 0, true}},
		{"quoted:\n<!-- tinyforge-check:tinyforge/gitops run=42 -->", parsed{}},
		{" <!-- tinyforge-check:tinyforge/gitops run=42 -->", parsed{}},
		{"<!-- tinyforge-check:tinyforge/gitops run=42 --> trailing", parsed{}},
		{"<!-- tinyforge-check:tinyforge/gitops run=-1 -->", parsed{}},
		{"<!-- tinyforge-check:tinyforge/gitops run= -->", parsed{}},
		{"<!-- tinyforge-check:tinyforge/gitops run=99999999999999999999 -->", parsed{}},
		{"<!-- tinyforge-check: run=1 -->", parsed{}},
		{"<!-- tinyforge-check:run=1 -->", parsed{}},
		{"<!-- tinyforge-check:a--b run=1 -->", parsed{}},
		{"", parsed{}},
	}
	for _, tt := range tests {
		c, r, ok := ParseMarker(tt.body)
		if diff := cmp.Diff(tt.want, parsed{c, r, ok}); diff != "" {
			t.Errorf("ParseMarker(%q) (-want +got):\n%s", tt.body, diff)
		}
	}
}

func FuzzParseMarker(f *testing.F) {
	f.Add("<!-- tinyforge-check:tinyforge/gitops run=42 -->\nbody")
	f.Add("<!-- tinyforge-check:a run=b run=7 -->")
	f.Add("<!-- tinyforge-check: run=1 -->")
	f.Fuzz(func(t *testing.T, body string) {
		c, run, ok := ParseMarker(body)
		if !ok {
			return
		}
		// Whatever parses must round-trip through Marker.
		line, _, _ := strings.Cut(body, "\n")
		line = strings.TrimSuffix(line, "\r")
		if got := Marker(c, run); got != line && run >= 0 {
			// Leading zeros are the only other spelling of a run id.
			if c2, r2, ok2 := ParseMarker(got); !ok2 || c2 != c || r2 != run {
				t.Fatalf("Marker(%q, %d) = %q does not parse back", c, run, got)
			}
		}
		if validContext(c) != nil || run < 0 {
			t.Fatalf("parsed an invalid marker: %q %d", c, run)
		}
	})
}

func TestLinkNext(t *testing.T) {
	tests := []struct {
		header, want string
	}{
		{`<https://api.github.com/repositories/1/issues/7/comments?page=2&per_page=100>; rel="next", <https://api.github.com/repositories/1/issues/7/comments?page=3&per_page=100>; rel="last"`,
			"https://api.github.com/repositories/1/issues/7/comments?page=2&per_page=100"},
		{`<https://x/a?page=1>; rel="prev", <https://x/a?page=3>; rel="next"`, "https://x/a?page=3"},
		{`<https://x/a?page=3>; rel="last"`, ""},
		{`<https://x/a?page=3>; rel=next`, "https://x/a?page=3"},
		{`<https://x/a?page=3>; title="a, b; c"; rel="prev next"`, "https://x/a?page=3"},
		{`<https://x/a?page=3>; REL="Next"`, "https://x/a?page=3"},
		{``, ""},
		{`garbage`, ""},
		{`<unterminated; rel="next"`, ""},
	}
	for _, tt := range tests {
		if got := linkNext(tt.header); got != tt.want {
			t.Errorf("linkNext(%q) = %q, want %q", tt.header, got, tt.want)
		}
	}
}

func FuzzLinkNext(f *testing.F) {
	f.Add(`<https://x/a?page=2>; rel="next", <https://x/a?page=3>; rel="last"`)
	f.Add(`<a>; title="x,y"; rel=next`)
	f.Fuzz(func(t *testing.T, header string) {
		next := linkNext(header)
		if next != "" && !strings.Contains(header, "<"+next+">") {
			t.Fatalf("linkNext(%q) = %q, not a target of the header", header, next)
		}
	})
}

func FuzzRetryAfter(f *testing.F) {
	f.Add("120", "", "")
	f.Add("Wed, 21 Oct 2015 07:28:00 GMT", "", "")
	f.Add("", "0", "1700000000")
	f.Add("1e400", "", "")
	f.Fuzz(func(t *testing.T, retry, remaining, reset string) {
		resp := &http.Response{Header: http.Header{}}
		resp.Header.Set("Retry-After", retry)
		resp.Header.Set("X-RateLimit-Remaining", remaining)
		resp.Header.Set("X-RateLimit-Reset", reset)
		s, ok := retryAfter(resp, time.Unix(1_700_000_000, 0))
		if !ok && s != 0 {
			t.Fatalf("no wait asked, but %v returned", s)
		}
		if s < 0 || math.IsNaN(s) || math.IsInf(s, 0) {
			t.Fatalf("retryAfter(%q, %q, %q) = %v", retry, remaining, reset, s)
		}
	})
}

func FuzzParseBase(f *testing.F) {
	f.Add("https://api.github.com")
	f.Add("https://ghe.example.com/api/v3/")
	f.Add("http://user:pw@127.0.0.1:3000/?q#f")
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := parseBase(raw)
		if err != nil {
			return
		}
		if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || !strings.HasSuffix(u.Path, "/") {
			t.Fatalf("parseBase(%q) accepted %q", raw, u)
		}
	})
}
