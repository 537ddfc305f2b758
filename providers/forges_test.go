package providers

import (
	"context"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/tinyforge/tinyforge-check/forge"
	"github.com/tinyforge/tinyforge-check/internal/forgefake"
)

// provider is what the cross-forge tests need from a provider; each concrete
// provider satisfies it.
type provider interface {
	Repo(owner, repo string) *Repo
	DownloadFile(ctx context.Context, owner, repo, ref, path string, maxBytes int64) ([]byte, error)
	BranchHead(ctx context.Context, owner, repo, branch string) (string, error)
}

// fake is what the tests need from a fake forge; every forgefake server
// satisfies it.
type fake interface {
	URL() string
	AddToken(token string, tk forgefake.Token)
	PutFile(owner, name, branch, path string, content []byte) string
	AddComment(owner, name string, number int, author, body string) int64
	Comments(owner, name string, number int) []forgefake.Comment
	Statuses(owner, name, sha string) []forgefake.Status
	SetFault(f forgefake.Fault)
	ClearFaults()
	Requests() []forgefake.Request
	ResetRequests()
}

// forgeCase builds one forge's fake and provider.
type forgeCase struct {
	name string
	// apiPrefix is the path prefix of the API on the fake.
	apiPrefix string
	// commentsPath and commentPath render the list/create and edit paths.
	commentsPath func(number int) string
	commentPath  func(id int64) string
	editMethod   string
	// pageSize is the forge's comment page size as the provider asks it (0:
	// unpaginated).
	pageSize int
	// states maps the check's states to what the forge stores.
	states map[forge.State]string
	// newFake starts the fake with the repository and the test token.
	newFake func(t *testing.T, o forgefake.Options) fake
	// newProvider builds the provider for the fake.
	newProvider func(t *testing.T, f fake, o Options) provider
}

const botLogin = "tf-bot"

func forgeCases() []forgeCase {
	return []forgeCase{
		{
			name:         "github",
			commentsPath: func(n int) string { return "/repos/acme/app/issues/" + itoa(int64(n)) + "/comments" },
			commentPath:  func(id int64) string { return "/repos/acme/app/issues/comments/" + itoa(id) },
			editMethod:   http.MethodPatch,
			pageSize:     100,
			states: map[forge.State]string{forge.StatePending: "pending", forge.StateSuccess: "success", forge.StateWarning: "success",
				forge.StateFailure: "failure", forge.StateError: "error"},
			newFake: func(t *testing.T, o forgefake.Options) fake {
				o.Spec = specs.GitHub(t)
				f := forgefake.NewGitHub(t, o)
				f.AddToken(testToken, forgefake.Token{Login: botLogin})
				f.AddRepo(owner, repoName)
				return f
			},
			newProvider: func(t *testing.T, f fake, o Options) provider {
				o.BaseURL = f.URL()
				g, err := NewGitHub(o)
				if err != nil {
					t.Fatal(err)
				}
				return g
			},
		},
		{
			name:         "gitea",
			apiPrefix:    "/api/v1",
			commentsPath: func(n int) string { return "/api/v1/repos/acme/app/issues/" + itoa(int64(n)) + "/comments" },
			commentPath:  func(id int64) string { return "/api/v1/repos/acme/app/issues/comments/" + itoa(id) },
			editMethod:   http.MethodPatch,
			states: map[forge.State]string{forge.StatePending: "pending", forge.StateSuccess: "success", forge.StateWarning: "warning",
				forge.StateFailure: "failure", forge.StateError: "error"},
			newFake: func(t *testing.T, o forgefake.Options) fake {
				o.Spec = specs.Gitea(t)
				f := forgefake.NewGitea(t, o)
				f.AddToken(testToken, forgefake.Token{Login: botLogin})
				f.AddRepo(owner, repoName)
				return f
			},
			newProvider: func(t *testing.T, f fake, o Options) provider {
				o.BaseURL = f.URL()
				g, err := NewGitea(o)
				if err != nil {
					t.Fatal(err)
				}
				return g
			},
		},
		{
			name:         "gitlab",
			apiPrefix:    "/api/v4",
			commentsPath: func(n int) string { return "/api/v4/projects/acme%2Fapp/merge_requests/" + itoa(int64(n)) + "/notes" },
			commentPath: func(id int64) string {
				return "/api/v4/projects/acme%2Fapp/merge_requests/7/notes/" + itoa(id)
			},
			editMethod: http.MethodPut,
			pageSize:   100,
			states: map[forge.State]string{forge.StatePending: "pending", forge.StateSuccess: "success", forge.StateWarning: "success",
				forge.StateFailure: "failed", forge.StateError: "failed"},
			newFake: func(t *testing.T, o forgefake.Options) fake {
				f := forgefake.NewGitLab(t, o)
				f.AddToken(testToken, forgefake.Token{Login: botLogin})
				f.AddRepo(owner, repoName)
				return f
			},
			newProvider: func(t *testing.T, f fake, o Options) provider {
				o.BaseURL = f.URL()
				g, err := NewGitLab(o)
				if err != nil {
					t.Fatal(err)
				}
				return g
			},
		},
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// setup starts a fake and a provider using the test token.
func (fc forgeCase) setup(t *testing.T, fo forgefake.Options, mod func(*Options)) (fake, provider) {
	t.Helper()
	f := fc.newFake(t, fo)
	o := Options{Token: testToken, HTTPClient: testClient(t, nil), VerifyDelay: time.Millisecond}
	if mod != nil {
		mod(&o)
	}
	return f, fc.newProvider(t, f, o)
}

// writes returns the recorded requests that change state.
func writes(reqs []forgefake.Request) []string {
	var out []string
	for _, r := range reqs {
		if r.Method != http.MethodGet {
			out = append(out, r.Method+" "+r.Path)
		}
	}
	return out
}
