package checker

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestReadsTheCommittedFile: without a Workspace (the action) the file is read through the forge
// API at the commit the run reports on: the PR head on a pull request (never the test-merge
// commit GITHUB_SHA names), the pushed commit on a push. Without the API there is nothing to
// read it from, and the run says how to fix that.
func TestReadsTheCommittedFile(t *testing.T) {
	files := map[string]string{
		"head1111111:.tinyforge.yml":  driftYAML,
		"merge0000000:.tinyforge.yml": inSyncYAML, // what a pull_request workspace holds
		"base2222222:.tinyforge.yml":  inSyncYAML,
		"push3333333:.tinyforge.yml":  inSyncYAML,
	}
	tests := []struct {
		name      string
		event     Event
		noAPI     bool
		want      Verdict
		wantCalls []string
		wantWhy   string
	}{
		{name: "pull_request: the PR head", event: prEvent(), want: VerdictDrift,
			wantCalls: []string{"base2222222:.tinyforge.yml", "head1111111:.tinyforge.yml"}},
		{name: "push: the pushed commit", event: pushEvent(), want: VerdictInSync,
			wantCalls: []string{"push3333333:.tinyforge.yml"}},
		{name: "no forge API", event: pushEvent(), noAPI: true, want: VerdictError,
			wantWhy: "no forge API to read the committed file from: give the token input"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _, _, ff, _ := env{workloads: []*Workload{liveWeb()}, files: files}.checker()
			if tt.noAPI {
				c.Files = nil
			}
			r, err := c.Run(t.Context(), Inputs{Workload: "3", FailOn: DefaultFailOn, Forge: ForgeGitHub, Event: tt.event})
			if err != nil {
				t.Fatal(err)
			}
			if r.Verdict != tt.want || !strings.Contains(r.Reason, tt.wantWhy) {
				t.Errorf("verdict %s (%s), want %s (%s)", r.Verdict, r.Reason, tt.want, tt.wantWhy)
			}
			if diff := cmp.Diff(tt.wantCalls, ff.sortedCalls()); !tt.noAPI && diff != "" {
				t.Errorf("file reads (-want +got):\n%s", diff)
			}
		})
	}
}
