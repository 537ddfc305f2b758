package providers

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/tinyforge/tinyforge-check/forge"
	"github.com/tinyforge/tinyforge-check/internal/forgefake"
)

func TestSetStatusAllForges(t *testing.T) {
	for _, fc := range forgeCases() {
		for _, state := range []forge.State{forge.StatePending, forge.StateSuccess, forge.StateWarning, forge.StateFailure, forge.StateError} {
			t.Run(fc.name+"/"+string(state), func(t *testing.T) {
				f, p := fc.setup(t, forgefake.Options{}, nil)
				sha := f.PutFile(owner, repoName, "main", "README", []byte("x"))
				f.ResetRequests()
				st := forge.CommitStatus{SHA: sha, State: state, Context: "tinyforge/gitops",
					Description: strings.Repeat("d", 150), TargetURL: "https://tf.example/apps/1?file=abc&commit=def#gitops"}
				if err := p.Repo(owner, repoName).SetStatus(context.Background(), st); err != nil {
					t.Fatal(err)
				}
				want := []forgefake.Status{{State: fc.states[state], Context: "tinyforge/gitops",
					Description: strings.Repeat("d", 139) + "…", TargetURL: st.TargetURL, Creator: botLogin}}
				got := f.Statuses(owner, repoName, sha)
				for i := range got {
					got[i].ID = 0
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("statuses (-want +got):\n%s", diff)
				}
				reqs := f.Requests()
				if len(reqs) != 1 {
					t.Fatalf("requests = %d, want 1", len(reqs))
				}
				wantPath := map[string]string{
					"github": "/repos/acme/app/statuses/" + sha,
					"gitea":  "/api/v1/repos/acme/app/statuses/" + sha,
					"gitlab": "/api/v4/projects/acme%2Fapp/statuses/" + sha,
				}[fc.name]
				if reqs[0].Method != http.MethodPost || reqs[0].Path != wantPath {
					t.Errorf("request = %s %s, want POST %s", reqs[0].Method, reqs[0].Path, wantPath)
				}
				var body map[string]any
				if err := json.Unmarshal(reqs[0].Body, &body); err != nil {
					t.Fatalf("body %q: %v", reqs[0].Body, err)
				}
				ctxKey := "context"
				if fc.name == "gitlab" {
					ctxKey = "name"
				}
				if body["state"] != fc.states[state] || body[ctxKey] != "tinyforge/gitops" || body["target_url"] != st.TargetURL {
					t.Errorf("body = %v", body)
				}
			})
		}
	}
}

func TestSetStatusForbidden(t *testing.T) {
	for _, fc := range forgeCases() {
		t.Run(fc.name, func(t *testing.T) {
			f, _ := fc.setup(t, forgefake.Options{}, nil)
			f.AddToken("fork-token", forgefake.Token{Login: "fork", ReadOnly: true})
			o := Options{Token: "fork-token", HTTPClient: testClient(t, nil)}
			p := fc.newProvider(t, f, o)
			sha := f.PutFile(owner, repoName, "main", "README", []byte("x"))
			err := p.Repo(owner, repoName).SetStatus(context.Background(), forge.CommitStatus{SHA: sha, State: forge.StateSuccess, Context: "c"})
			if !errors.Is(err, forge.ErrForbidden) {
				t.Errorf("err = %v, want ErrForbidden", err)
			}
			if len(f.Statuses(owner, repoName, sha)) != 0 {
				t.Error("a status was stored with a read-only token")
			}
		})
	}
}

