package main

import (
	"strings"
	"testing"
	"testing/fstest"
)

// TestActionConfigMistakesExit2: the action names a configuration mistake and exits 2 (usage),
// not 3 (could not finish): a Tinyforge URL without a scheme, or not a URL at all.
func TestActionConfigMistakesExit2(t *testing.T) {
	for _, url := range []string{"tinyforge.example.com", "ftp://tinyforge.example.com", "https://"} {
		env := map[string]string{"GITEA_ACTIONS": "true", "GITHUB_SERVER_URL": "http://127.0.0.1:1", "GITHUB_EVENT_NAME": "push", "GITHUB_REPOSITORY": "o/r", "GITHUB_SHA": strings.Repeat("a", 40),
			"GITHUB_WORKSPACE": t.TempDir(), "INPUT_TINYFORGE-URL": url, "INPUT_TINYFORGE-TOKEN": "tf_token_x", "INPUT_WORKLOAD": "web"}
		code, stdout, stderr := run(t, env, fstest.MapFS{}, "", "action")
		if code != ExitUsage || !strings.Contains(stderr, "must be an absolute http(s) URL") {
			t.Errorf("tinyforge-url %q: exit %d, stderr %q; want %d naming the URL's form\nstdout: %s", url, code, stderr, ExitUsage, stdout)
		}
	}
}
