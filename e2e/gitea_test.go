package e2e

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tinyforge/tinyforge-check/internal/testenv"
)

// gitea is a real Gitea process on 127.0.0.1 with an SQLite database in a temp folder.
type gitea struct {
	url      string // http://127.0.0.1:PORT, no trailing slash
	dir      string
	cmd      *exec.Cmd
	log      *os.File
	admin    string // the site admin's login and password (basic auth)
	password string
	seq      atomic.Int64 // for unique names
}

const giteaAdmin, giteaPassword = "e2e-admin", "e2e-Passw0rd-not-secret"

// startGitea configures, migrates and starts Gitea in dir, with one site admin. Templates,
// options and public assets come from the module directory scripts/tools.sh recorded.
func startGitea(bin, dir string) (*gitea, error) {
	moduleDir, err := os.ReadFile(filepath.Join(filepath.Dir(filepath.Dir(bin)), "gitea-v1.26.0.moduledir"))
	if err != nil {
		return nil, fmt.Errorf("the gitea module directory is unknown (run bash scripts/tools.sh gitea): %w", err)
	}
	port, err := testenv.FreeLoopbackPort()
	if err != nil {
		return nil, err
	}
	for _, d := range []string{"custom/conf", "data", "home", "log"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return nil, err
		}
	}
	for _, d := range []string{"options", "templates", "public"} {
		if err := os.Symlink(filepath.Join(strings.TrimSpace(string(moduleDir)), d), filepath.Join(dir, d)); err != nil {
			return nil, err
		}
	}
	url := "http://127.0.0.1:" + strconv.Itoa(port)
	ini := fmt.Sprintf(`I_AM_BEING_UNSAFE_RUNNING_AS_ROOT = true
APP_NAME = tinyforge-check e2e
RUN_MODE = prod
WORK_PATH = %[1]s

[server]
PROTOCOL = http
HTTP_ADDR = 127.0.0.1
HTTP_PORT = %[2]d
ROOT_URL = %[3]s/
DOMAIN = 127.0.0.1
DISABLE_SSH = true
OFFLINE_MODE = true
LFS_START_SERVER = false

[database]
DB_TYPE = sqlite3
PATH = %[1]s/data/gitea.db
SQLITE_JOURNAL_MODE = WAL

[security]
INSTALL_LOCK = true
SECRET_KEY = e2e-secret-key-not-for-production-0123456789
; Every fixture call authenticates with a password: cheap hashing (pbkdf2_hi costs 320,000
; rounds a call) takes a quarter off the e2e suite and changes nothing the tests look at.
PASSWORD_HASH_ALGO = pbkdf2$1000$50
MIN_PASSWORD_LENGTH = 8
PASSWORD_COMPLEXITY = off

[service]
DISABLE_REGISTRATION = true

[actions]
ENABLED = true

[repository]
ROOT = %[1]s/data/repos
DEFAULT_BRANCH = main

[indexer]
REPO_INDEXER_ENABLED = false

[cron]
ENABLED = false

[mailer]
ENABLED = false

[session]
PROVIDER = memory

[oauth2]
ENABLED = false

[log]
MODE = console
LEVEL = Warn

[webhook]
ALLOWED_HOST_LIST = loopback
`, dir, port, url)
	conf := filepath.Join(dir, "custom", "conf", "app.ini")
	if err := os.WriteFile(conf, []byte(ini), 0o600); err != nil {
		return nil, err
	}
	env := append(os.Environ(), "GITEA_WORK_DIR="+dir, "HOME="+filepath.Join(dir, "home"), "GITEA_CUSTOM="+filepath.Join(dir, "custom"))
	run := func(args ...string) error {
		c := exec.Command(bin, append([]string{"--config", conf}, args...)...)
		c.Dir, c.Env = dir, env
		if out, err := c.CombinedOutput(); err != nil {
			return fmt.Errorf("gitea %s: %v\n%s", args[0], err, out)
		}
		return nil
	}
	if err := run("migrate"); err != nil {
		return nil, err
	}
	if err := run("admin", "user", "create", "--username", giteaAdmin, "--password", giteaPassword,
		"--email", giteaAdmin+"@example.com", "--admin", "--must-change-password=false"); err != nil {
		return nil, err
	}
	logFile, err := os.Create(filepath.Join(dir, "log", "web.log"))
	if err != nil {
		return nil, err
	}
	g := &gitea{url: url, dir: dir, log: logFile, admin: giteaAdmin, password: giteaPassword}
	g.cmd = exec.Command(bin, "--config", conf, "web")
	g.cmd.Dir, g.cmd.Env = dir, env
	g.cmd.Stdout, g.cmd.Stderr = logFile, logFile
	g.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := g.cmd.Start(); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(90 * time.Second)
	for {
		resp, err := http.Get(url + "/api/v1/version")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return g, nil
			}
		}
		if time.Now().After(deadline) {
			g.stop()
			log, _ := os.ReadFile(logFile.Name())
			return nil, fmt.Errorf("gitea did not answer on %s within 90 s:\n%s", url, log)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// stop ends Gitea by its PID (its process group), politely first.
func (g *gitea) stop() {
	if g.cmd == nil || g.cmd.Process == nil {
		return
	}
	pid := g.cmd.Process.Pid
	syscall.Kill(-pid, syscall.SIGTERM)
	done := make(chan struct{})
	go func() { g.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		syscall.Kill(-pid, syscall.SIGKILL)
		<-done
	}
	g.log.Close()
}

// unique returns prefix with a number no other call returned.
func (g *gitea) unique(prefix string) string {
	return prefix + strconv.FormatInt(g.seq.Add(1), 10)
}

// auth is how a request authenticates: a token, or basic auth with a login and password.
type auth struct{ token, user, password string }

func tokenAuth(tok string) auth { return auth{token: tok} }

// call sends one API request and returns the status and body. body is JSON-encoded unless it
// is nil.
func (g *gitea) call(t *testing.T, a auth, method, path string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, g.url+"/api/v1"+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	switch {
	case a.token != "":
		req.Header.Set("Authorization", "token "+a.token)
	case a.user != "":
		req.SetBasicAuth(a.user, a.password)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// must sends a request that must answer want, and decodes the answer into out (if not nil).
func (g *gitea) must(t *testing.T, a auth, method, path string, body any, want int, out any) {
	t.Helper()
	code, b := g.call(t, a, method, path, body)
	if code != want {
		t.Fatalf("%s %s = %d, want %d: %s", method, path, code, want, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: decode %s: %v", method, path, b, err)
		}
	}
}

func (g *gitea) adminAuth() auth { return auth{user: g.admin, password: g.password} }

// user creates a user and returns its basic auth.
func (g *gitea) user(t *testing.T, prefix string) auth {
	t.Helper()
	login := g.unique(prefix)
	a := auth{user: login, password: "pw-" + login + "-e2e"}
	g.must(t, g.adminAuth(), "POST", "/admin/users", map[string]any{
		"username": login, "email": login + "@example.com", "password": a.password, "must_change_password": false,
	}, http.StatusCreated, nil)
	return a
}

// token creates a personal access token of u with exactly these scopes.
func (g *gitea) token(t *testing.T, u auth, scopes ...string) string {
	t.Helper()
	var out struct {
		SHA1 string `json:"sha1"`
	}
	g.must(t, u, "POST", "/users/"+u.user+"/tokens", map[string]any{"name": g.unique("tok"), "scopes": scopes}, http.StatusCreated, &out)
	if out.SHA1 == "" {
		t.Fatal("token creation returned no token")
	}
	return out.SHA1
}

// repo creates a repository of owner with a first commit on main, and returns its name.
func (g *gitea) repo(t *testing.T, owner auth, private bool) string {
	t.Helper()
	name := g.unique("app")
	g.must(t, owner, "POST", "/user/repos", map[string]any{
		"name": name, "auto_init": true, "default_branch": "main", "private": private, "readme": "Default",
	}, http.StatusCreated, nil)
	return name
}

// collaborator gives login permission ("read" or "write") on owner/repo.
func (g *gitea) collaborator(t *testing.T, owner auth, repo, login, permission string) {
	t.Helper()
	g.must(t, owner, "PUT", "/repos/"+owner.user+"/"+repo+"/collaborators/"+login, map[string]any{"permission": permission}, http.StatusNoContent, nil)
}

// putFile creates or replaces path on branch (creating branch from main when it does not
// exist) and returns the new commit's SHA.
func (g *gitea) putFile(t *testing.T, owner auth, repo, branch, path, content string) string {
	t.Helper()
	base := "/repos/" + owner.user + "/" + repo
	body := map[string]any{"content": base64.StdEncoding.EncodeToString([]byte(content)), "message": "set " + path}
	from := branch
	if code, _ := g.call(t, owner, "GET", base+"/branches/"+branch, nil); code == http.StatusNotFound {
		body["branch"], body["new_branch"], from = "main", branch, "main"
	} else {
		body["branch"] = branch
	}
	method, want := "POST", http.StatusCreated
	var existing struct {
		SHA string `json:"sha"`
	}
	if code, b := g.call(t, owner, "GET", base+"/contents/"+path+"?ref="+from, nil); code == http.StatusOK {
		if err := json.Unmarshal(b, &existing); err != nil {
			t.Fatal(err)
		}
		body["sha"] = existing.SHA
		method, want = "PUT", http.StatusOK
	}
	var out struct {
		Commit struct {
			SHA string `json:"sha"`
		} `json:"commit"`
	}
	g.must(t, owner, method, base+"/contents/"+path, body, want, &out)
	return out.Commit.SHA
}

// pullRequest opens a PR of head into main and returns Gitea's JSON of it.
func (g *gitea) pullRequest(t *testing.T, owner auth, repo, head string) map[string]any {
	t.Helper()
	var pr map[string]any
	g.must(t, owner, "POST", "/repos/"+owner.user+"/"+repo+"/pulls", map[string]any{"head": head, "base": "main", "title": "change " + head}, http.StatusCreated, &pr)
	return pr
}

// giteaStatus is one commit status as Gitea answers it.
type giteaStatus struct {
	State       string          `json:"status"`
	Context     string          `json:"context"`
	Description string          `json:"description"`
	TargetURL   string          `json:"target_url"`
	Creator     json.RawMessage `json:"creator"`
}

// statuses lists the statuses on sha in the order they were created. Gitea's default order is
// newest first by creation time in whole seconds, so statuses set within one second keep no
// order; sort=highestindex is "index ASC" in Gitea 1.26 (the names are inverted), the creation
// order.
func (g *gitea) statuses(t *testing.T, a auth, owner, repo, sha string) []giteaStatus {
	t.Helper()
	var out []giteaStatus
	g.must(t, a, "GET", "/repos/"+owner+"/"+repo+"/statuses/"+sha+"?sort=highestindex", nil, http.StatusOK, &out)
	return out
}

// giteaComment is one issue comment as Gitea answers it.
type giteaComment struct {
	ID      int64  `json:"id"`
	Body    string `json:"body"`
	HTMLURL string `json:"html_url"`
	User    struct {
		Login string `json:"login"`
	} `json:"user"`
}

func (g *gitea) comments(t *testing.T, a auth, owner, repo string, number int) []giteaComment {
	t.Helper()
	var out []giteaComment
	g.must(t, a, "GET", fmt.Sprintf("/repos/%s/%s/issues/%d/comments", owner, repo, number), nil, http.StatusOK, &out)
	return out
}

var errNoNumber = errors.New("no number")

// prNumber reads the number of a PR as Gitea answered it.
func prNumber(t *testing.T, pr map[string]any) int {
	t.Helper()
	n, ok := pr["number"].(float64)
	if !ok {
		t.Fatal(errNoNumber)
	}
	return int(n)
}

// headSHA reads pull_request.head.sha.
func headSHA(t *testing.T, pr map[string]any) string {
	t.Helper()
	head, _ := pr["head"].(map[string]any)
	sha, _ := head["sha"].(string)
	if len(sha) != 40 {
		t.Fatalf("PR has no head sha: %v", pr["head"])
	}
	return sha
}
