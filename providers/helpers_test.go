package providers

import (
	"bytes"
	"log/slog"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/tinyforge/tinyforge-check/internal/forgefake"
)

// specs loads each API description once per test binary.
var specs forgefake.Specs

const (
	testToken = "tf-test-token-0123456789"
	owner     = "acme"
	repoName  = "app"
)

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// testHTTPConfig shrinks every wait so retries take milliseconds, and logs at
// debug level into logs.
func testHTTPConfig(logs *syncBuffer) HTTPConfig {
	cfg := HTTPConfig{
		AttemptTimeout: 5 * time.Second,
		MinWait:        time.Millisecond,
		MaxWait:        5 * time.Millisecond,
		MaxRetryAfter:  120 * time.Second,
		RetryAfterUnit: time.Millisecond,
	}
	if logs != nil {
		cfg.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return cfg
}

func testClient(t *testing.T, logs *syncBuffer) *http.Client {
	t.Helper()
	return NewHTTPClient(testHTTPConfig(logs))
}

// newGitHubFake starts a spec-validated fake GitHub with one repository, a
// main branch holding .tinyforge.yml and the test token.
func newGitHubFake(t *testing.T, o forgefake.Options) (*forgefake.GitHub, string) {
	t.Helper()
	o.Spec = specs.GitHub(t)
	f := forgefake.NewGitHub(t, o)
	f.AddToken(testToken, forgefake.Token{Login: "octo-bot"})
	sha := f.PutFile(owner, repoName, "main", ".tinyforge.yml", []byte("version: 1\n"))
	return f, sha
}

func newGitHubProvider(t *testing.T, f *forgefake.GitHub, logs *syncBuffer, mod func(*Options)) *GitHub {
	t.Helper()
	o := Options{BaseURL: f.URL(), Token: testToken, HTTPClient: testClient(t, logs), VerifyDelay: time.Millisecond}
	if mod != nil {
		mod(&o)
	}
	g, err := NewGitHub(o)
	if err != nil {
		t.Fatal(err)
	}
	return g
}
