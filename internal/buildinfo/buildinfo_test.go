package buildinfo

import (
	"runtime/debug"
	"strings"
	"testing"
)

func TestVersion(t *testing.T) {
	t.Parallel()
	info := func(v string) func() (*debug.BuildInfo, bool) {
		return func() (*debug.BuildInfo, bool) { return &debug.BuildInfo{Main: debug.Module{Version: v}}, true }
	}
	none := func() (*debug.BuildInfo, bool) { return nil, false }
	for _, tc := range []struct {
		name, stamped string
		read          func() (*debug.BuildInfo, bool)
		want          string
	}{
		{"stamped wins over the module version", "1.2.3", info("v9.9.9"), "1.2.3"},
		{"a stamped leading v is dropped", "v1.2.3", none, "1.2.3"},
		{"snapshot versions pass through", "1.2.4-SNAPSHOT-abc1234", none, "1.2.4-SNAPSHOT-abc1234"},
		{"go install of a tag", "", info("v1.0.1"), "1.0.1"},
		{"a local build", "", info("(devel)"), "devel"},
		{"no build info", "", none, "devel"},
	} {
		if got := version(tc.stamped, tc.read); got != tc.want {
			t.Errorf("%s: version(%q) = %q, want %q", tc.name, tc.stamped, got, tc.want)
		}
	}
}

func TestString(t *testing.T) {
	t.Parallel()
	got := String("tinyforge-check")
	if !strings.HasPrefix(got, "tinyforge-check "+Version()+" (go") {
		t.Errorf("String = %q, want it to start with the name, the version and the Go version", got)
	}
}
