package checker

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/tinyforge/tinyforge-check/forge"
	"github.com/tinyforge/tinyforge-check/gitops"
)

const (
	inSyncYAML  = "version: 1\ndeploy:\n  port: 8080\n  deploy_strategy: rolling\n"
	driftYAML   = "version: 1\ndeploy:\n  port: 9090\n  deploy_strategy: rolling\n"
	invalidYAML = "version: 1\ndeploy:\n  prot: 8080\n  deploy_strategy: Rolling\n"
	staticYAML  = "version: 1\ndeploy:\n  port: 8080\n"
	canary      = "tf_canary_7d1e0c55a9b1"
)

func liveWeb() *Workload {
	return &Workload{ID: 3, Name: "web", SourceType: "dockerfile",
		SourceConfig:  json.RawMessage(`{"port":8080,"healthcheck":"/healthz","deploy_strategy":"rolling","dockerfile_path":"Dockerfile"}`),
		GitOpsEnabled: true, GitOpsPath: ".tinyforge.yml", UIURL: "https://tf.example/apps/3"}
}

func prEvent() Event {
	return Event{Name: EventPullRequest, CommitSHA: "merge0000000", PR: &PullRequest{Number: 7, HeadSHA: "head1111111", BaseSHA: "base2222222"}}
}

func pushEvent() Event { return Event{Name: EventPush, CommitSHA: "push3333333"} }

// outcome is the part of a Report every case pins down.
type outcome struct {
	Verdict     Verdict
	Reason      string
	Path        string
	Exit        int
	State       forge.State
	StatusSHA   string
	Description string
	Codes       []string
	Drift       []gitops.DriftEntry
	Rows        []Row
	Notices     []Notice
	Comment     forge.CommentAction
}

func outcomeOf(r *Report) outcome {
	o := outcome{Verdict: r.Verdict, Reason: r.Reason, Path: r.Path, Exit: r.ExitCode(), State: r.Status.State,
		StatusSHA: r.Status.SHA, Description: r.Status.Description, Drift: r.Drift, Rows: r.Rows, Notices: r.Notices,
		Comment: r.Comment.Action}
	for _, d := range r.Diagnostics {
		o.Codes = append(o.Codes, fmt.Sprintf("%d:%d %s", d.Line, d.Column, d.Code))
	}
	return o
}

type env struct {
	workspace map[string]string // nil: no workspace
	workloads []*Workload       // nil: no LiveSource
	liveErr   error
	files     map[string]string
	statusErr error
	comments  *fakeComments
}

func (e env) checker() (*Checker, *fakeStatus, *fakeComments, *fakeFiles, *fakeLive) {
	c := &Checker{}
	if e.workspace != nil {
		m := fstest.MapFS{}
		for p, s := range e.workspace {
			m[p] = &fstest.MapFile{Data: []byte(s)}
		}
		c.Workspace = m
	}
	var live *fakeLive
	if e.workloads != nil || e.liveErr != nil {
		live = &fakeLive{workloads: e.workloads, err: e.liveErr}
		c.Live = live
	}
	files := &fakeFiles{files: e.files}
	c.Files = files
	st := &fakeStatus{err: e.statusErr}
	c.Status = st
	cm := e.comments
	if cm == nil {
		cm = &fakeComments{}
	}
	c.Comments = cm
	return c, st, cm, files, live
}

