// Package host holds the composite action for runners without Docker (action.yml here) and its
// binary resolver (resolve.sh). These tests run resolve.sh as a runner would, against a release
// server on loopback, and keep the composite action's interface equal to ../action.yml's.
package host

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"

	"github.com/tinyforge/tinyforge-check/internal/testenv"
)

// metadata is the part of an action.yml that the tests compare.
type metadata struct {
	Inputs  map[string]input  `yaml:"inputs"`
	Outputs map[string]output `yaml:"outputs"`
	Runs    struct {
		Using string `yaml:"using"`
		Image string `yaml:"image"`
		Steps []struct {
			ID    string            `yaml:"id"`
			Uses  string            `yaml:"uses"`
			Shell string            `yaml:"shell"`
			Run   string            `yaml:"run"`
			Env   map[string]string `yaml:"env"`
		} `yaml:"steps"`
	} `yaml:"runs"`
}

type input struct {
	Description string  `yaml:"description"`
	Required    bool    `yaml:"required"`
	Default     *string `yaml:"default"`
}

type output struct {
	Description string `yaml:"description"`
	Value       string `yaml:"value"`
}

func readMetadata(t *testing.T, path string) metadata {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var md metadata
	if err := yaml.Unmarshal(data, &md); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return md
}

// hostOnlyInputs are the composite action's inputs that the docker action has no use for.
var hostOnlyInputs = []string{"download-url"}

// TestInterfaceEqualsDockerAction: a workflow can switch between tinyforge-check@v1 and
// tinyforge-check/host@v1 without touching its with: or its use of outputs.
func TestInterfaceEqualsDockerAction(t *testing.T) {
	t.Parallel()
	docker := readMetadata(t, filepath.Join(testenv.ModuleRoot(t), "action.yml"))
	host := readMetadata(t, "action.yml")
	if host.Runs.Using != "composite" {
		t.Fatalf("host/action.yml runs.using = %q, want composite", host.Runs.Using)
	}

	hostInputs := map[string]input{}
	for name, in := range host.Inputs {
		hostInputs[name] = in
	}
	for _, name := range hostOnlyInputs {
		in, ok := hostInputs[name]
		if !ok || in.Description == "" || in.Default == nil {
			t.Errorf("host-only input %s is missing, or lacks a description or a default", name)
		}
		delete(hostInputs, name)
	}
	if diff := cmp.Diff(docker.Inputs, hostInputs); diff != "" {
		t.Errorf("inputs of action.yml and host/action.yml differ (-docker +host):\n%s", diff)
	}

	if len(docker.Outputs) != len(host.Outputs) {
		t.Errorf("action.yml has %d outputs, host/action.yml %d", len(docker.Outputs), len(host.Outputs))
	}
	for name, want := range docker.Outputs {
		got, ok := host.Outputs[name]
		switch {
		case !ok:
			t.Errorf("host/action.yml lacks output %s", name)
		case got.Description != want.Description:
			t.Errorf("output %s: description %q, action.yml says %q", name, got.Description, want.Description)
		case got.Value != "${{ steps.check.outputs."+name+" }}":
			t.Errorf("output %s: value %q, want it passed through from the check step", name, got.Value)
		}
	}

	// The check step gets exactly the INPUT_* variables the docker action would: each input,
	// upper case, hyphens kept.
	var check map[string]string
	for _, st := range host.Runs.Steps {
		if st.Uses != "" {
			t.Errorf("step %s uses %s: the composite action must call no other action (runners without internet cannot fetch one)", st.ID, st.Uses)
		}
		if st.ID == "check" {
			check = st.Env
		}
	}
	if check == nil {
		t.Fatal("host/action.yml has no step with id check")
	}
	for name := range docker.Inputs {
		key := "INPUT_" + strings.ToUpper(name)
		if got, want := check[key], "${{ inputs."+name+" }}"; got != want {
			t.Errorf("check step env %s = %q, want %q", key, got, want)
		}
		delete(check, key)
	}
	for key := range check {
		if strings.HasPrefix(key, "INPUT_") {
			t.Errorf("check step sets %s, which is no input of action.yml", key)
		}
	}
}

// release is one fake release of version on a loopback server, and an action tree whose
// host/release.sha256 commits to it.
type release struct {
	version  string
	bin      []byte // the real binary for this machine, stamped with version
	served   []byte // what the server answers for this machine's file (bin unless tampered); set once, before the server starts
	action   string // the action's root; host/ holds action.yml, resolve.sh and release.sha256
	server   *httptest.Server
	requests atomic.Int32
}

