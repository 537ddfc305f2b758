package main

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"

	"github.com/tinyforge/tinyforge-check/internal/forgefake"
	"github.com/tinyforge/tinyforge-check/internal/testenv"
)

// forgejoVersion is what the Forgejo fake reports at /api/forgejo/v1/version.
const forgejoVersion = "11.0.3+gitea-1.22.0"

// newForgejoFake is the Gitea fake answering as Forgejo does, holding what newHarness puts in
// its forge: the events' commits and the forge token.
func newForgejoFake(t *testing.T) *forgefake.Gitea {
	f := forgefake.NewGitea(t, forgefake.Options{Spec: loopSpecs.Gitea(t), Forgejo: forgejoVersion})
	for _, sha := range []string{e2eHead, e2eBase, e2ePush} {
		f.PutFileAt("o", "r", sha, "", nil)
	}
	f.AddToken(forgeCanary, forgefake.Token{Login: botLogin})
	return f
}

// TestActionForgejoJobUser runs the built action on a PR with the job token (token and
// job-token equal) and checks whom it writes as and what it asks to know it: on a runner that
// says Forgejo (FORGEJO_ACTIONS) nothing; on one that only says GITEA_ACTIONS, GET
// /api/forgejo/v1/version once, which Forgejo answers and Gitea 404s, and never GET /user;
// under nektos/act, GET /user.
func TestActionForgejoJobUser(t *testing.T) {
	t.Parallel()
	bin := buildAction(t, t.TempDir())
	for _, tc := range []struct {
		name         string
		forgejo      bool // the forge is Forgejo
		forgejoEnv   bool
		login        string
		versionAsked int
	}{
		{"forgejo runner", true, true, "forgejo-actions", 0},
		{"forgejo behind a runner that does not say", true, false, "forgejo-actions", 1},
		{"gitea", false, false, "gitea-actions", 1},
		// nektos/act (ACT=true without Gitea's runner version): github.token is whatever the
		// user passed, so GET /user decides and the version is not asked.
		{"gitea under nektos/act", false, false, "gitea-actions", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, bin, "gitea")
			if tc.forgejo {
				h.forge = newForgejoFake(t)
			}
			const job = "job-token-CANARY-51c2"
			h.forge.AddToken(job, forgefake.Token{Login: tc.login})
			h.commit(map[string]string{".tinyforge.yml": e2eDrift})
			h.setFile(e2eBase, ".tinyforge.yml", e2eInSync)
			env := h.env("pull_request", prPayload("synchronize", false), map[string]string{"token": job, "job-token": job})
			if tc.forgejoEnv {
				env["FORGEJO_ACTIONS"] = "true"
			}
			wantUser := 0
			if strings.Contains(tc.name, "nektos/act") {
				env["ACT"], wantUser = "true", 1
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
			if asked != tc.versionAsked || user != wantUser {
				t.Errorf("asked the version %d times (want %d) and /user %d times (want %d):\n%s", asked, tc.versionAsked, user, wantUser, strings.Join(h.requestLog(), "\n"))
			}
		})
	}
}

// forgejoMirrored are the actions the examples use by short name on Forgejo: its
// DEFAULT_ACTIONS_URL, https://data.forgejo.org by default, mirrors them.
var forgejoMirrored = []string{"actions/checkout"}

// TestExamplesUsesResolve checks every uses: line of the example workflows against where the
// forge resolves it. A short form (owner/repo@ref) is looked up at DEFAULT_ACTIONS_URL:
// https://github.com on GitHub and, by default, on Gitea, but Forgejo's own mirror
// (data.forgejo.org) on Forgejo, which has no tinyforge-check. So an example that may run on
// Forgejo (it names .forgejo/workflows/) uses this action by its full URL, and other actions by full URL
// or by a short name that mirror has. The Forgejo example lives in .forgejo/workflows and runs
// on a label Forgejo's runner documents, not ubuntu-latest.
func TestExamplesUsesResolve(t *testing.T) {
	root := testenv.ModuleRoot(t)
	paths, err := filepath.Glob(filepath.Join(root, "examples", "*.yml"))
	if err != nil {
		t.Fatal(err)
	}
	action := regexp.MustCompile(`^(https://github\.com/)?tinyforge/tinyforge-check(/host)?@v[0-9]+$`)
	forgejoExamples := 0
	for _, p := range paths {
		if filepath.Base(p) == "gitlab-ci.yml" {
			continue
		}
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		forgejo := strings.Contains(string(data), ".forgejo/workflows/")
		var wf struct {
			Jobs map[string]struct {
				RunsOn any `yaml:"runs-on"`
				Steps  []struct {
					Uses string `yaml:"uses"`
				} `yaml:"steps"`
			} `yaml:"jobs"`
		}
		if err := yaml.Unmarshal(data, &wf); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		for name, job := range wf.Jobs {
			for _, st := range job.Steps {
				u := st.Uses
				switch {
				case u == "":
				case strings.Contains(u, "tinyforge-check") && !action.MatchString(u):
					t.Errorf("%s: job %s uses %q, not tinyforge/tinyforge-check[/host]@vN", p, name, u)
				case forgejo && strings.Contains(u, "tinyforge-check") && !strings.HasPrefix(u, "https://github.com/"):
					t.Errorf("%s: job %s uses %q, which a default Forgejo looks up at data.forgejo.org: give the full URL https://github.com/%s", p, name, u, u)
				case forgejo && !strings.HasPrefix(u, "https://") && !slices.Contains(forgejoMirrored, strings.Split(u, "@")[0]):
					t.Errorf("%s: job %s uses %q, which Forgejo's default mirror may not have: give a full URL", p, name, u)
				}
			}
			if strings.HasPrefix(filepath.Base(p), "forgejo") && job.RunsOn == "ubuntu-latest" {
				t.Errorf("%s: job %s runs on ubuntu-latest, a label Forgejo's runner does not register by default", p, name)
			}
		}
		if strings.HasPrefix(filepath.Base(p), "forgejo") {
			forgejoExamples++
			if !strings.HasPrefix(string(data), "# .forgejo/workflows/") {
				t.Errorf("%s does not say it goes in .forgejo/workflows/", p)
			}
		}
	}
	if forgejoExamples == 0 {
		t.Error("no Forgejo example (examples/forgejo-*.yml)")
	}
}

// TestGiteaExamplesPermissions: the Gitea examples declare exactly the least permissions: the
// check needs on Gitea 1.26 (docs/forges.md, "Gitea 1.26 permissions:"), and the Forgejo example
// none, since Forgejo ignores them.
func TestGiteaExamplesPermissions(t *testing.T) {
	root := testenv.ModuleRoot(t)
	for file, want := range map[string]map[string]string{
		"gitea-workflow.yml":    {"contents": "write", "pull-requests": "read"},
		"gitea-host-runner.yml": {"contents": "write", "pull-requests": "read"},
		"gitea-scheduled.yml":   {"contents": "read", "issues": "write"},
		"forgejo-workflow.yml":  nil,
	} {
		data, err := os.ReadFile(filepath.Join(root, "examples", file))
		if err != nil {
			t.Fatal(err)
		}
		var wf struct {
			Permissions map[string]string `yaml:"permissions"`
		}
		if err := yaml.Unmarshal(data, &wf); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if diff := cmp.Diff(want, wf.Permissions); diff != "" {
			t.Errorf("%s: permissions (-want +got):\n%s", file, diff)
		}
	}
}