func TestRun(t *testing.T) {
	disabled := liveWeb()
	disabled.GitOpsEnabled = false
	static := liveWeb()
	static.SourceType = "static"
	static.SourceConfig = json.RawMessage(`{"deploy_strategy":"recreate","build_command":"make"}`)
	buildpack := liveWeb()
	buildpack.SourceType = "buildpack"
	otherPath := liveWeb()
	otherPath.GitOpsPath = "deploy/tinyforge.yml"
	existing := func() *fakeComments { b := "old body"; return &fakeComments{body: &b, runID: 1} }

	tests := []struct {
		name string
		env  env
		in   Inputs
		want outcome
	}{
		{
			name: "in sync on a PR, base equal: no first comment",
			env: env{workspace: map[string]string{".tinyforge.yml": inSyncYAML}, workloads: []*Workload{liveWeb()},
				files: map[string]string{"base2222222:.tinyforge.yml": inSyncYAML}},
			in: Inputs{Workload: "3", FailOn: DefaultFailOn, Event: prEvent(), Forge: ForgeGitHub},
			want: outcome{Verdict: VerdictInSync, Path: ".tinyforge.yml", State: forge.StateSuccess, StatusSHA: "head1111111",
				Description: "In sync: 2 declared fields match live",
				Rows: []Row{
					{Field: "deploy.port", Base: "8080", Head: "8080", Live: "8080", Tag: TagInSync},
					{Field: "deploy.deploy_strategy", Base: "rolling", Head: "rolling", Live: "rolling", Tag: TagInSync},
				}, Comment: forge.CommentSkipped},
		},
		{
			name: "drift on a PR that changes the port: three-way table",
			env: env{workspace: map[string]string{".tinyforge.yml": driftYAML}, workloads: []*Workload{liveWeb()},
				files: map[string]string{"base2222222:.tinyforge.yml": inSyncYAML}},
			in: Inputs{Workload: "web", FailOn: DefaultFailOn, Event: prEvent(), Forge: ForgeGitHub, RunID: 5},
			want: outcome{Verdict: VerdictDrift, Path: ".tinyforge.yml", State: forge.StateSuccess, StatusSHA: "head1111111",
				Description: "1 field differs from live: Sync required",
				Drift:       []gitops.DriftEntry{{Field: "deploy.port", RepoValue: "9090", LiveValue: "8080"}},
				Rows: []Row{
					{Field: "deploy.port", Base: "8080", Head: "9090", Live: "8080", Drift: true, Tag: TagChanged},
					{Field: "deploy.deploy_strategy", Base: "rolling", Head: "rolling", Live: "rolling", Tag: TagInSync},
				}, Comment: forge.CommentCreated},
		},
		{
			name: "PR reverts drift, another field already drifted, a base-only field unmanaged",
			env: env{workspace: map[string]string{".tinyforge.yml": "version: 1\ndeploy:\n  port: 8080\n  deploy_strategy: recreate\n"},
				workloads: []*Workload{liveWeb()},
				files:     map[string]string{"base2222222:.tinyforge.yml": "version: 1\ndeploy:\n  port: 9090\n  healthcheck: /healthz\n  deploy_strategy: recreate\n"}},
			in: Inputs{Workload: "3", FailOn: DefaultFailOn, Event: prEvent(), Forge: ForgeGitea},
			want: outcome{Verdict: VerdictDrift, Path: ".tinyforge.yml", State: forge.StateWarning, StatusSHA: "head1111111",
				Description: "1 field differs from live: Sync required",
				Drift:       []gitops.DriftEntry{{Field: "deploy.deploy_strategy", RepoValue: "recreate", LiveValue: "rolling"}},
				Rows: []Row{
					{Field: "deploy.port", Base: "9090", Head: "8080", Live: "8080", Tag: TagReverts},
					{Field: "deploy.healthcheck", Base: "/healthz", Head: NotDeclared, Live: "/healthz", Tag: TagUnmanaged},
					{Field: "deploy.deploy_strategy", Base: "recreate", Head: "recreate", Live: "rolling", Drift: true, Tag: TagDrifted},
				}, Comment: forge.CommentCreated},
		},
		{
			name: "drift after merge on push, fail-on drift: failure and exit 1",
			env:  env{workspace: map[string]string{".tinyforge.yml": driftYAML}, workloads: []*Workload{liveWeb()}},
			in:   Inputs{Workload: "3", FailOn: FailOn{Drift: true}, Event: pushEvent(), Forge: ForgeGitHub},
			want: outcome{Verdict: VerdictDrift, Path: ".tinyforge.yml", Exit: ExitFailed, State: forge.StateFailure, StatusSHA: "push3333333",
				Description: "1 field differs from live: Sync required",
				Drift:       []gitops.DriftEntry{{Field: "deploy.port", RepoValue: "9090", LiveValue: "8080"}},
				Rows: []Row{
					{Field: "deploy.port", Head: "9090", Live: "8080", Drift: true, Tag: TagDiffers},
					{Field: "deploy.deploy_strategy", Head: "rolling", Live: "rolling", Tag: TagInSync},
				}},
		},
		{
			name: "invalid file: diagnostics at their lines, failure, exit 1",
			env:  env{workspace: map[string]string{".tinyforge.yml": invalidYAML}, workloads: []*Workload{liveWeb()}},
			in:   Inputs{Workload: "3", FailOn: DefaultFailOn, Event: prEvent(), Forge: ForgeGitHub},
			want: outcome{Verdict: VerdictInvalid, Reason: ".tinyforge.yml has 2 errors", Path: ".tinyforge.yml", Exit: ExitFailed,
				State: forge.StateFailure, StatusSHA: "head1111111", Description: "2 errors in .tinyforge.yml: fix the file",
				Codes: []string{"3:3 unknown-key", "4:20 deploy-strategy"}, Comment: forge.CommentCreated},
		},
		{
			name: "no file on push",
			env:  env{workspace: map[string]string{"README.md": "hi"}, workloads: []*Workload{liveWeb()}},
			in:   Inputs{Workload: "3", FailOn: DefaultFailOn, Event: pushEvent(), Forge: ForgeGitHub},
			want: outcome{Verdict: VerdictNoFile, Reason: "there is no .tinyforge.yml at this commit", Path: ".tinyforge.yml",
				Exit: ExitFailed, State: forge.StateFailure, StatusSHA: "push3333333", Description: "No .tinyforge.yml at this commit"},
		},
		{
			name: "file removed by a PR updates the existing comment",
			env: env{workspace: map[string]string{}, workloads: []*Workload{liveWeb()},
				files: map[string]string{"base2222222:.tinyforge.yml": inSyncYAML}, comments: existing()},
			in: Inputs{Workload: "3", FailOn: DefaultFailOn, Event: prEvent(), Forge: ForgeGitHub, RunID: 2},
			want: outcome{Verdict: VerdictNoFile, Reason: "this PR removes .tinyforge.yml", Path: ".tinyforge.yml",
				Exit: ExitFailed, State: forge.StateFailure, StatusSHA: "head1111111", Description: "No .tinyforge.yml at this commit",
				Comment: forge.CommentUpdated},
		},
		{
			name: "GitOps disabled: success, existing comment updated",
			env: env{workspace: map[string]string{".tinyforge.yml": driftYAML}, workloads: []*Workload{disabled},
				comments: existing()},
			in: Inputs{Workload: "3", FailOn: FailOn{Invalid: true, Drift: true, Error: true}, Event: prEvent(), Forge: ForgeGitHub, RunID: 2},
			want: outcome{Verdict: VerdictDisabled, Reason: "GitOps is disabled for this workload in Tinyforge: the file is not read, so there is nothing to compare",
				Path: ".tinyforge.yml", State: forge.StateSuccess, StatusSHA: "head1111111",
				Description: "GitOps is disabled for this workload in Tinyforge: nothing to compare", Comment: forge.CommentUpdated},
		},
		{
			name: "static workload declaring a port: invalid at the key",
			env:  env{workspace: map[string]string{".tinyforge.yml": staticYAML}, workloads: []*Workload{static}},
			in:   Inputs{Workload: "3", FailOn: DefaultFailOn, Event: pushEvent(), Forge: ForgeGitHub},
			want: outcome{Verdict: VerdictInvalid, Reason: ".tinyforge.yml has 1 error", Path: ".tinyforge.yml", Exit: ExitFailed,
				State: forge.StateFailure, StatusSHA: "push3333333", Description: "1 error in .tinyforge.yml: fix the file",
				Codes: []string{"3:3 source-type"}},
		},
		{
			name: "a source type that cannot use GitOps",
			env:  env{workspace: map[string]string{".tinyforge.yml": inSyncYAML}, workloads: []*Workload{buildpack}},
			in:   Inputs{Workload: "3", FailOn: DefaultFailOn, Event: pushEvent(), Forge: ForgeGitHub},
			want: outcome{Verdict: VerdictInvalid, Reason: `source type "buildpack" cannot use GitOps: only dockerfile and static workloads can read their config from the repo`,
				Path: ".tinyforge.yml", Exit: ExitFailed, State: forge.StateFailure, StatusSHA: "push3333333",
				Description: "Source type buildpack cannot use GitOps"},
		},
		{
			name: "fork PR: no Tinyforge token and a read-only forge token degrade to lint with notices",
			env: env{workspace: map[string]string{".tinyforge.yml": driftYAML}, statusErr: fmt.Errorf("github: 403: %w", forge.ErrForbidden),
				comments: &fakeComments{err: fmt.Errorf("github: 403: %w", forge.ErrForbidden)}},
			in: Inputs{FailOn: DefaultFailOn, Event: prEvent(), Forge: ForgeGitHub, LiveMissingReason: "no tinyforge-token (fork PRs get no secrets)"},
			want: outcome{Verdict: VerdictSkipped, Reason: "the file is valid; drift was not checked because there are no Tinyforge credentials",
				Path: ".tinyforge.yml", State: forge.StateSuccess, StatusSHA: "head1111111",
				Description: "File valid; drift not checked: no Tinyforge credentials (fork PR?)",
				Notices: []Notice{
					{LevelNotice, "drift not checked: no tinyforge-token (fork PRs get no secrets); linting only"},
					{LevelNotice, "could not set the commit status: the token is read-only (a fork PR gets a read-only token); see the job summary"},
					{LevelNotice, "could not write the PR comment: the token is read-only (a fork PR gets a read-only token); see the job summary"},
				}, Comment: forge.CommentSkipped},
		},
		{
			name: "fork PR with an invalid file still fails",
			env:  env{workspace: map[string]string{".tinyforge.yml": invalidYAML}},
			in:   Inputs{FailOn: DefaultFailOn, Event: prEvent(), Forge: ForgeGitHub},
			want: outcome{Verdict: VerdictInvalid, Reason: ".tinyforge.yml has 2 errors", Path: ".tinyforge.yml", Exit: ExitFailed,
				State: forge.StateFailure, StatusSHA: "head1111111", Description: "2 errors in .tinyforge.yml: fix the file",
				Codes:   []string{"3:3 unknown-key", "4:20 deploy-strategy"},
				Notices: []Notice{{LevelNotice, "drift not checked: no Tinyforge credentials were given; linting only"}}, Comment: forge.CommentCreated},
		},
		{
			name: "Tinyforge refuses the token: error, exit 3, the token never in the reason",
			env: env{workspace: map[string]string{".tinyforge.yml": inSyncYAML},
				liveErr: errors.New("tinyforge: 401 unauthorized for token " + canary + ": check tinyforge-token")},
			in: Inputs{Workload: "3", FailOn: DefaultFailOn, Event: prEvent(), Forge: ForgeGitHub, Secrets: []string{canary}},
			want: outcome{Verdict: VerdictError, Reason: `could not read workload "3" from Tinyforge: tinyforge: 401 unauthorized for token ***: check tinyforge-token`,
				Path: ".tinyforge.yml", Exit: ExitError, State: forge.StateError, StatusSHA: "head1111111",
				Description: "Check could not finish: see the job log"},
		},
		{
			name: "Tinyforge down with error not in fail-on: reported, exit 0",
			env:  env{workspace: map[string]string{".tinyforge.yml": inSyncYAML}, liveErr: errors.New("dial tcp 127.0.0.1:1: connection refused")},
			in:   Inputs{Workload: "web", FailOn: FailOn{Invalid: true}, Event: pushEvent(), Forge: ForgeGitLab},
			want: outcome{Verdict: VerdictError, Reason: `could not read workload "web" from Tinyforge: dial tcp 127.0.0.1:1: connection refused`,
				Path: ".tinyforge.yml", State: forge.StateError, StatusSHA: "push3333333", Description: "Check could not finish: see the job log"},
		},
		{
			name: "unknown workload name",
			env:  env{workspace: map[string]string{".tinyforge.yml": inSyncYAML}, workloads: []*Workload{liveWeb()}},
			in:   Inputs{Workload: "api", FailOn: DefaultFailOn, Event: pushEvent(), Forge: ForgeGitHub},
			want: outcome{Verdict: VerdictError, Reason: `Tinyforge has no workload "api" that this token can read: check the workload input (an id or a name) and the token's workload limit`,
				Path: ".tinyforge.yml", Exit: ExitError, State: forge.StateError, StatusSHA: "push3333333", Description: "Check could not finish: see the job log"},
		},
		{
			name: "path from Tinyforge when the input is empty",
			env:  env{workspace: map[string]string{"deploy/tinyforge.yml": inSyncYAML}, workloads: []*Workload{otherPath}},
			in:   Inputs{Workload: "3", FailOn: DefaultFailOn, Event: pushEvent(), Forge: ForgeGitHub},
			want: outcome{Verdict: VerdictInSync, Path: "deploy/tinyforge.yml", State: forge.StateSuccess, StatusSHA: "push3333333",
				Description: "In sync: 2 declared fields match live",
				Rows: []Row{
					{Field: "deploy.port", Head: "8080", Live: "8080", Tag: TagInSync},
					{Field: "deploy.deploy_strategy", Head: "rolling", Live: "rolling", Tag: TagInSync},
				}},
		},
		{
			name: "path input wins over Tinyforge, with a warning",
			env:  env{workspace: map[string]string{".tinyforge.yml": inSyncYAML}, workloads: []*Workload{otherPath}},
			in:   Inputs{Path: "./.tinyforge.yml", Workload: "3", FailOn: DefaultFailOn, Event: pushEvent(), Forge: ForgeGitHub},
			want: outcome{Verdict: VerdictInSync, Path: ".tinyforge.yml", State: forge.StateSuccess, StatusSHA: "push3333333",
				Description: "In sync: 2 declared fields match live",
				Rows: []Row{
					{Field: "deploy.port", Head: "8080", Live: "8080", Tag: TagInSync},
					{Field: "deploy.deploy_strategy", Head: "rolling", Live: "rolling", Tag: TagInSync},
				},
				Notices: []Notice{{LevelWarning, `the path input ".tinyforge.yml" differs from the GitOps path "deploy/tinyforge.yml" set in Tinyforge: Tinyforge syncs "deploy/tinyforge.yml"`}}},
		},
		{
			name: "pull_request_target reads the PR head's file through the API, never the workspace",
			env: env{workspace: map[string]string{".tinyforge.yml": inSyncYAML}, workloads: []*Workload{liveWeb()},
				files: map[string]string{"head1111111:.tinyforge.yml": driftYAML, "base2222222:.tinyforge.yml": inSyncYAML}},
			in: Inputs{Workload: "3", FailOn: DefaultFailOn, Forge: ForgeGitHub,
				Event: Event{Name: EventPullRequestTarget, CommitSHA: "base2222222", PR: &PullRequest{Number: 7, HeadSHA: "head1111111", BaseSHA: "base2222222", Fork: true}}},
			want: outcome{Verdict: VerdictDrift, Path: ".tinyforge.yml", State: forge.StateSuccess, StatusSHA: "head1111111",
				Description: "1 field differs from live: Sync required",
				Drift:       []gitops.DriftEntry{{Field: "deploy.port", RepoValue: "9090", LiveValue: "8080"}},
				Rows: []Row{
					{Field: "deploy.port", Base: "8080", Head: "9090", Live: "8080", Drift: true, Tag: TagChanged},
					{Field: "deploy.deploy_strategy", Base: "rolling", Head: "rolling", Live: "rolling", Tag: TagInSync},
				}, Comment: forge.CommentCreated},
		},
		{
			name: "a file over 64 KiB from the API is invalid",
			env:  env{workloads: []*Workload{liveWeb()}, files: map[string]string{"head1111111:.tinyforge.yml": "TOO-LARGE"}},
			in: Inputs{Workload: "3", FailOn: DefaultFailOn, Forge: ForgeGitHub,
				Event: Event{Name: EventPullRequestTarget, CommitSHA: "base2222222", PR: &PullRequest{Number: 7, HeadSHA: "head1111111", BaseSHA: "base2222222"}}},
			want: outcome{Verdict: VerdictInvalid, Reason: ".tinyforge.yml has 1 error", Path: ".tinyforge.yml", Exit: ExitFailed,
				State: forge.StateFailure, StatusSHA: "head1111111", Description: "1 error in .tinyforge.yml: fix the file",
				Codes: []string{"0:0 file-too-large"}, Comment: forge.CommentCreated},
		},
		{
			name: "status write failing for another reason than 403 is an error exit",
			env: env{workspace: map[string]string{".tinyforge.yml": inSyncYAML}, workloads: []*Workload{liveWeb()},
				statusErr: errors.New("github: 502 bad gateway")},
			in: Inputs{Workload: "3", FailOn: DefaultFailOn, Event: pushEvent(), Forge: ForgeGitHub},
			want: outcome{Verdict: VerdictInSync, Path: ".tinyforge.yml", Exit: ExitError, State: forge.StateSuccess, StatusSHA: "push3333333",
				Description: "In sync: 2 declared fields match live",
				Rows: []Row{
					{Field: "deploy.port", Head: "8080", Live: "8080", Tag: TagInSync},
					{Field: "deploy.deploy_strategy", Head: "rolling", Live: "rolling", Tag: TagInSync},
				},
				Notices: []Notice{{LevelError, "could not set the commit status: github: 502 bad gateway"}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _, _, _, _ := tt.env.checker()
			r, err := c.Run(t.Context(), tt.in)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if diff := cmp.Diff(tt.want, outcomeOf(r), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("report mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRunStatusAndComment(t *testing.T) {
	c, st, cm, files, live := env{workspace: map[string]string{".tinyforge.yml": driftYAML}, workloads: []*Workload{liveWeb()},
		files: map[string]string{"base2222222:.tinyforge.yml": inSyncYAML}}.checker()
	r, err := c.Run(t.Context(), Inputs{Workload: "3", FailOn: DefaultFailOn, Event: prEvent(), Forge: ForgeGitHub,
		RunID: 42, StatusContext: "tinyforge/web"})
	if err != nil {
		t.Fatal(err)
	}
	sha := gitops.FileSHA([]byte(driftYAML))
	wantStatus := []forge.CommitStatus{{SHA: "head1111111", State: forge.StateSuccess, Context: "tinyforge/web",
		Description: "1 field differs from live: Sync required",
		TargetURL:   "https://tf.example/apps/3?file=" + sha + "&commit=head1111111&pr=7#gitops"}}
	if diff := cmp.Diff(wantStatus, st.got); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	if len(cm.got) != 1 {
		t.Fatalf("comment requests = %d, want 1", len(cm.got))
	}
	req := cm.got[0]
	if diff := cmp.Diff(forge.CommentRequest{Number: 7, Context: "tinyforge/web", RunID: 42, Body: RenderComment(r)}, req); diff != "" {
		t.Errorf("comment request (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"base2222222:.tinyforge.yml"}, files.sortedCalls()); diff != "" {
		t.Errorf("file reads (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"get 3"}, live.calls); diff != "" {
		t.Errorf("tinyforge calls (-want +got):\n%s", diff)
	}
	if r.Comment.URL != "https://forge.test/pr/7#comment-1" {
		t.Errorf("comment URL = %q", r.Comment.URL)
	}

	// A rerun with nothing new makes no write.
	r2, err := c.Run(t.Context(), Inputs{Workload: "3", FailOn: DefaultFailOn, Event: prEvent(), Forge: ForgeGitHub,
		RunID: 43, StatusContext: "tinyforge/web"})
	if err != nil {
		t.Fatal(err)
	}
	if r2.Comment.Action != forge.CommentUnchanged || cm.written != 1 {
		t.Errorf("rerun: action %q, writes %d; want unchanged, 1", r2.Comment.Action, cm.written)
	}
}

func TestCommentModes(t *testing.T) {
	tests := []struct {
		name     string
		yaml     string
		mode     CommentMode
		liveErr  error
		pr       bool
		wantReqs []bool // UpdateOnly of each request
	}{
		{"auto, in sync: update only", inSyncYAML, CommentAuto, nil, true, []bool{true}},
		{"auto, drift: create", driftYAML, CommentAuto, nil, true, []bool{false}},
		{"always, in sync: create", inSyncYAML, CommentAlways, nil, true, []bool{false}},
		{"never, drift: nothing", driftYAML, CommentNever, nil, true, nil},
		{"auto, error: keep the last report", driftYAML, CommentAuto, errors.New("down"), true, nil},
		{"always, error: write", driftYAML, CommentAlways, errors.New("down"), true, []bool{false}},
		{"zero mode is auto", inSyncYAML, "", nil, true, []bool{true}},
		{"push: never a comment", driftYAML, CommentAlways, nil, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _, cm, _, _ := env{workspace: map[string]string{".tinyforge.yml": tt.yaml}, workloads: []*Workload{liveWeb()}, liveErr: tt.liveErr}.checker()
			ev := pushEvent()
			if tt.pr {
				ev = prEvent()
			}
			if _, err := c.Run(t.Context(), Inputs{Workload: "3", Comment: tt.mode, Event: ev}); err != nil {
				t.Fatal(err)
			}
			var got []bool
			for _, r := range cm.got {
				got = append(got, r.UpdateOnly)
			}
			if diff := cmp.Diff(tt.wantReqs, got); diff != "" {
				t.Errorf("requests (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRunSyncPreview(t *testing.T) {
	tests := []struct {
		name string
		live string
		want SyncPreview
	}{
		{"valid merge", `{"port":8080,"healthcheck":"/healthz"}`, SyncPreview{Valid: true}},
		{"invalid live value in a declared field is fixed by the Sync", `{"port":0,"healthcheck":"/healthz"}`, SyncPreview{Valid: true}},
		{"invalid live value in an undeclared field makes the Sync fail", `{"port":8080,"healthcheck":"has space"}`, SyncPreview{Error: "healthcheck"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := liveWeb()
			w.SourceConfig = json.RawMessage(tt.live)
			c, _, _, _, _ := env{workspace: map[string]string{".tinyforge.yml": "version: 1\ndeploy:\n  port: 8080\n"}, workloads: []*Workload{w}}.checker()
			r, err := c.Run(t.Context(), Inputs{Workload: "3", Event: pushEvent()})
			if err != nil {
				t.Fatal(err)
			}
			got := *r.Sync
			if !got.Valid {
				if !strings.Contains(got.Error, tt.want.Error) || strings.Contains(got.Error, "has space") {
					t.Errorf("sync error %q: want it to name %q and not the value", got.Error, tt.want.Error)
				}
				got.Error = tt.want.Error
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("sync (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRunUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		live bool
		in   Inputs
		want string
	}{
		{"path escapes the repo", false, Inputs{Path: "../etc/passwd"}, `path "../etc/passwd"`},
		{"absolute path", false, Inputs{Path: "/etc/passwd"}, `path "/etc/passwd"`},
		{"no workload with Tinyforge", true, Inputs{}, "workload: missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &Checker{Workspace: fstest.MapFS{}}
			if tt.live {
				c.Live = &fakeLive{}
			}
			_, err := c.Run(t.Context(), tt.in)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Run error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestVerdictMapping(t *testing.T) {
	all := FailOn{Invalid: true, Drift: true, Error: true}
	tests := []struct {
		v        Verdict
		forge    Forge
		failOn   FailOn
		state    forge.State
		exitCode int
	}{
		{VerdictInSync, ForgeGitHub, all, forge.StateSuccess, 0},
		{VerdictDrift, ForgeGitHub, DefaultFailOn, forge.StateSuccess, 0},
		{VerdictDrift, ForgeGitea, DefaultFailOn, forge.StateWarning, 0},
		{VerdictDrift, ForgeGitLab, DefaultFailOn, forge.StateSuccess, 0},
		{VerdictDrift, ForgeGitea, all, forge.StateFailure, 1},
		{VerdictInvalid, ForgeGitHub, DefaultFailOn, forge.StateFailure, 1},
		{VerdictInvalid, ForgeGitHub, FailOn{}, forge.StateFailure, 0},
		{VerdictNoFile, ForgeGitHub, DefaultFailOn, forge.StateFailure, 1},
		{VerdictDisabled, ForgeGitHub, all, forge.StateSuccess, 0},
		{VerdictSkipped, ForgeGitea, all, forge.StateSuccess, 0},
		{VerdictError, ForgeGitHub, DefaultFailOn, forge.StateError, 3},
		{VerdictError, ForgeGitHub, FailOn{Invalid: true}, forge.StateError, 0},
	}
	for _, tt := range tests {
		if got := StatusState(tt.v, tt.forge, tt.failOn); got != tt.state {
			t.Errorf("StatusState(%s, %s, %s) = %s, want %s", tt.v, tt.forge, tt.failOn, got, tt.state)
		}
		if got := ExitCode(tt.v, tt.failOn); got != tt.exitCode {
			t.Errorf("ExitCode(%s, %s) = %d, want %d", tt.v, tt.failOn, got, tt.exitCode)
		}
	}
}

func TestParseInputs(t *testing.T) {
	failOn := []struct {
		in      string
		want    FailOn
		wantErr bool
	}{
		{"", DefaultFailOn, false},
		{"invalid,error", FailOn{Invalid: true, Error: true}, false},
		{" Drift , error ", FailOn{Drift: true, Error: true}, false},
		{"none", FailOn{}, false},
		{"invalid,warnings", FailOn{}, true},
	}
	for _, tt := range failOn {
		got, err := ParseFailOn(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseFailOn(%q) = %+v, %v; want %+v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
	modes := []struct {
		in      string
		want    CommentMode
		wantErr bool
	}{{"", CommentAuto, false}, {"ALWAYS", CommentAlways, false}, {"never", CommentNever, false}, {"sometimes", "", true}}
	for _, tt := range modes {
		got, err := ParseCommentMode(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseCommentMode(%q) = %q, %v; want %q, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
	if got := (FailOn{Drift: true, Error: true}).String(); got != "drift,error" {
		t.Errorf("String = %q", got)
	}
}

// TestRunNeverFollowsASymlink: a workspace file that is a symlink (perhaps to the runner's
// environment) is reported as invalid and never read, and the comment cannot carry a secret.
func TestRunNeverFollowsASymlink(t *testing.T) {
	const secret = "tfv_SECRET_CANARY"
	c, _, cm, _, _ := env{workloads: []*Workload{liveWeb()}}.checker()
	c.Workspace = fstest.MapFS{
		".tinyforge.yml": &fstest.MapFile{Data: []byte("../../proc/self/environ"), Mode: fs.ModeSymlink},
	}
	r, err := c.Run(t.Context(), Inputs{Workload: "3", FailOn: DefaultFailOn, Event: prEvent(), Forge: ForgeGitHub,
		Comment: CommentAlways, Secrets: []string{secret}})
	if err != nil {
		t.Fatal(err)
	}
	if r.Verdict != VerdictInvalid || len(r.Diagnostics) != 1 || r.Diagnostics[0].Code != "not-regular-file" {
		t.Fatalf("verdict %s, diagnostics %+v", r.Verdict, r.Diagnostics)
	}
	if cm.body == nil || strings.Contains(*cm.body, "environ") {
		t.Errorf("comment = %v", cm.body)
	}
}

// TestCommentLeftAloneNotice: a run that leaves the PR comment to a newer run says so in a
// notice and in its outputs (issue 22: a comment it did not write is never left silently), and
// comment-url names the comment it read back.
func TestCommentLeftAloneNotice(t *testing.T) {
	c, _, cm, _, _ := env{workspace: map[string]string{".tinyforge.yml": driftYAML}, workloads: []*Workload{liveWeb()}}.checker()
	newer := "a newer run's report"
	cm.body, cm.runID = &newer, 100
	r, err := c.Run(t.Context(), Inputs{Workload: "3", Comment: CommentAlways, Event: prEvent(), RunID: 5})
	if err != nil {
		t.Fatal(err)
	}
	want := Notice{LevelNotice, "the PR comment was left as it is: a newer run owns the comment"}
	if r.Comment.Action != forge.CommentSkipped || !slices.Contains(r.Notices, want) {
		t.Errorf("comment %+v, notices %v; want a skip and %v", r.Comment, r.Notices, want)
	}
	outs := Outputs(r)
	if !slices.Contains(outs, Output{"comment-action", "skipped"}) || !slices.Contains(outs, Output{"comment-url", "https://forge.test/pr/7#comment-1"}) {
		t.Errorf("outputs %v: want comment-action skipped and the comment read back", outs)
	}
}