// buildBinary builds tinyforge-check for this machine, stamped with version as GoReleaser does.
func buildBinary(t *testing.T, version string) []byte {
	t.Helper()
	out := filepath.Join(t.TempDir(), "tinyforge-check")
	if err := testenv.BuildStamped(testenv.ModuleRoot(t), "tinyforge-check", version, out); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// fileName is the release file name of the binary for goos/goarch.
func fileName(version, goos, goarch string) string {
	return fmt.Sprintf("tinyforge-check_%s_%s_%s", version, goos, goarch)
}

// newRelease serves bin as this machine's file of version (or served instead, when it is not
// nil: a tampered release), and lays out an action tree whose committed sums are the true ones
// for this machine (and made-up ones for the others).
func newRelease(t *testing.T, version string, bin, served []byte) *release {
	t.Helper()
	if served == nil {
		served = bin
	}
	r := &release{version: version, bin: bin, served: served, action: t.TempDir()}
	mine := fileName(version, runtime.GOOS, runtime.GOARCH)
	r.server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.requests.Add(1)
		if req.Method != http.MethodGet || req.URL.Path != "/v"+version+"/"+mine {
			http.NotFound(w, req)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Write(r.served)
	}))
	t.Cleanup(r.server.Close)

	hostDir := filepath.Join(r.action, "host")
	if err := os.MkdirAll(hostDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"action.yml", "resolve.sh"} {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(hostDir, f), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var sums strings.Builder
	for _, goos := range []string{"darwin", "linux"} {
		for _, goarch := range []string{"amd64", "arm64"} {
			s := sum([]byte(goos + goarch))
			if goos == runtime.GOOS && goarch == runtime.GOARCH {
				s = sum(bin)
			}
			fmt.Fprintf(&sums, "%s  %s\n", s, fileName(version, goos, goarch))
		}
	}
	if err := os.WriteFile(filepath.Join(hostDir, "release.sha256"), []byte(sums.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return r
}

// runnerOS and runnerArch are RUNNER_OS and RUNNER_ARCH for this machine, as a runner sets them.
func runnerPlatform(t *testing.T) (string, string) {
	t.Helper()
	os, arch := map[string]string{"linux": "Linux", "darwin": "macOS"}[runtime.GOOS], map[string]string{"amd64": "X64", "arm64": "ARM64"}[runtime.GOARCH]
	if os == "" || arch == "" {
		t.Skipf("the composite action supports Linux and macOS on amd64 and arm64, not %s/%s", runtime.GOOS, runtime.GOARCH)
	}
	return os, arch
}

// pathWithout returns a PATH of one folder holding links to the tools resolve.sh may use, and
// no go (a runner without a compiler), nor any tool named in missing.
func pathWithout(t *testing.T, missing ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, tool := range []string{"bash", "curl", "sha256sum", "cut", "mkdir", "mktemp", "chmod", "mv", "cp", "rm", "touch", "uname", "dirname", "cat"} {
		if slices.Contains(missing, tool) {
			continue
		}
		p, err := exec.LookPath(tool)
		if err != nil {
			t.Skipf("%s is not on PATH: %v", tool, err)
		}
		if err := os.Symlink(p, filepath.Join(dir, tool)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// unwritableDir returns a folder that this process cannot create anything in. Tests often run as
// root, which chmod does not stop, so for root it is a folder of sysfs (read-only to every user).
func unwritableDir(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		dir := t.TempDir()
		if err := os.Chmod(dir, 0o555); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod(dir, 0o755) })
		return dir
	}
	const dir = "/sys/fs"
	probe := filepath.Join(dir, "tinyforge-check-probe")
	if err := os.Mkdir(probe, 0o755); err == nil {
		os.Remove(probe)
		t.Skipf("root can write %s here; no folder is unwritable to root on this machine", dir)
	}
	return dir
}

// goTripwire returns a folder with a `go` that records being called in the returned file.
func goTripwire(t *testing.T) (dir, calls string) {
	t.Helper()
	dir = t.TempDir()
	calls = filepath.Join(t.TempDir(), "go-was-called")
	script := "#!/bin/sh\necho \"$@\" >> '" + calls + "'\nexit 1\n"
	if err := os.WriteFile(filepath.Join(dir, "go"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir, calls
}

// step is one run of resolve.sh.
type step struct {
	code    int
	stdout  string
	outputs map[string]string
}

// resolve runs host/resolve.sh of the action tree as the composite step does, with only the
// variables in env (and a fresh GITHUB_OUTPUT).
func resolve(t *testing.T, actionRoot string, env map[string]string) step {
	t.Helper()
	outFile := filepath.Join(t.TempDir(), "github_output")
	cmd := exec.Command("bash", filepath.Join(actionRoot, "host", "resolve.sh"))
	cmd.Env = []string{"GITHUB_ACTION_PATH=" + filepath.Join(actionRoot, "host"), "GITHUB_OUTPUT=" + outFile, "RUNNER_TEMP=" + t.TempDir(), "HOME=" + t.TempDir()}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	st := step{stdout: string(out), outputs: map[string]string{}}
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("run resolve.sh: %v", err)
		}
		st.code = ee.ExitCode()
	}
	data, _ := os.ReadFile(outFile)
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			st.outputs[k] = v
		}
	}
	return st
}

