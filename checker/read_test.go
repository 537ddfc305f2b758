package checker

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tinyforge/tinyforge-check/gitops"
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

// TestForeignFileShownWithoutBody: Tinyforge may name any .yml of the repo. A file that is not a
// .tinyforge.yml document (a kubeconfig with a token) is invalid with one diagnostic that quotes
// nothing of it, and neither the comment, the summary nor the log carries a byte of it; a path
// Tinyforge itself would refuse is not read at all.
func TestForeignFileShownWithoutBody(t *testing.T) {
	const secretText = "PROD-CLUSTER-SECRET-TOKEN"
	kube := liveWeb()
	kube.GitOpsPath = "deploy/kubeconfig.yaml"
	files := map[string]string{
		"head1111111:deploy/kubeconfig.yaml": "apiVersion: v1\nusers:\n- name: admin\n  user:\n    token: eyJhbGciOiJSUzI1NiJ9." + secretText + "\n",
		"base2222222:deploy/kubeconfig.yaml": "apiVersion: v1\n",
	}
	c, _, cm, _, _ := env{workloads: []*Workload{kube}, files: files}.checker()
	r, err := c.Run(t.Context(), Inputs{Workload: "3", FailOn: DefaultFailOn, Forge: ForgeGitHub, Event: prEvent()})
	if err != nil {
		t.Fatal(err)
	}
	want := gitops.Diagnostics{gitops.ForeignFile()}
	if r.Verdict != VerdictInvalid || !r.FileHidden || !cmp.Equal(want, r.Diagnostics) {
		t.Errorf("verdict %s, hidden %v, diagnostics %+v; want invalid, hidden, only %+v", r.Verdict, r.FileHidden, r.Diagnostics, want)
	}
	var log strings.Builder
	if err := WriteLog(&log, r); err != nil {
		t.Fatal(err)
	}
	posted := ""
	if cm.body != nil {
		posted = *cm.body
	}
	for name, text := range map[string]string{"comment": RenderComment(r), "posted comment": posted, "summary": RenderSummary(r), "log": log.String()} {
		for _, bad := range []string{secretText, "apiVersion", "users", "token"} {
			if strings.Contains(text, bad) {
				t.Errorf("the %s carries %q of the file:\n%s", name, bad, text)
			}
		}
	}
	if !strings.Contains(posted, "not-tinyforge-file") {
		t.Errorf("the posted comment does not say why the file is invalid:\n%s", posted)
	}

	for _, bad := range []string{"../secrets.yml", ".env", "deploy//x.yml", "/etc/kubernetes/admin.conf"} {
		w := liveWeb()
		w.GitOpsPath = bad
		c, _, _, ff, _ := env{workloads: []*Workload{w}, files: files}.checker()
		r, err := c.Run(t.Context(), Inputs{Workload: "3", FailOn: DefaultFailOn, Forge: ForgeGitHub, Event: prEvent()})
		if err != nil {
			t.Fatal(err)
		}
		if r.Verdict != VerdictError || !strings.Contains(r.Reason, "not one Tinyforge accepts") || strings.Contains(r.Reason, bad) {
			t.Errorf("Tinyforge path %q: verdict %s (%s), want error without the path", bad, r.Verdict, r.Reason)
		}
		for _, call := range ff.sortedCalls() {
			if strings.HasSuffix(call, ":"+bad) {
				t.Errorf("Tinyforge path %q was read: %v", bad, ff.sortedCalls())
			}
		}
	}
}
