package main

import (
	"strings"
	"testing"

	"github.com/tinyforge/tinyforge-check/internal/forgefake"
)

// forgejoVersion is what the Forgejo fake reports at /api/forgejo/v1/version.
const forgejoVersion = "11.0.3+gitea-1.22.0"

// TestActionForgejoJobUser runs the built action on a PR with the job token (token and
// job-token equal) and checks whom it writes as and what it asks to know it: on a runner that
// says Forgejo (FORGEJO_ACTIONS) nothing; on one that only says GITEA_ACTIONS, GET
// /api/forgejo/v1/version once, which Forgejo answers and Gitea 404s; never GET /user.
func TestActionForgejoJobUser(t *testing.T) {
	t.Parallel()
	bin := buildAction(t, t.TempDir())
	for _, tc := range []struct {
		name, kind   string
		forgejoEnv   bool
		login        string
		versionAsked int
	}{
		{"forgejo runner", "forgejo", true, "forgejo-actions", 0},
		{"forgejo behind a runner that does not say", "forgejo", false, "forgejo-actions", 1},
		{"gitea", "gitea", false, "gitea-actions", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, bin, tc.kind)
			const job = "job-token-CANARY-51c2"
			h.forge.AddToken(job, forgefake.Token{Login: tc.login})
			h.writeWorkspace(map[string]string{".tinyforge.yml": e2eDrift})
			h.setFile(e2eBase, ".tinyforge.yml", e2eInSync)
			env := h.env("pull_request", prPayload("synchronize", false), map[string]string{"token": job, "job-token": job})
			if tc.forgejoEnv {
				env["FORGEJO_ACTIONS"] = "true"
			}
			h.forge.ResetRequests()
			res := h.run(env, "action")
			if res.code != 0 || res.outputs["verdict"] != "drift" {
				t.Fatalf("exit %d, outputs %v\n%s%s", res.code, res.outputs, res.stdout, res.stderr)
			}
			if cs := h.comments(); len(cs) != 1 || cs[0].Author != tc.login {
				t.Errorf("comments %+v, want one by %s", cs, tc.login)
			}
			asked := strings.Count(strings.Join(h.requestLog(), "\n")+"\n", "GET /api/forgejo/v1/version\n")
			user := strings.Count(strings.Join(h.requestLog(), "\n")+"\n", "GET /api/v1/user\n")
			if asked != tc.versionAsked || user != 0 {
				t.Errorf("asked the version %d times (want %d) and /user %d times (want 0):\n%s", asked, tc.versionAsked, user, strings.Join(h.requestLog(), "\n"))
			}
		})
	}
}
