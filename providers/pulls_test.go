package providers

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tinyforge/tinyforge-check/forge"
	"github.com/tinyforge/tinyforge-check/internal/forgefake"
)

// pullFake is what the merged-PR tests need beyond fake: pull requests to open and merge.
type pullFake interface {
	OpenPull(owner, name string, number int, head, base string)
	MergePull(owner, name string, number int) (string, error)
}

// TestMergedPulls checks, on each forge's fake (checked against its API description), that the
// merge commit of a PR names that PR, and that a PR's head before its merge, a direct push and
// an unknown commit name none: only merged PRs count.
func TestMergedPulls(t *testing.T) {
	paths := map[string]string{
		"github": "/repos/acme/app/commits/%s/pulls",
		"gitea":  "/api/v1/repos/acme/app/commits/%s/pull",
		"gitlab": "/api/v4/projects/acme%2Fapp/repository/commits/%s/merge_requests",
	}
	for _, fc := range forgeCases() {
		t.Run(fc.name, func(t *testing.T) {
			f, p := fc.setup(t, forgefake.Options{}, nil)
			pf := f.(pullFake)
			ctx := context.Background()
			f.PutFile(owner, repoName, "main", ".tinyforge.yml", []byte("port: 80\n"))
			head := f.PutFile(owner, repoName, "port-8080", ".tinyforge.yml", []byte("port: 8080\n"))
			pf.OpenPull(owner, repoName, 7, "port-8080", "main")
			pf.OpenPull(owner, repoName, 8, "port-8080", "main") // same head, never merged
			repo := p.Repo(owner, repoName)

			got, err := repo.MergedPulls(ctx, head)
			if err != nil || len(got) != 0 {
				t.Errorf("MergedPulls(open head) = %v, %v; want none", got, err)
			}
			merge, err := pf.MergePull(owner, repoName, 7)
			if err != nil {
				t.Fatal(err)
			}
			f.ResetRequests()
			got, err = repo.MergedPulls(ctx, merge)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]int{7}, got); diff != "" {
				t.Errorf("MergedPulls(merge commit) (-want +got):\n%s", diff)
			}
			reqs := f.Requests()
			if len(reqs) != 1 || reqs[0].Method != "GET" || reqs[0].Path != strings.Replace(paths[fc.name], "%s", merge, 1) {
				t.Errorf("requests = %v; want one GET %s", reqs, strings.Replace(paths[fc.name], "%s", merge, 1))
			}
			push := f.PutFile(owner, repoName, "main", "README.md", []byte("hi\n"))
			for _, sha := range []string{push, strings.Repeat("0", 40)} {
				if got, err := repo.MergedPulls(ctx, sha); err != nil || len(got) != 0 {
					t.Errorf("MergedPulls(%s) = %v, %v; want none", sha[:7], got, err)
				}
			}
		})
	}
}

// TestMergedPullsForbidden checks that a token refused the read (HTTP 403) is reported as
// forge.ErrForbidden, not as "no PR".
func TestMergedPullsForbidden(t *testing.T) {
	for _, fc := range forgeCases() {
		t.Run(fc.name, func(t *testing.T) {
			f, p := fc.setup(t, forgefake.Options{}, nil)
			f.SetFault(forgefake.Fault{Kind: forgefake.FaultStatus, Status: 403, PathContains: "/commits/"})
			_, err := p.Repo(owner, repoName).MergedPulls(context.Background(), strings.Repeat("a", 40))
			if !errors.Is(err, forge.ErrForbidden) {
				t.Errorf("err = %v; want forge.ErrForbidden", err)
			}
		})
	}
}
