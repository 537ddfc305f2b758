package host

import (
	"archive/tar"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/tinyforge/tinyforge-check/internal/testenv"
)

// imageSizeGoal is the most a platform's image may weigh compressed, in bytes (what a pull
// downloads: config and layers, from the manifest).
const imageSizeGoal = 10_000_000

// rehearsalTools returns the folder of the pinned tools the rehearsal runs (scripts/tools.sh),
// or skips the test outside CI when they are not there.
func rehearsalTools(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("TINYFORGE_TOOLS_BIN")
	missing := dir == ""
	for _, tool := range []string{"registry", "ko", "cosign"} {
		if _, err := os.Stat(filepath.Join(dir, tool)); err != nil {
			missing = true
		}
	}
	if missing {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true but TINYFORGE_TOOLS_BIN=%q lacks registry, ko or cosign: .ci/run builds them (scripts/tools.sh)", dir)
		}
		t.Skip("set TINYFORGE_TOOLS_BIN to a folder with registry, ko and cosign (bash scripts/tools.sh registry ko cosign prints it) and TINYFORGE_DIST to a GoReleaser snapshot; .ci/run does")
	}
	return dir
}

// startRegistry runs the pinned distribution registry on 127.0.0.1 with its storage in a
// temporary folder, and returns its host:port and that folder.
func startRegistry(t *testing.T, tools string) (host, storage string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	host = l.Addr().String()
	l.Close()
	storage = t.TempDir()
	config := filepath.Join(t.TempDir(), "config.yml")
	yml := fmt.Sprintf("version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: %s\n", storage, host)
	if err := os.WriteFile(config, []byte(yml), 0o644); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	cmd := exec.Command(filepath.Join(tools, "registry"), "serve", config)
	cmd.Env = append(os.Environ(), "OTEL_TRACES_EXPORTER=none", "OTEL_METRICS_EXPORTER=none", "OTEL_LOGS_EXPORTER=none")
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		resp, err := http.Get("http://" + host + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return host, storage
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the registry did not answer on %s within 20 s: %v\n%s", host, err, logs.String())
		}
	}
}

// pushBase pushes a base image for linux/amd64 and linux/arm64 to repo, made here as the real
// base is (no shell, CA certificates and /etc/passwd), since the rehearsal reaches no outside
// registry. It returns the reference by digest.
func pushBase(t *testing.T, repo string) string {
	t.Helper()
	certs, err := os.ReadFile("/etc/ssl/certs/ca-certificates.crt")
	if err != nil {
		t.Skipf("no CA bundle on this machine to put in the base image: %v", err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range []struct {
		name string
		data []byte
	}{
		{"etc/passwd", []byte("root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n")},
		{"etc/ssl/certs/ca-certificates.crt", certs},
	} {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.data)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write(f.data)
	}
	tw.Close()
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(buf.Bytes())), nil })
	if err != nil {
		t.Fatal(err)
	}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, arch := range []string{"amd64", "arm64"} {
		img, err := mutate.AppendLayers(mutate.MediaType(empty.Image, types.OCIManifestSchema1), layer)
		if err != nil {
			t.Fatal(err)
		}
		img, err = mutate.ConfigFile(img, &v1.ConfigFile{OS: "linux", Architecture: arch, RootFS: v1.RootFS{Type: "layers", DiffIDs: diffIDs(t, img)}})
		if err != nil {
			t.Fatal(err)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arch}}})
	}
	ref, err := name.ParseReference(repo + ":base")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(ref, idx); err != nil {
		t.Fatalf("push the base image: %v", err)
	}
	digest, err := idx.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return repo + "@" + digest.String()
}

func diffIDs(t *testing.T, img v1.Image) []v1.Hash {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	return cf.RootFS.DiffIDs
}

// releaseImage runs scripts/release-image.sh as the release workflow does and returns the
// reference by digest it printed.
func releaseImage(t *testing.T, tools, base string, args ...string) string {
	t.Helper()
	cmd := exec.Command("bash", append([]string{filepath.Join(testenv.ModuleRoot(t), "scripts", "release-image.sh")}, args...)...)
	cmd.Env = append(os.Environ(), "TINYFORGE_TOOLS_BIN="+tools, "KO_DEFAULTBASEIMAGE="+base)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("release-image.sh %q: %v\n%s", args, err, stderr.String())
	}
	return strings.TrimSpace(string(out))
}

