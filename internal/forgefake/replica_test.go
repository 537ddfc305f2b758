package forgefake

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestReadLag: with ReadLag, a list does not show a comment or an issue until ReadLag after it
// was written (seeded or posted), and shows an edit only then. Every forge.
func TestReadLag(t *testing.T) {
	const lag = 150 * time.Millisecond
	type lagFake interface {
		URL() string
		AddToken(string, Token)
		AddRepo(owner, name string)
		AddComment(owner, name string, number int, author, body string) int64
		AddIssue(owner, name, author, title, body string) int
	}
	cases := []struct {
		name             string
		start            func(t *testing.T) lagFake
		comments, issues string // list paths
		edit             func(id int64) (method, path string)
	}{
		{"github", func(t *testing.T) lagFake {
			return NewGitHub(t, Options{ReadLag: lag, Spec: specs.GitHub(t)})
		}, "/repos/o/r/issues/7/comments", "/repos/o/r/issues?state=all", func(id int64) (string, string) {
			return http.MethodPatch, "/repos/o/r/issues/comments/" + strconv.FormatInt(id, 10)
		}},
		{"gitea", func(t *testing.T) lagFake {
			return NewGitea(t, Options{ReadLag: lag, Spec: specs.Gitea(t)})
		}, "/api/v1/repos/o/r/issues/7/comments", "/api/v1/repos/o/r/issues?state=all&type=issues", func(id int64) (string, string) {
			return http.MethodPatch, "/api/v1/repos/o/r/issues/comments/" + strconv.FormatInt(id, 10)
		}},
		{"gitlab", func(t *testing.T) lagFake { return NewGitLab(t, Options{ReadLag: lag}) },
			"/api/v4/projects/o%2Fr/merge_requests/7/notes", "/api/v4/projects/o%2Fr/issues?scope=all", func(id int64) (string, string) {
				return http.MethodPut, "/api/v4/projects/o%2Fr/merge_requests/7/notes/" + strconv.FormatInt(id, 10)
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := tc.start(t)
			f.AddToken("tok", Token{Login: "bot"})
			f.AddRepo("o", "r")
			id := f.AddComment("o", "r", 7, "bot", "first")
			f.AddIssue("o", "r", "bot", "drift", "issue body")
			list := func(path string) string {
				t.Helper()
				resp, body := do(t, http.MethodGet, f.URL()+path, "tok", "")
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("GET %s: %d %s", path, resp.StatusCode, body)
				}
				return body
			}
			if b := list(tc.comments); strings.Contains(b, "first") {
				t.Errorf("a comment seeded just now is listed: %s", b)
			}
			if b := list(tc.issues); strings.Contains(b, "issue body") {
				t.Errorf("an issue seeded just now is listed: %s", b)
			}
			time.Sleep(lag + 20*time.Millisecond)
			if b := list(tc.comments); !strings.Contains(b, "first") {
				t.Errorf("the comment is not listed after the lag: %s", b)
			}
			if b := list(tc.issues); !strings.Contains(b, "issue body") {
				t.Errorf("the issue is not listed after the lag: %s", b)
			}
			method, path := tc.edit(id)
			if resp, body := do(t, method, f.URL()+path, "tok", `{"body":"second"}`); resp.StatusCode != http.StatusOK {
				t.Fatalf("edit: %d %s", resp.StatusCode, body)
			}
			if b := list(tc.comments); !strings.Contains(b, "first") || strings.Contains(b, "second") {
				t.Errorf("just after the edit, want the old body listed: %s", b)
			}
			time.Sleep(lag + 20*time.Millisecond)
			if b := list(tc.comments); !strings.Contains(b, "second") {
				t.Errorf("the edit is not listed after the lag: %s", b)
			}
		})
	}
}
