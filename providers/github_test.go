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

func TestGitHubSetStatus(t *testing.T) {
	tests := []struct {
		name  string
		in    forge.CommitStatus
		want  forgefake.Status
		wantB string
	}{
		{
			name: "warning maps to success",
			in:   forge.CommitStatus{State: forge.StateWarning, Context: "tinyforge/gitops", Description: "1 field differs from live: Sync required", TargetURL: "https://tf.example/apps/1#gitops"},
			want: forgefake.Status{State: "success", Context: "tinyforge/gitops", Description: "1 field differs from live: Sync required", TargetURL: "https://tf.example/apps/1#gitops", Creator: "octo-bot"},
		},
		{
			name: "failure without target url",
			in:   forge.CommitStatus{State: forge.StateFailure, Context: "tinyforge/gitops", Description: "invalid"},
			want: forgefake.Status{State: "failure", Context: "tinyforge/gitops", Description: "invalid", Creator: "octo-bot"},
		},
		{
			name: "long description truncated to 140",
			in:   forge.CommitStatus{State: forge.StateError, Context: "c", Description: strings.Repeat("é", 200)},
			want: forgefake.Status{State: "error", Context: "c", Description: strings.Repeat("é", 139) + "…", Creator: "octo-bot"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, sha := newGitHubFake(t, forgefake.Options{})
			g := newGitHubProvider(t, f, nil, nil)
			tt.in.SHA = sha
			if err := g.Repo(owner, repoName).SetStatus(context.Background(), tt.in); err != nil {
				t.Fatal(err)
			}
			got := f.Statuses(owner, repoName, sha)
			if len(got) != 1 {
				t.Fatalf("statuses = %d, want 1", len(got))
			}
			got[0].ID = 0
			if diff := cmp.Diff(tt.want, got[0]); diff != "" {
				t.Errorf("status (-want +got):\n%s", diff)
			}
			reqs := f.Requests()
			if len(reqs) != 1 || reqs[0].Method != "POST" || reqs[0].Path != "/repos/acme/app/statuses/"+sha {
				t.Errorf("requests = %+v, want one POST /repos/acme/app/statuses/%s", reqs, sha)
			}
			if got := reqs[0].Header.Get("Authorization"); got != "Bearer "+testToken {
				t.Errorf("Authorization = %q", got)
			}
		})
	}
}

func TestGitHubSetStatusErrors(t *testing.T) {
	f, sha := newGitHubFake(t, forgefake.Options{})
	f.AddToken("ro", forgefake.Token{Login: "fork", ReadOnly: true})
	g := newGitHubProvider(t, f, nil, func(o *Options) { o.Token = "ro" })
	err := g.Repo(owner, repoName).SetStatus(context.Background(), forge.CommitStatus{SHA: sha, State: forge.StateSuccess, Context: "c"})
	if !errors.Is(err, forge.ErrForbidden) {
		t.Errorf("read-only token: err = %v, want ErrForbidden", err)
	}
	g = newGitHubProvider(t, f, nil, nil)
	if err := g.Repo(owner, repoName).SetStatus(context.Background(), forge.CommitStatus{SHA: sha, State: "bogus", Context: "c"}); err == nil {
		t.Error("unknown state: no error")
	}
	err = g.Repo(owner, repoName).SetStatus(context.Background(), forge.CommitStatus{SHA: strings.Repeat("0", 40), State: forge.StateSuccess, Context: "c"})
	var ae *APIError
	if !errors.As(err, &ae) || ae.StatusCode != 422 {
		t.Errorf("unknown sha: err = %v, want APIError 422", err)
	}
}