// cosign runs the pinned cosign in dir with an empty key password and returns its error and output.
// cosign looks for Sigstore's public trust root on the internet even to check a key's signature
// (it warns and goes on without it); a proxy on a closed loopback port keeps every such request
// on this machine. Go never proxies loopback addresses, so the test registry is reached directly.
func cosign(t *testing.T, tools, dir string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(filepath.Join(tools, "cosign"), args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "COSIGN_PASSWORD=", "COSIGN_YES=true", "TUF_ROOT="+filepath.Join(dir, "tuf"),
		"HTTPS_PROXY=http://127.0.0.1:9", "HTTP_PROXY=http://127.0.0.1:9", "https_proxy=", "http_proxy=", "NO_PROXY=", "no_proxy=")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// imageFile returns the content of the file at path in img's flattened file system.
func imageFile(img v1.Image, path string) ([]byte, error) {
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err != nil {
			return nil, fmt.Errorf("%s not found in the image: %w", path, err)
		}
		if strings.TrimPrefix(h.Name, "/") == path {
			data, err := io.ReadAll(tr)
			if err != nil {
				return nil, err
			}
			// Read to the end: a layer's digest is checked once all of it has been read.
			if _, err := io.Copy(io.Discard, rc); err != nil {
				return nil, err
			}
			return data, rc.Close()
		}
	}
}

