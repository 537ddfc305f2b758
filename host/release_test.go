package host

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tinyforge/tinyforge-check/internal/testenv"
)

// copyTree copies the files a release commit touches (and resolve.sh needs) from the repo into
// a fresh folder, and returns it.
func copyTree(t *testing.T) string {
	t.Helper()
	root, dst := testenv.ModuleRoot(t), t.TempDir()
	for _, f := range []string{"action.yml", "host/action.yml", "host/resolve.sh", "scripts/pin-release.sh"} {
		data, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dst, f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, f), data, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.Remove(filepath.Join(dst, "host", "release.sha256"))
	return dst
}

// pin runs scripts/pin-release.sh in tree and returns its exit code and output.
func pin(t *testing.T, tree string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command("bash", append([]string{filepath.Join(tree, "scripts", "pin-release.sh")}, args...)...)
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), string(out)
	} else if err != nil {
		t.Fatal(err)
	}
	return 0, string(out)
}

// testDigest is a made-up image digest, as scripts/release-image.sh prints it.
const testDigest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestPinRelease(t *testing.T) {
	t.Parallel()
	const version = "1.4.0"
	const image = "127.0.0.1:5000/tinyforge-check@" + testDigest
	const pinned = "docker://ghcr.io/tinyforge/tinyforge-check:v" + version + "@" + testDigest
	var checksums strings.Builder
	var wantSums []string
	for _, name := range []string{"darwin_amd64", "darwin_arm64", "linux_amd64", "linux_arm64", "windows_amd64.exe"} {
		s := sum([]byte(name))
		checksums.WriteString(s + "  tinyforge-check_" + version + "_" + name + "\n")
		checksums.WriteString(sum([]byte(name+"tgz")) + "  tinyforge-check_" + version + "_" + name + ".tar.gz\n")
		if !strings.HasPrefix(name, "windows") {
			wantSums = append(wantSums, s+"  tinyforge-check_"+version+"_"+name)
		}
	}

	t.Run("pins the image and commits the sums of the host binaries", func(t *testing.T) {
		tree := copyTree(t)
		cs := filepath.Join(t.TempDir(), "checksums.txt")
		os.WriteFile(cs, []byte(checksums.String()), 0o644)
		before, _ := os.ReadFile(filepath.Join(tree, "action.yml"))
		if code, out := pin(t, tree, "v"+version, cs, image); code != 0 {
			t.Fatalf("exit %d: %s", code, out)
		}
		got, _ := os.ReadFile(filepath.Join(tree, "host", "release.sha256"))
		if diff := cmp.Diff(wantSums, strings.Split(strings.TrimSpace(string(got)), "\n")); diff != "" {
			t.Errorf("host/release.sha256 (-want +got):\n%s", diff)
		}
		after, _ := os.ReadFile(filepath.Join(tree, "action.yml"))
		wantAfter := strings.Replace(string(before), "  image: Dockerfile\n", "  image: "+pinned+"\n", 1)
		if diff := cmp.Diff(wantAfter, string(after)); diff != "" {
			t.Errorf("action.yml after pinning (-want +got):\n%s", diff)
		}
		md := readMetadata(t, filepath.Join(tree, "action.yml"))
		if md.Runs.Using != "docker" || md.Runs.Image != pinned {
			t.Errorf("runs = %+v", md.Runs)
		}
	})

	t.Run("--check: the committed sums and image digest must equal a rebuild's", func(t *testing.T) {
		tree := copyTree(t)
		cs := filepath.Join(t.TempDir(), "checksums.txt")
		os.WriteFile(cs, []byte(checksums.String()), 0o644)
		if code, out := pin(t, tree, version, cs, image); code != 0 {
			t.Fatalf("pin: exit %d: %s", code, out)
		}
		if code, out := pin(t, tree, "--check", version, cs, "ghcr.io/tinyforge/tinyforge-check@"+testDigest); code != 0 {
			t.Errorf("--check against the same sums and digest: exit %d: %s", code, out)
		}
		otherImage := strings.Replace(image, "0123", "3210", 1)
		if code, out := pin(t, tree, "--check", version, cs, otherImage); code != 1 || !strings.Contains(out, "the image digest does not match") {
			t.Errorf("--check against another image digest: exit %d %q, want 1 and a message", code, out)
		}
		other := strings.Replace(checksums.String(), wantSums[2][:64], strings.Repeat("0", 64), 1)
		os.WriteFile(cs, []byte(other), 0o644)
		before, _ := os.ReadFile(filepath.Join(tree, "host", "release.sha256"))
		if code, out := pin(t, tree, "--check", version, cs, image); code != 1 || !strings.Contains(out, "did not reproduce") {
			t.Errorf("--check against other sums: exit %d %q, want 1 and a message", code, out)
		}
		if after, _ := os.ReadFile(filepath.Join(tree, "host", "release.sha256")); string(after) != string(before) {
			t.Error("--check changed host/release.sha256")
		}
	})

	t.Run("refuses a bad version or sums of another release, changing nothing", func(t *testing.T) {
		tree := copyTree(t)
		cs := filepath.Join(t.TempDir(), "checksums.txt")
		os.WriteFile(cs, []byte(checksums.String()), 0o644)
		before, _ := os.ReadFile(filepath.Join(tree, "action.yml"))
		for _, tc := range []struct {
			args []string
			code int
			want string
		}{
			{[]string{"main", cs, image}, 2, "is not a version"},
			{[]string{"1.4.1", cs, image}, 1, "has no SHA-256 for tinyforge-check_1.4.1_darwin_amd64"},
			{[]string{"1.4.0", cs + ".missing", image}, 1, "no checksums file"},
			{[]string{"1.4.0", cs, "ghcr.io/tinyforge/tinyforge-check:v1.4.0"}, 2, "is not a reference by digest"},
			{[]string{"1.4.0", cs}, 2, "usage:"},
		} {
			code, out := pin(t, tree, tc.args...)
			if code != tc.code || !strings.Contains(out, tc.want) {
				t.Errorf("pin %q: exit %d %q, want %d and %q", tc.args, code, out, tc.code, tc.want)
			}
		}
		after, _ := os.ReadFile(filepath.Join(tree, "action.yml"))
		if string(after) != string(before) {
			t.Error("a refused pin changed action.yml")
		}
		if _, err := os.Stat(filepath.Join(tree, "host", "release.sha256")); err == nil {
			t.Error("a refused pin wrote host/release.sha256")
		}
	})
}

