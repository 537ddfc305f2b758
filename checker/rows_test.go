package checker

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tinyforge/tinyforge-check/gitops"
)

func TestRows(t *testing.T) {
	port := func(repo, live string) gitops.Comparison {
		return gitops.Comparison{Field: gitops.FieldPort, RepoValue: repo, LiveValue: live, Equal: repo == live}
	}
	health := func(repo, live string) gitops.Comparison {
		return gitops.Comparison{Field: gitops.FieldHealthcheck, RepoValue: repo, LiveValue: live, Equal: repo == live}
	}
	strategy := func(repo, live string) gitops.Comparison {
		return gitops.Comparison{Field: gitops.FieldDeployStrategy, RepoValue: repo, LiveValue: live, Equal: repo == live}
	}
	comps := func(c ...gitops.Comparison) []gitops.Comparison { return c }
	base := func(c ...gitops.Comparison) *baseFile { return &baseFile{Comparisons: c} }
	placeholder := func(p string) *baseFile { return &baseFile{Placeholder: p} }

	tests := []struct {
		name string
		head []gitops.Comparison
		base *baseFile
		want []Row
	}{
		{
			name: "no PR: in sync and differs, in the file's order",
			head: comps(port("9090", "8080"), strategy("rolling", "rolling")),
			want: []Row{
				{Field: gitops.FieldPort, Head: "9090", Live: "8080", Drift: true, Tag: TagDiffers},
				{Field: gitops.FieldDeployStrategy, Head: "rolling", Live: "rolling", Tag: TagInSync},
			},
		},
		{
			name: "no PR, nothing declared: an empty table",
			head: comps(),
			want: []Row{},
		},
		{
			name: "PR changes a field away from live",
			head: comps(port("9090", "8080")),
			base: base(port("8080", "8080")),
			want: []Row{{Field: gitops.FieldPort, Base: "8080", Head: "9090", Live: "8080", Drift: true, Tag: TagChanged}},
		},
		{
			name: "PR keeps a value live already differs from",
			head: comps(port("9090", "8080")),
			base: base(port("9090", "8080")),
			want: []Row{{Field: gitops.FieldPort, Base: "9090", Head: "9090", Live: "8080", Drift: true, Tag: TagDrifted}},
		},
		{
			name: "PR keeps a value equal to live",
			head: comps(port("8080", "8080")),
			base: base(port("8080", "8080")),
			want: []Row{{Field: gitops.FieldPort, Base: "8080", Head: "8080", Live: "8080", Tag: TagInSync}},
		},
		{
			name: "PR brings a drifted field back to live",
			head: comps(port("8080", "8080")),
			base: base(port("9090", "8080")),
			want: []Row{{Field: gitops.FieldPort, Base: "9090", Head: "8080", Live: "8080", Tag: TagReverts}},
		},
		{
			name: "PR rewrites a value live already equals to another equal one: still in sync",
			head: comps(gitops.Comparison{Field: gitops.FieldDeployStrategy, RepoValue: "recreate", LiveValue: gitops.Unset, Equal: true}),
			base: base(gitops.Comparison{Field: gitops.FieldDeployStrategy, RepoValue: `""`, LiveValue: gitops.Unset, Equal: true}),
			want: []Row{{Field: gitops.FieldDeployStrategy, Base: `""`, Head: "recreate", Live: gitops.Unset, Tag: TagInSync}},
		},
		{
			name: "PR declares a field the base does not: in sync, or changed",
			head: comps(port("8080", "8080"), health("/up", "/healthz")),
			base: base(),
			want: []Row{
				{Field: gitops.FieldPort, Base: NotDeclared, Head: "8080", Live: "8080", Tag: TagInSync},
				{Field: gitops.FieldHealthcheck, Base: NotDeclared, Head: "/up", Live: "/healthz", Drift: true, Tag: TagChanged},
			},
		},
		{
			name: "PR removes a field the base declared",
			head: comps(port("8080", "8080")),
			base: base(port("8080", "8080"), strategy("rolling", "recreate")),
			want: []Row{
				{Field: gitops.FieldPort, Base: "8080", Head: "8080", Live: "8080", Tag: TagInSync},
				{Field: gitops.FieldDeployStrategy, Base: "rolling", Head: NotDeclared, Live: "recreate", Tag: TagUnmanaged},
			},
		},
		{
			name: "PR rows follow the schema order, not the file's",
			head: comps(strategy("rolling", "rolling"), port("8080", "8080")),
			base: base(health(`""`, gitops.Unset)),
			want: []Row{
				{Field: gitops.FieldPort, Base: NotDeclared, Head: "8080", Live: "8080", Tag: TagInSync},
				{Field: gitops.FieldHealthcheck, Base: `""`, Head: NotDeclared, Live: gitops.Unset, Tag: TagUnmanaged},
				{Field: gitops.FieldDeployStrategy, Base: NotDeclared, Head: "rolling", Live: "rolling", Tag: TagInSync},
			},
		},
		{
			name: "base branch without the file: the PR adds every field",
			head: comps(port("8080", "8080"), strategy("rolling", "recreate")),
			base: placeholder(NoBaseFile),
			want: []Row{
				{Field: gitops.FieldPort, Base: NoBaseFile, Head: "8080", Live: "8080", Tag: TagInSync},
				{Field: gitops.FieldDeployStrategy, Base: NoBaseFile, Head: "rolling", Live: "recreate", Drift: true, Tag: TagChanged},
			},
		},
		{
			name: "base file invalid: only live counts",
			head: comps(port("8080", "8080"), strategy("rolling", "recreate")),
			base: placeholder(BaseInvalid),
			want: []Row{
				{Field: gitops.FieldPort, Base: BaseInvalid, Head: "8080", Live: "8080", Tag: TagInSync},
				{Field: gitops.FieldDeployStrategy, Base: BaseInvalid, Head: "rolling", Live: "recreate", Drift: true, Tag: TagDiffers},
			},
		},
		{
			name: "base file unavailable: only live counts",
			head: comps(port("9090", "8080")),
			base: placeholder(BaseUnavailable),
			want: []Row{{Field: gitops.FieldPort, Base: BaseUnavailable, Head: "9090", Live: "8080", Drift: true, Tag: TagDiffers}},
		},
		{
			name: "PR where neither side declares anything: no rows",
			head: comps(),
			base: base(),
			want: nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := rows(tt.head, tt.base)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("rows (-want +got):\n%s", diff)
			}
			if (got == nil) != (tt.want == nil) {
				t.Errorf("rows = %#v, want %#v (nil and empty differ in the report)", got, tt.want)
			}
		})
	}
}

func TestCompareBase(t *testing.T) {
	live := json.RawMessage(`{"port":8080,"deploy_strategy":"rolling"}`)
	tests := []struct {
		name string
		file string
		live json.RawMessage
		want *baseFile
	}{
		{
			name: "a valid file is compared with live",
			file: "version: 1\ndeploy:\n  port: 9090\n",
			live: live,
			want: &baseFile{Comparisons: []gitops.Comparison{{Field: gitops.FieldPort, RepoValue: "9090", LiveValue: "8080"}}},
		},
		{
			name: "a file that does not parse is invalid",
			file: "version: [1\n",
			live: live,
			want: &baseFile{Placeholder: BaseInvalid},
		},
		{
			name: "a live config that is not an object leaves the base unknown",
			file: "version: 1\ndeploy:\n  port: 8080\n",
			live: json.RawMessage(`[1]`),
			want: &baseFile{Placeholder: BaseUnavailable},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, compareBase([]byte(tt.file), tt.live)); diff != "" {
				t.Errorf("compareBase (-want +got):\n%s", diff)
			}
		})
	}
}