// TestReleaseRehearsal rehearses the release of the container action offline (run by .ci/run):
// the image of the GoReleaser snapshot in TINYFORGE_DIST, built by scripts/release-image.sh (ko)
// exactly as the release workflow builds it, is pushed to a registry on 127.0.0.1, pulled back
// by the digest that action.yml pins, and checked: its platforms and labels, the binary inside
// is byte for byte the release binary of checksums.txt and prints the snapshot version, its
// compressed size per platform (from the manifest), and cosign signatures of the image and of
// checksums.txt made with a throwaway key. A changed byte in the image, the checksum file or
// the signature, and an action.yml whose digest is not the image's, each fail.
func TestReleaseRehearsal(t *testing.T) {
	tools := rehearsalTools(t)
	dist := snapshotDist(t)
	var meta struct{ Version, Commit string }
	readJSON(t, filepath.Join(dist, "metadata.json"), &meta)
	checksums := filepath.Join(dist, "checksums.txt")
	sums := map[string]string{}
	data, err := os.ReadFile(checksums)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if s, n, ok := strings.Cut(line, "  "); ok {
			sums[n] = s
		}
	}

	if !regexp.MustCompile(`^[0-9a-f]{40}$`).MatchString(meta.Commit) {
		// GoReleaser writes "none" when it cannot read git (a worktree it does not understand).
		out, err := exec.Command("git", "-C", testenv.ModuleRoot(t), "rev-parse", "HEAD").Output()
		if err != nil {
			t.Fatalf("metadata.json has commit %q and git rev-parse HEAD fails: %v", meta.Commit, err)
		}
		meta.Commit = strings.TrimSpace(string(out))
	}

	host, storage := startRegistry(t, tools)
	base := pushBase(t, host+"/base")
	repo := host + "/tinyforge-check"

	// What the release commit pins: the digest computed before anything is pushed ...
	pinnedRef := releaseImage(t, tools, base, meta.Version, meta.Commit, repo)
	// ... is the digest of the image pushed later (the builds are reproducible).
	pushedRef := releaseImage(t, tools, base, meta.Version, meta.Commit, repo, "v"+meta.Version, meta.Version)
	if pinnedRef != pushedRef {
		t.Fatalf("the pushed image %s is not the pinned %s: the image build is not reproducible", pushedRef, pinnedRef)
	}
	digest := pushedRef[strings.LastIndex(pushedRef, "@")+1:]

	// action.yml pinned to it, checked as the release workflow checks it; a digest that is not
	// the image's fails the check.
	tree := copyTree(t)
	if code, out := pin(t, tree, meta.Version, checksums, pushedRef); code != 0 {
		t.Fatalf("pin-release: exit %d: %s", code, out)
	}
	md := readMetadata(t, filepath.Join(tree, "action.yml"))
	if want := "docker://ghcr.io/tinyforge/tinyforge-check:v" + meta.Version + "@" + digest; md.Runs.Image != want {
		t.Errorf("action.yml runs %q, want %q", md.Runs.Image, want)
	}
	if code, out := pin(t, tree, "--check", meta.Version, checksums, pushedRef); code != 0 {
		t.Errorf("pin-release --check of the pushed image: exit %d: %s", code, out)
	}
	actionYML := filepath.Join(tree, "action.yml")
	good, _ := os.ReadFile(actionYML)
	other := strings.Replace(string(good), digest, digest[:len(digest)-1]+flipHex(digest[len(digest)-1]), 1)
	os.WriteFile(actionYML, []byte(other), 0o644)
	if code, out := pin(t, tree, "--check", meta.Version, checksums, pushedRef); code != 1 || !strings.Contains(out, "the image digest does not match") {
		t.Errorf("pin-release --check with another digest in action.yml: exit %d %q, want 1", code, out)
	}

	// Pulled by digest: both platforms, the labels, the binary of the release, the size.
	ref, err := name.ParseReference(pushedRef)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := remote.Index(ref)
	if err != nil {
		t.Fatalf("pull %s: %v", ref, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var platforms []string
	layerDigest := map[string]v1.Hash{} // the binary's layer per arch, for the tamper check
	for _, desc := range im.Manifests {
		if desc.Platform == nil {
			t.Fatalf("index entry %s has no platform", desc.Digest)
		}
		arch := desc.Platform.Architecture
		platforms = append(platforms, desc.Platform.OS+"/"+arch)
		img, err := idx.Image(desc.Digest)
		if err != nil {
			t.Fatal(err)
		}
		m, err := img.Manifest()
		if err != nil {
			t.Fatal(err)
		}
		size := m.Config.Size
		for _, l := range m.Layers {
			size += l.Size
		}
		t.Logf("image %s/%s: %d bytes compressed (%.2f MB; config and %d layers, from the manifest)", desc.Platform.OS, arch, size, float64(size)/1e6, len(m.Layers))
		if size > imageSizeGoal {
			t.Errorf("the %s image weighs %d bytes compressed, over the goal of %d", arch, size, imageSizeGoal)
		}
		var largest int64
		for _, l := range m.Layers { // the largest layer: the binary's
			if l.Size > largest {
				largest, layerDigest[arch] = l.Size, l.Digest
			}
		}

		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		wantLabels := map[string]string{
			"org.opencontainers.image.title":       "tinyforge-check",
			"org.opencontainers.image.description": "Lint .tinyforge.yml and report drift from Tinyforge's live config",
			"org.opencontainers.image.source":      "https://github.com/tinyforge/tinyforge-check",
			"org.opencontainers.image.version":     meta.Version,
			"org.opencontainers.image.revision":    meta.Commit,
		}
		if diff := cmp.Diff(wantLabels, cf.Config.Labels); diff != "" {
			t.Errorf("%s labels (-want +got):\n%s", arch, diff)
		}
		if cf.Config.User != "0" || !cmp.Equal(cf.Config.Entrypoint, []string{"/ko-app/tinyforge-check"}) {
			t.Errorf("%s runs %q as user %q, want /ko-app/tinyforge-check as 0 (root, as container actions run)", arch, cf.Config.Entrypoint, cf.Config.User)
		}
		if _, err := imageFile(img, "etc/ssl/certs/ca-certificates.crt"); err != nil {
			t.Errorf("%s: no CA bundle: %v", arch, err)
		}
		bin, err := imageFile(img, "ko-app/tinyforge-check")
		if err != nil {
			t.Fatalf("%s: %v", arch, err)
		}
		release := fileName(meta.Version, "linux", arch)
		if got := sum(bin); got != sums[release] {
			t.Errorf("%s: the image's binary has sha256 %s, checksums.txt says %s for %s: not the release binary", arch, got, sums[release], release)
		}
		if arch == runtime.GOARCH && runtime.GOOS == "linux" {
			p := filepath.Join(t.TempDir(), "tinyforge-check")
			os.WriteFile(p, bin, 0o755)
			if got := versionOf(t, p); !strings.HasPrefix(got, "tinyforge-check "+meta.Version+" (") {
				t.Errorf("the image's binary says %q, want version %s", got, meta.Version)
			}
		}
	}
	slices.Sort(platforms)
	if diff := cmp.Diff([]string{"linux/amd64", "linux/arm64"}, platforms); diff != "" {
		t.Errorf("platforms (-want +got):\n%s", diff)
	}

	// Signatures with a throwaway key (the release signs keyless, which needs GitHub's OIDC
	// token; the commands and what they check are the same).
	work := t.TempDir()
	if out, err := cosign(t, tools, work, "generate-key-pair"); err != nil {
		t.Fatalf("cosign generate-key-pair: %v\n%s", err, out)
	}
	if out, err := cosign(t, tools, work, "sign", "--key", "cosign.key", "--tlog-upload=false", "--allow-http-registry", pushedRef); err != nil {
		t.Fatalf("cosign sign: %v\n%s", err, out)
	}
	verifyImage := func(ref string) error {
		_, err := cosign(t, tools, work, "verify", "--key", "cosign.pub", "--insecure-ignore-tlog", "--allow-http-registry", ref)
		return err
	}
	if err := verifyImage(pushedRef); err != nil {
		t.Errorf("cosign verify of the signed image: %v", err)
	}
	if err := verifyImage(base); err == nil {
		t.Error("cosign verify passed for an image nobody signed")
	}
	cs := filepath.Join(work, "checksums.txt")
	os.WriteFile(cs, data, 0o644)
	if out, err := cosign(t, tools, work, "sign-blob", "--key", "cosign.key", "--tlog-upload=false", "--bundle", "checksums.txt.bundle", "checksums.txt"); err != nil {
		t.Fatalf("cosign sign-blob: %v\n%s", err, out)
	}
	verifyBlob := func(file, bundle string) (string, error) {
		return cosign(t, tools, work, "verify-blob", "--key", "cosign.pub", "--insecure-ignore-tlog", "--bundle", bundle, file)
	}
	if out, err := verifyBlob("checksums.txt", "checksums.txt.bundle"); err != nil {
		t.Errorf("cosign verify-blob of checksums.txt: %v\n%s", err, out)
	}

	t.Run("a changed byte in checksums.txt fails the signature check", func(t *testing.T) {
		changed := bytes.Clone(data)
		changed[0] = flipHex(changed[0])[0]
		os.WriteFile(filepath.Join(work, "checksums.changed.txt"), changed, 0o644)
		if out, err := verifyBlob("checksums.changed.txt", "checksums.txt.bundle"); err == nil {
			t.Errorf("verify-blob passed for a changed checksums.txt:\n%s", out)
		}
	})

	t.Run("a changed byte in the signature fails the signature check", func(t *testing.T) {
		bundle, err := os.ReadFile(filepath.Join(work, "checksums.txt.bundle"))
		if err != nil {
			t.Fatal(err)
		}
		changed, err := changeSignature(bundle)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(work, "changed.bundle"), changed, 0o644)
		if out, err := verifyBlob("checksums.txt", "changed.bundle"); err == nil {
			t.Errorf("verify-blob passed with a changed signature:\n%s", out)
		}
	})

	t.Run("a changed byte in the image fails the pull by digest", func(t *testing.T) {
		// Change the amd64 binary's layer where the registry keeps it: the registry serves the
		// changed bytes, and the pull by digest must refuse them.
		h := layerDigest["amd64"]
		blob := filepath.Join(storage, "docker", "registry", "v2", "blobs", h.Algorithm, h.Hex[:2], h.Hex, "data")
		b, err := os.ReadFile(blob)
		if err != nil {
			t.Fatal(err)
		}
		b[len(b)/2] ^= 0x01
		if err := os.WriteFile(blob, b, 0o644); err != nil {
			t.Fatal(err)
		}
		amd64, err := remote.Image(ref, remote.WithPlatform(v1.Platform{OS: "linux", Architecture: "amd64"}))
		if err != nil {
			t.Fatal(err)
		}
		_, err = imageFile(amd64, "ko-app/tinyforge-check")
		if err == nil {
			t.Fatal("the changed layer was read without an error")
		}
		t.Logf("refused, as it must be: %v", err)
		// The compressed bytes themselves fail their digest (not only gzip's own check).
		lref, err := name.NewDigest(repo + "@" + h.String())
		if err != nil {
			t.Fatal(err)
		}
		layer, err := remote.Layer(lref)
		if err != nil {
			t.Fatal(err)
		}
		rc, err := layer.Compressed()
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		if _, err := io.Copy(io.Discard, rc); err == nil || !strings.Contains(err.Error(), h.Hex) {
			t.Errorf("reading the changed layer by its digest: %v, want a digest mismatch naming %s", err, h.Hex)
		}
	})
}

// flipHex returns another hex digit (or byte) than c, as a string.
func flipHex(c byte) string {
	if c == '0' {
		return "1"
	}
	return "0"
}

// changeSignature changes one byte of the signature in a cosign bundle (the key-based bundle's
// base64Signature, or a Sigstore bundle's messageSignature.signature).
func changeSignature(bundle []byte) ([]byte, error) {
	var doc map[string]any
	if err := json.Unmarshal(bundle, &doc); err != nil {
		return nil, err
	}
	flip := func(s string) (string, error) {
		sig, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return "", err
		}
		sig[len(sig)/2] ^= 0x01
		return base64.StdEncoding.EncodeToString(sig), nil
	}
	if s, ok := doc["base64Signature"].(string); ok {
		changed, err := flip(s)
		if err != nil {
			return nil, err
		}
		doc["base64Signature"] = changed
		return json.Marshal(doc)
	}
	if ms, ok := doc["messageSignature"].(map[string]any); ok {
		if s, ok := ms["signature"].(string); ok {
			changed, err := flip(s)
			if err != nil {
				return nil, err
			}
			ms["signature"] = changed
			return json.Marshal(doc)
		}
	}
	return nil, fmt.Errorf("no signature in the bundle: %.200s", bundle)
}
