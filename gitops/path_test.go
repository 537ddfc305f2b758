package gitops

import (
	"strings"
	"testing"
)

func FuzzCheckPath(f *testing.F) {
	for _, s := range []string{".tinyforge.yml", "../a.yml", "a/b.yaml", "/x.yml", "a//b.yml", "\x00.yml"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		if CheckPath(p) != "" {
			return
		}
		// Whatever is accepted stays inside the repo and names a YAML file.
		if strings.HasPrefix(p, "/") || strings.Contains(p, "..") && containsSegment(p, "..") || len(p) > 255 ||
			!(strings.HasSuffix(p, ".yml") || strings.HasSuffix(p, ".yaml")) || strings.ContainsAny(p, "\\\x00%: \n") {
			t.Fatalf("accepted %q", p)
		}
	})
}

func containsSegment(p, seg string) bool {
	for _, s := range strings.Split(p, "/") {
		if s == seg {
			return true
		}
	}
	return false
}

// TestCheckPath: the one path rule, which the reference server applies when the path is set
// and the check applies to the path Tinyforge names.
func TestCheckPath(t *testing.T) {
	for p, ok := range map[string]bool{
		".tinyforge.yml": true, "deploy/web.tinyforge.yaml": true, "a/b-c_d.e.yml": true,
		"": false, "/etc/x.yml": false, "../x.yml": false, "a/../x.yml": false, "a//x.yml": false, "./x.yml": false,
		"x.json": false, "Dockerfile": false, "a b.yml": false, "a\\b.yml": false, "é.yml": false,
		strings.Repeat("a", 252) + ".yml": false, strings.Repeat("a", 251) + ".yml": true,
	} {
		if why := CheckPath(p); (why == "") != ok {
			t.Errorf("CheckPath(%q) = %q, want accepted %v", p, why, ok)
		}
		if why := CheckPath(p); p != "" && strings.Contains(why, p) {
			t.Errorf("CheckPath(%q) quotes the path: %q", p, why)
		}
	}
}