// artifact is one entry of GoReleaser's dist/artifacts.json.
type artifact struct {
	Name, Path, Type, Goos, Goarch string
}

// snapshotDist returns the absolute path of the GoReleaser snapshot in TINYFORGE_DIST, which
// .ci/run builds and sets; unset, the test skips (fails under CI=true).
func snapshotDist(t *testing.T) string {
	t.Helper()
	dist := os.Getenv("TINYFORGE_DIST")
	if dist == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true but TINYFORGE_DIST is not set: .ci/run builds a GoReleaser snapshot into dist/ and sets it")
		}
		t.Skip("set TINYFORGE_DIST to a GoReleaser snapshot (PATH=$TINYFORGE_TOOLS_BIN:$PATH goreleaser release --snapshot --clean; TINYFORGE_DIST=$PWD/dist); .ci/run does")
	}
	if !filepath.IsAbs(dist) {
		dist = filepath.Join(testenv.ModuleRoot(t), dist)
	}
	return dist
}

// TestGoReleaserSnapshot checks a real GoReleaser snapshot build (run by .ci/run, which sets
// TINYFORGE_DIST=dist): the checksums verify, both binaries print one version, and the
// composite action's release path, pinned to that snapshot by scripts/pin-release.sh, gets its
// binary from a release server on loopback, verifies it and runs it without a compiler.
func TestGoReleaserSnapshot(t *testing.T) {
	dist := snapshotDist(t)
	runnerOS, runnerArch := runnerPlatform(t)

	var meta struct{ Version string }
	readJSON(t, filepath.Join(dist, "metadata.json"), &meta)
	var artifacts []artifact
	readJSON(t, filepath.Join(dist, "artifacts.json"), &artifacts)
	byName := map[string]string{}
	for _, a := range artifacts {
		p := a.Path
		if !filepath.IsAbs(p) {
			p = filepath.Join(filepath.Dir(dist), p)
		}
		byName[a.Name] = p
	}

	// Every file in checksums.txt exists among the artifacts and has that SHA-256.
	checksums := filepath.Join(dist, "checksums.txt")
	data, err := os.ReadFile(checksums)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) < 10 {
		t.Fatalf("checksums.txt has %d lines, want archives and bare binaries for 5 platforms", len(lines))
	}
	for _, line := range lines {
		want, name, ok := strings.Cut(line, "  ")
		if !ok {
			t.Fatalf("malformed checksums line %q", line)
		}
		b, err := os.ReadFile(byName[name])
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if got := sum(b); got != want {
			t.Errorf("%s: sha256 %s, checksums.txt says %s", name, got, want)
		}
	}

	// Both binaries of this platform print one and the same version: the snapshot's.
	for _, tool := range []string{"tinyforge-check", "tinyforge-server"} {
		var bin string
		for _, a := range artifacts {
			if a.Type == "Binary" && a.Name == tool && a.Goos == runtime.GOOS && a.Goarch == runtime.GOARCH {
				bin = filepath.Join(filepath.Dir(dist), a.Path)
			}
		}
		if bin == "" {
			t.Fatalf("no %s binary for %s/%s in artifacts.json", tool, runtime.GOOS, runtime.GOARCH)
		}
		got := versionOf(t, bin)
		if want := tool + " " + meta.Version + " ("; !strings.HasPrefix(got, want) {
			t.Errorf("%s version = %q, want it to start with %q", tool, got, want)
		}
	}

	// The release path of the composite action, pinned to this snapshot.
	tree := copyTree(t)
	if code, out := pin(t, tree, meta.Version, checksums, "127.0.0.1:5000/tinyforge-check@"+testDigest); code != 0 {
		t.Fatalf("pin-release: exit %d: %s", code, out)
	}
	var mu sync.Mutex
	var requests []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		requests = append(requests, r.URL.Path)
		mu.Unlock()
		name, ok := strings.CutPrefix(r.URL.Path, "/v"+meta.Version+"/")
		if p, known := byName[name]; ok && known {
			http.ServeFile(w, r, p)
			return
		}
		http.NotFound(w, r)
	}))
	defer srv.Close()
	cache := t.TempDir()
	tripwire, goCalls := goTripwire(t)
	st := resolve(t, tree, map[string]string{
		"PATH": tripwire + ":" + pathWithout(t), "RUNNER_OS": runnerOS, "RUNNER_ARCH": runnerArch,
		"RUNNER_TOOL_CACHE": cache, "TINYFORGE_DOWNLOAD_URL": srv.URL,
	})
	if st.code != 0 || st.outputs["source"] != "download" {
		t.Fatalf("resolve: exit %d, outputs %v:\n%s", st.code, st.outputs, st.stdout)
	}
	wantReq := []string{"/v" + meta.Version + "/" + fileName(meta.Version, runtime.GOOS, runtime.GOARCH)}
	mu.Lock()
	defer mu.Unlock()
	if diff := cmp.Diff(wantReq, requests); diff != "" {
		t.Errorf("requests to the release server (-want +got):\n%s", diff)
	}
	if got := versionOf(t, st.outputs["path"]); !strings.HasPrefix(got, "tinyforge-check "+meta.Version+" (") {
		t.Errorf("the downloaded binary says %q, want %s", got, meta.Version)
	}
	if b, err := os.ReadFile(goCalls); err == nil {
		t.Errorf("go was called: %s", b)
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// TestMajorTag: the one decision whether a release moves vX (scripts/major-tag.sh), which the
// release workflow passes to both the image tag and the git tag.
func TestMajorTag(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not on PATH")
	}
	script := filepath.Join(testenv.ModuleRoot(t), "scripts", "major-tag.sh")
	repo := t.TempDir()
	git := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-c", "user.name=t", "-c", "user.email=t@example.com"}, args...)...)
		cmd.Dir = repo
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	git("init", "-q")
	git("commit", "-q", "--allow-empty", "-m", "release")
	for _, tag := range []string{"v1.2.3", "v1.3.0", "v1.9.0", "v1.10.0-rc.1", "v2.0.0-rc.1", "v10.0.0"} {
		git("tag", tag)
	}
	for _, tc := range []struct {
		version, want string
		why           string
	}{
		{"1.2.4", "", "a backport after 1.3.0 does not move v1"},
		{"1.3.0", "", "an older release than 1.9.0 (already tagged) does not move v1"},
		{"1.9.1", "v1", "the newest final 1.x moves v1"},
		{"1.9.0", "v1", "the newest final 1.x, already tagged, still moves v1 (a retried workflow)"},
		{"1.10.0", "v1", "1.10.0 is newer than 1.9.0 (versions, not strings)"},
		{"1.11.0-rc.1", "", "a prerelease moves nothing"},
		{"2.0.0", "v2", "the first final 2.x moves v2; 2.0.0-rc.1 does not count"},
		{"v1.9.2", "v1", "a leading v is accepted"},
		{"10.0.1", "v10", "v10 is not v1"},
		{"1.0.0", "", "far behind"},
	} {
		cmd := exec.Command("bash", script, tc.version)
		cmd.Dir = repo
		out, err := cmd.Output()
		if err != nil {
			t.Errorf("%s: %v", tc.version, err)
			continue
		}
		if got := strings.TrimSpace(string(out)); got != tc.want {
			t.Errorf("major-tag.sh %s = %q, want %q: %s", tc.version, got, tc.want, tc.why)
		}
	}
	cmd := exec.Command("bash", script, "main")
	cmd.Dir = repo
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "is not a version") {
		t.Errorf("major-tag.sh main: %v %q, want a refusal", err, out)
	}
}