func TestDownloadFile(t *testing.T) {
	big := strings.Repeat("x", DefaultMaxFileBytes+1)
	tests := []struct {
		name    string
		ref     string // "" means the commit sha of the put
		path    string
		max     int64
		want    string
		wantErr error
	}{
		{name: "at sha", path: ".tinyforge.yml", want: "version: 1\n"},
		{name: "at branch", ref: "main", path: ".tinyforge.yml", want: "version: 1\n"},
		{name: "nested path", path: "deploy/app.tinyforge.yml", want: "nested: true\n"},
		{name: "missing file", path: "nope.yml", wantErr: forge.ErrFileNotFound},
		{name: "missing ref", ref: "no-such-branch", path: ".tinyforge.yml", wantErr: forge.ErrFileNotFound},
		{name: "over explicit cap", path: ".tinyforge.yml", max: 5, wantErr: forge.ErrFileTooLarge},
		{name: "exactly the cap", path: ".tinyforge.yml", max: 11, want: "version: 1\n"},
		{name: "over default cap", path: "big.yml", wantErr: forge.ErrFileTooLarge},
	}
	for _, fc := range forgeCases() {
		t.Run(fc.name, func(t *testing.T) {
			f, p := fc.setup(t, forgefake.Options{}, nil)
			f.PutFile(owner, repoName, "main", "big.yml", []byte(big))
			f.PutFile(owner, repoName, "main", "deploy/app.tinyforge.yml", []byte("nested: true\n"))
			sha := f.PutFile(owner, repoName, "main", ".tinyforge.yml", []byte("version: 1\n"))
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					ref := tt.ref
					if ref == "" {
						ref = sha
					}
					f.ResetRequests()
					got, err := p.DownloadFile(context.Background(), owner, repoName, ref, tt.path, tt.max)
					if tt.wantErr != nil {
						if !errors.Is(err, tt.wantErr) {
							t.Fatalf("err = %v, want %v", err, tt.wantErr)
						}
					} else if err != nil {
						t.Fatal(err)
					}
					if diff := cmp.Diff(tt.want, string(got)); diff != "" {
						t.Errorf("content (-want +got):\n%s", diff)
					}
					reqs := f.Requests()
					if len(reqs) != 1 || reqs[0].Method != http.MethodGet || !strings.Contains(reqs[0].Query, "ref=") {
						t.Errorf("requests = %+v, want one GET with ref", reqs)
					}
				})
			}
		})
	}
}

func TestBranchHead(t *testing.T) {
	for _, fc := range forgeCases() {
		t.Run(fc.name, func(t *testing.T) {
			f, p := fc.setup(t, forgefake.Options{}, nil)
			f.PutFile(owner, repoName, "main", "a", []byte("1"))
			want := f.PutFile(owner, repoName, "main", "a", []byte("2"))
			feature := f.PutFile(owner, repoName, "feature/x", "a", []byte("3"))
			for branch, wantSHA := range map[string]string{"main": want, "feature/x": feature} {
				got, err := p.BranchHead(context.Background(), owner, repoName, branch)
				if err != nil {
					t.Fatalf("%s: %v", branch, err)
				}
				if got != wantSHA {
					t.Errorf("%s head = %s, want %s", branch, got, wantSHA)
				}
			}
			_, err := p.BranchHead(context.Background(), owner, repoName, "gone")
			if !errors.Is(err, forge.ErrNotFound) {
				t.Errorf("missing branch: err = %v, want ErrNotFound", err)
			}
		})
	}
}

// TestBadToken: a token the forge rejects is a configuration error
// (ErrUnauthorized), never mistaken for a fork PR's read-only token.
func TestBadToken(t *testing.T) {
	for _, fc := range forgeCases() {
		t.Run(fc.name, func(t *testing.T) {
			f, _ := fc.setup(t, forgefake.Options{}, nil)
			p := fc.newProvider(t, f, Options{Token: "wrong", HTTPClient: testClient(t, nil)})
			sha := f.PutFile(owner, repoName, "main", "README", []byte("x"))
			err := p.Repo(owner, repoName).SetStatus(context.Background(), forge.CommitStatus{SHA: sha, State: forge.StateSuccess, Context: "c"})
			if !errors.Is(err, ErrUnauthorized) || errors.Is(err, forge.ErrForbidden) {
				t.Errorf("SetStatus err = %v, want ErrUnauthorized only", err)
			}
			res, err := p.Repo(owner, repoName).UpsertComment(context.Background(), forge.CommentRequest{Number: 7, Context: ctxName, RunID: 1, Body: "x"})
			if !errors.Is(err, ErrUnauthorized) || res.Action == forge.CommentSkipped {
				t.Errorf("UpsertComment = %+v, %v; want ErrUnauthorized and no skip", res, err)
			}
		})
	}
}
