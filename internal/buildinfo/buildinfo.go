// Package buildinfo says which release a binary is, for `tinyforge-check version` and
// `tinyforge-server version`. Both commands print the same string, so a user can tell at once
// that the CLI, the action and the server came from one release.
package buildinfo

import (
	"runtime"
	"runtime/debug"
	"strings"
)

// stamped is the release version, set at link time by the release build (.goreleaser.yaml):
//
//	-ldflags "-X github.com/tinyforge/tinyforge-check/internal/buildinfo.stamped=1.2.3"
//
// It is never written at run time. Empty in a plain `go build`, where Version falls back to the
// module version recorded by the Go toolchain.
var stamped string

// Version is the version this binary was built as: the stamped release version ("1.2.3",
// without a leading v), else the module version of `go install …@vX.Y.Z` (its leading v
// dropped, so both forms read alike), else "devel".
func Version() string {
	return version(stamped, debug.ReadBuildInfo)
}

// version is Version with its inputs injected, for tests.
func version(stamped string, read func() (*debug.BuildInfo, bool)) string {
	if v := strings.TrimSpace(stamped); v != "" {
		return strings.TrimPrefix(v, "v")
	}
	if bi, ok := read(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return strings.TrimPrefix(bi.Main.Version, "v")
	}
	return "devel"
}

// String is the one-line answer of a `version` command: "NAME VERSION (goX.Y.Z OS/ARCH)".
func String(name string) string {
	return name + " " + Version() + " (" + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH + ")"
}