// versionOf runs bin version and returns what it printed.
func versionOf(t *testing.T, bin string) string {
	t.Helper()
	out, err := exec.Command(bin, "version").CombinedOutput()
	if err != nil {
		t.Fatalf("%s version: %v\n%s", bin, err, out)
	}
	return strings.TrimSpace(string(out))
}

func TestResolveRelease(t *testing.T) {
	runnerOS, runnerArch := runnerPlatform(t)
	const version = "1.2.3"
	bin := buildBinary(t, version)
	safePath := pathWithout(t)
	tripwire, goCalls := goTripwire(t)

	env := func(r *release, cache string, path string) map[string]string {
		return map[string]string{
			"PATH": path, "RUNNER_OS": runnerOS, "RUNNER_ARCH": runnerArch, "RUNNER_TOOL_CACHE": cache,
			"TINYFORGE_DOWNLOAD_URL": r.server.URL,
		}
	}
	cacheArch := map[string]string{"amd64": "x64", "arm64": "arm64"}[runtime.GOARCH]

	t.Run("good sums: downloaded, verified, cached and run; go never called", func(t *testing.T) {
		r := newRelease(t, version, bin, nil)
		cache := t.TempDir()
		st := resolve(t, r.action, env(r, cache, tripwire+":"+safePath))
		if st.code != 0 {
			t.Fatalf("exit %d:\n%s", st.code, st.stdout)
		}
		cached := filepath.Join(cache, "tinyforge-check", version, cacheArch, "tinyforge-check")
		if st.outputs["source"] != "download" || filepath.Base(st.outputs["path"]) != "tinyforge-check" || strings.HasPrefix(st.outputs["path"], cache) {
			t.Errorf("outputs %v: want a downloaded copy outside the shared tool cache", st.outputs)
		}
		if got := versionOf(t, st.outputs["path"]); !strings.HasPrefix(got, "tinyforge-check "+version+" (") {
			t.Errorf("the resolved binary says %q, want version %s", got, version)
		}
		if b, err := os.ReadFile(cached); err != nil || sum(b) != sum(bin) {
			t.Errorf("the tool cache does not hold the verified binary at %s: %v", cached, err)
		}
		if _, err := os.Stat(filepath.Join(cache, "tinyforge-check", version, cacheArch+".complete")); err != nil {
			t.Errorf("no tool-cache completion marker: %v", err)
		}
		if r.requests.Load() != 1 {
			t.Errorf("%d requests to the release server, want 1", r.requests.Load())
		}
		if b, err := os.ReadFile(goCalls); err == nil {
			t.Errorf("go was called on a release: %s", b)
		}

		// The second run on the same runner finds it in the tool cache: nothing is downloaded.
		first := st.outputs["path"]
		st = resolve(t, r.action, env(r, cache, safePath))
		if st.code != 0 || st.outputs["source"] != "cache" || st.outputs["path"] == first || strings.HasPrefix(st.outputs["path"], cache) {
			t.Errorf("rerun: exit %d, outputs %v, want a fresh private copy of the cached binary:\n%s", st.code, st.outputs, st.stdout)
		}
		if got := versionOf(t, st.outputs["path"]); !strings.Contains(got, version) {
			t.Errorf("the copy of the cached binary says %q", got)
		}
		if r.requests.Load() != 1 {
			t.Errorf("the rerun made %d more request(s), want none", r.requests.Load()-1)
		}
	})

	t.Run("tampered binary: the step fails and the file never runs", func(t *testing.T) {
		ran := filepath.Join(t.TempDir(), "tampered-binary-ran")
		r := newRelease(t, version, bin, []byte("#!/bin/sh\ntouch '"+ran+"'\n"))
		cache := t.TempDir()
		st := resolve(t, r.action, env(r, cache, safePath))
		if st.code == 0 {
			t.Fatalf("exit 0 with a tampered download:\n%s", st.stdout)
		}
		if !strings.Contains(st.stdout, "::error title=tinyforge-check::checksum mismatch for "+r.server.URL) {
			t.Errorf("no checksum error annotation in:\n%s", st.stdout)
		}
		if len(st.outputs) != 0 {
			t.Errorf("outputs %v after a failed verification, want none", st.outputs)
		}
		if _, err := os.Stat(ran); err == nil {
			t.Error("the tampered binary ran")
		}
		leftovers, _ := filepath.Glob(filepath.Join(cache, "tinyforge-check", version, cacheArch, "*"))
		hidden, _ := filepath.Glob(filepath.Join(cache, "tinyforge-check", version, cacheArch, ".*"))
		if len(leftovers)+len(hidden) != 0 {
			t.Errorf("files left in the tool cache: %v %v", leftovers, hidden)
		}
	})

	t.Run("a poisoned cache entry is replaced, never run", func(t *testing.T) {
		r := newRelease(t, version, bin, nil)
		cache := t.TempDir()
		dir := filepath.Join(cache, "tinyforge-check", version, cacheArch)
		ran := filepath.Join(t.TempDir(), "poisoned-cache-ran")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "tinyforge-check"), []byte("#!/bin/sh\ntouch '"+ran+"'\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		st := resolve(t, r.action, env(r, cache, safePath))
		if st.code != 0 || st.outputs["source"] != "download" {
			t.Fatalf("exit %d, outputs %v, want a fresh download:\n%s", st.code, st.outputs, st.stdout)
		}
		if _, err := os.Stat(ran); err == nil {
			t.Error("the poisoned cache entry ran")
		}
		if got, _ := os.ReadFile(filepath.Join(dir, "tinyforge-check")); sum(got) != sum(bin) {
			t.Error("the cache entry was not replaced by the verified binary")
		}
	})

	t.Run("Gitea's runner spells the platform in lower case", func(t *testing.T) {
		r := newRelease(t, version, bin, nil)
		e := env(r, t.TempDir(), safePath)
		e["RUNNER_OS"], e["RUNNER_ARCH"] = runtime.GOOS, runtime.GOARCH // linux, amd64
		st := resolve(t, r.action, e)
		if st.code != 0 || st.outputs["source"] != "download" {
			t.Fatalf("RUNNER_OS=%s RUNNER_ARCH=%s: exit %d, outputs %v:\n%s", runtime.GOOS, runtime.GOARCH, st.code, st.outputs, st.stdout)
		}
	})

	t.Run("no tool cache: a private folder under RUNNER_TEMP", func(t *testing.T) {
		r := newRelease(t, version, bin, nil)
		st := resolve(t, r.action, env(r, "", safePath))
		if st.code != 0 || st.outputs["source"] != "download" {
			t.Fatalf("exit %d, outputs %v:\n%s", st.code, st.outputs, st.stdout)
		}
		if got := versionOf(t, st.outputs["path"]); !strings.Contains(got, version) {
			t.Errorf("version %q", got)
		}
	})

	t.Run("the tool cache cannot be written: a notice, and the verified download still runs", func(t *testing.T) {
		for _, tc := range []struct {
			name  string
			cache func(t *testing.T) string // RUNNER_TOOL_CACHE
		}{
			{"a regular file where the tool's folder goes", func(t *testing.T) string {
				cache := t.TempDir()
				if err := os.WriteFile(filepath.Join(cache, "tinyforge-check"), []byte("not a folder"), 0o644); err != nil {
					t.Fatal(err)
				}
				return cache
			}},
			{"a regular file where the arch folder goes", func(t *testing.T) string {
				cache := t.TempDir()
				dir := filepath.Join(cache, "tinyforge-check", version)
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, cacheArch), []byte("not a folder"), 0o644); err != nil {
					t.Fatal(err)
				}
				return cache
			}},
			{"a folder this user cannot write", unwritableDir},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := newRelease(t, version, bin, nil)
				st := resolve(t, r.action, env(r, tc.cache(t), safePath))
				if st.code != 0 || st.outputs["source"] != "download" {
					t.Fatalf("exit %d, outputs %v, want the verified download to run:\n%s", st.code, st.outputs, st.stdout)
				}
				if !strings.Contains(st.stdout, "::notice title=tinyforge-check::the tool cache ") || !strings.Contains(st.stdout, "cannot be written") {
					t.Errorf("no notice that the tool cache cannot be written:\n%s", st.stdout)
				}
				if strings.Contains(st.stdout, "::error") {
					t.Errorf("an error annotation for a best-effort cache:\n%s", st.stdout)
				}
				if got := versionOf(t, st.outputs["path"]); !strings.HasPrefix(got, "tinyforge-check "+version+" (") {
					t.Errorf("the resolved binary says %q", got)
				}
			})
		}
	})

	t.Run("download-url is printed escaped: it cannot start a workflow command", func(t *testing.T) {
		r := newRelease(t, version, bin, nil)
		e := env(r, t.TempDir(), safePath)
		e["TINYFORGE_DOWNLOAD_URL"] = r.server.URL + "/x\n::warning::injected\r\n::add-mask::y"
		st := resolve(t, r.action, e)
		if st.code == 0 {
			t.Errorf("exit 0 for a download-url with line breaks:\n%s", st.stdout)
		}
		for _, line := range strings.Split(st.stdout, "\n") {
			if strings.HasPrefix(line, "::warning::") || strings.HasPrefix(line, "::add-mask::") {
				t.Errorf("the download-url became a workflow command: %q\n%s", line, st.stdout)
			}
		}
		if !strings.Contains(st.stdout, "downloading "+r.server.URL+"/x%0A::warning::injected%0D%0A::add-mask::y/v1.2.3/") {
			t.Errorf("the download line does not show the escaped URL:\n%s", st.stdout)
		}
	})

	t.Run("a download-url that looks like an option is a URL to curl", func(t *testing.T) {
		// Read as an option, -KFILE would make curl read FILE as its config and fetch the URL it names.
		r := newRelease(t, version, bin, nil)
		base := t.TempDir()
		file := filepath.Join(base, "v"+version, fileName(version, runtime.GOOS, runtime.GOARCH))
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, []byte("url = \""+r.server.URL+"/config-was-read\"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		e := env(r, t.TempDir(), safePath)
		e["TINYFORGE_DOWNLOAD_URL"] = "-K" + base
		st := resolve(t, r.action, e)
		if st.code == 0 || r.requests.Load() != 0 {
			t.Errorf("exit %d, %d requests: curl took the download-url as an option:\n%s", st.code, r.requests.Load(), st.stdout)
		}
	})

	t.Run("an unreachable mirror fails and says how to fix it", func(t *testing.T) {
		r := newRelease(t, version, bin, nil)
		e := env(r, t.TempDir(), safePath)
		e["TINYFORGE_DOWNLOAD_URL"] = r.server.URL + "/nowhere%41"
		st := resolve(t, r.action, e)
		if st.code == 0 || !strings.Contains(st.stdout, "set the download-url input to a mirror") {
			t.Errorf("exit %d, want a failure that names download-url:\n%s", st.code, st.stdout)
		}
		// The URL is escaped in the annotation: a runner would otherwise decode %41 to A.
		if !strings.Contains(st.stdout, "/nowhere%2541/v1.2.3/") {
			t.Errorf("the annotation does not escape %% in the URL:\n%s", st.stdout)
		}
	})

	t.Run("Windows and unknown architectures are refused with a reason", func(t *testing.T) {
		r := newRelease(t, version, bin, nil)
		for _, tc := range []struct{ os, arch, want string }{
			{"Windows", runnerArch, "host runners on Windows are not supported"},
			{runnerOS, "ARM", "unsupported runner architecture 'ARM'"},
		} {
			e := env(r, t.TempDir(), safePath)
			e["RUNNER_OS"], e["RUNNER_ARCH"] = tc.os, tc.arch
			st := resolve(t, r.action, e)
			if st.code == 0 || !strings.Contains(st.stdout, tc.want) {
				t.Errorf("%s/%s: exit %d, want a failure saying %q:\n%s", tc.os, tc.arch, st.code, tc.want, st.stdout)
			}
		}
		if r.requests.Load() != 0 {
			t.Errorf("%d downloads for unsupported platforms", r.requests.Load())
		}
	})

	t.Run("no SHA-256 tool: refused before any download, with the reason", func(t *testing.T) {
		r := newRelease(t, version, bin, nil)
		cache := t.TempDir()
		dir := filepath.Join(cache, "tinyforge-check", version, cacheArch)
		os.MkdirAll(dir, 0o755)
		os.WriteFile(filepath.Join(dir, "tinyforge-check"), bin, 0o755)
		st := resolve(t, r.action, env(r, cache, pathWithout(t, "sha256sum")))
		if st.code == 0 || !strings.Contains(st.stdout, "neither sha256sum nor shasum is on PATH") || r.requests.Load() != 0 {
			t.Errorf("exit %d, %d requests:\n%s", st.code, r.requests.Load(), st.stdout)
		}
		if _, err := os.Stat(filepath.Join(dir, "tinyforge-check")); err != nil {
			t.Errorf("a good cached binary was deleted: %v", err)
		}
	})

	t.Run("malformed committed sums are refused before any download", func(t *testing.T) {
		r := newRelease(t, version, bin, nil)
		sums := filepath.Join(r.action, "host", "release.sha256")
		if err := os.WriteFile(sums, []byte("deadbeef  tinyforge-check_1.2.3_linux_amd64\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		st := resolve(t, r.action, env(r, t.TempDir(), safePath))
		if st.code == 0 || !strings.Contains(st.stdout, "malformed line") || r.requests.Load() != 0 {
			t.Errorf("exit %d, %d requests:\n%s", st.code, r.requests.Load(), st.stdout)
		}
	})
}

// TestResolveDevelopment: on a ref without committed sums the binary is built from the action's
// own source, with a notice, or the step fails and says what to do when Go is missing.
func TestResolveDevelopment(t *testing.T) {
	runnerOS, runnerArch := runnerPlatform(t)
	root := testenv.ModuleRoot(t)
	if _, err := os.Stat(filepath.Join(root, "host", "release.sha256")); err == nil {
		t.Skip("this tree is a release commit (host/release.sha256 exists); TestResolveRelease covers it")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go is not on PATH")
	}
	safePath := pathWithout(t)
	base := map[string]string{"RUNNER_OS": runnerOS, "RUNNER_ARCH": runnerArch,
		"GOCACHE": os.Getenv("GOCACHE"), "GOMODCACHE": os.Getenv("GOMODCACHE"), "GOFLAGS": "-mod=mod"}
	if base["GOCACHE"] == "" {
		base["GOCACHE"] = goEnv(t, "GOCACHE")
	}
	if base["GOMODCACHE"] == "" {
		base["GOMODCACHE"] = goEnv(t, "GOMODCACHE")
	}

	t.Run("go on PATH: built from source, and said so", func(t *testing.T) {
		env := map[string]string{"PATH": filepath.Dir(goBin) + ":" + safePath}
		for k, v := range base {
			env[k] = v
		}
		st := resolve(t, root, env)
		if st.code != 0 || st.outputs["source"] != "build" {
			t.Fatalf("exit %d, outputs %v:\n%s", st.code, st.outputs, st.stdout)
		}
		if !strings.Contains(st.stdout, "::notice title=tinyforge-check::this ref of tinyforge-check is not a release") {
			t.Errorf("no notice that it was built from source:\n%s", st.stdout)
		}
		if got := versionOf(t, st.outputs["path"]); !strings.HasPrefix(got, "tinyforge-check devel") {
			t.Errorf("version %q, want devel", got)
		}
	})

	t.Run("no go: fails and says what to do", func(t *testing.T) {
		env := map[string]string{"PATH": safePath}
		for k, v := range base {
			env[k] = v
		}
		st := resolve(t, root, env)
		if st.code == 0 || len(st.outputs) != 0 {
			t.Fatalf("exit %d, outputs %v, want a failure", st.code, st.outputs)
		}
		for _, want := range []string{"Go is not on PATH", "uses: tinyforge/tinyforge-check/host@v1"} {
			if !strings.Contains(st.stdout, want) {
				t.Errorf("the error does not say %q:\n%s", want, st.stdout)
			}
		}
	})
}

func goEnv(t *testing.T, key string) string {
	t.Helper()
	out, err := exec.Command("go", "env", key).Output()
	if err != nil {
		t.Fatalf("go env %s: %v", key, err)
	}
	return strings.TrimSpace(string(out))
}
