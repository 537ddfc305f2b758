package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/tinyforge/tinyforge-check/forge"
	"github.com/tinyforge/tinyforge-check/gitops"
	"github.com/tinyforge/tinyforge-check/internal/secret"
)

// Forge is what the server needs from a forge: the head commit of a branch and a file at a
// commit. Implementations must honour ctx and wrap ErrFileNotFound / ErrFileTooLarge.
type Forge interface {
	// BranchHead returns the SHA of branch's head commit.
	BranchHead(ctx context.Context, owner, repo, branch string) (string, error)
	// DownloadFile returns the file at path as of commit ref, at most maxBytes bytes.
	DownloadFile(ctx context.Context, owner, repo, ref, path string, maxBytes int64) ([]byte, error)
}

// ForgeOpener builds the Forge client of one repo: provider is "github", "gitea" or "gitlab",
// baseURL the forge root (the API root for GitHub) and token the decrypted access token ("" for
// anonymous). Its errors must not contain token.
type ForgeOpener func(provider, baseURL, token string) (Forge, error)

// Errors a Forge's DownloadFile wraps.
var (
	// ErrFileNotFound means the file does not exist at that commit (a 404): status no_file. It
	// is forge.ErrFileNotFound, which the providers wrap.
	ErrFileNotFound = forge.ErrFileNotFound
	// ErrFileTooLarge means the file is larger than the cap: status invalid. It is
	// forge.ErrFileTooLarge.
	ErrFileTooLarge = forge.ErrFileTooLarge
)

// fetchResult is the outcome of fetching and linting a workload's GitOps file.
type fetchResult struct {
	Status  gitops.FetchStatus
	Message string
	Raw     []byte
	// CommitSHA is the branch head the file was read at ("" when the head is unknown).
	CommitSHA string
	// FileSHA is the git blob SHA-1 of Raw ("" when there is no file).
	FileSHA string
	Spec    *gitops.Spec
	Diags   gitops.Diagnostics
	// CheckedAt is when CommitSHA was read from the forge (zero when it was not).
	CheckedAt time.Time
	// RateLimitedUntil is set when the forge is rate limiting the repo's token: until then the
	// server asks it nothing, and CommitSHA, when set, is the last head known (of CheckedAt).
	RateLimitedUntil time.Time
}

// fetch resolves the branch head (reusing one read less than maxAge ago; 0 reads it now, see
// resolveHead), reads the file at that commit (from the cache when this commit was read
// before), and lints it for the workload's source type. It returns within the fetch timeout
// even when the forge ignores its context.
func (s *Server) fetch(ctx context.Context, wl *Workload, maxAge time.Duration) fetchResult {
	return s.fetchAt(ctx, wl, "", maxAge)
}

// fetchAt is fetch at commit at instead of the branch head ("" for the head, then maxAge
// applies): the file a PR proposes, which is not on the branch yet.
func (s *Server) fetchAt(ctx context.Context, wl *Workload, at string, maxAge time.Duration) fetchResult {
	if !gitops.SupportsGitOps(wl.SourceType) {
		return fetchResult{Status: gitops.StatusDisabled, Message: fmt.Sprintf("source type %q cannot use GitOps; only dockerfile and static workloads can", wl.SourceType)}
	}
	if !wl.GitOpsEnabled {
		return fetchResult{Status: gitops.StatusDisabled, Message: fmt.Sprintf("GitOps is disabled for this workload; an admin can turn it on in the panel or with PUT /api/workloads/%d/gitops", wl.ID)}
	}
	if wl.Repo.Provider == "" {
		return fetchResult{Status: gitops.StatusFetchFailed, Message: fmt.Sprintf("the workload has no repo; an admin can set it with PATCH /api/workloads/%d", wl.ID)}
	}
	token, err := s.cipher.Open(wl.ID, wl.Repo.SealedToken)
	if err != nil {
		return fetchResult{Status: gitops.StatusFetchFailed, Message: err.Error()}
	}
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, s.fetchTimeout)
	defer cancel()
	done := make(chan fetchResult, 1)
	go func() { done <- s.fetchFromForge(parent, ctx, wl, token, at, maxAge) }()
	select {
	case res := <-done:
		return res
	case <-ctx.Done():
		if parent.Err() != nil {
			return fetchResult{Status: gitops.StatusFetchFailed, Message: s.requestEnded(parent)}
		}
		return fetchResult{Status: gitops.StatusFetchFailed, Message: fmt.Sprintf("the forge did not answer within %s; check that %s is reachable and retry", s.fetchTimeout, wl.Repo.BaseURL)}
	}
}

// clientGone is the fetch message when the request itself ended (its client went away or its
// own deadline passed) before the forge answered: not the forge's fault.
const clientGone = "the request ended before the forge answered (the client went away or gave up); retry"

// requestEnded is the fetch message when parent, the request's context, ended before the forge
// answered: its client went away, or the server's deadline for the request (SyncDeadline) passed.
func (s *Server) requestEnded(parent context.Context) string {
	if pastDeadline(parent) {
		return s.stopReason(parent, waitedForForge)
	}
	return clientGone
}

// fetchFromForge fetches under ctx, the fetch deadline derived from parent, the request's
// context: its messages blame the client when parent ended and the forge when ctx timed out.
// It reads at commit at, or at the branch head when at is "" (see resolveHead for maxAge).
func (s *Server) fetchFromForge(parent, ctx context.Context, wl *Workload, token, at string, maxAge time.Duration) fetchResult {
	forge, err := s.openForge(wl.Repo.Provider, wl.Repo.BaseURL, token)
	if err != nil {
		return s.fetchFailed(parent, "cannot use the forge", err, token)
	}
	h, err := head{sha: at, at: time.Now()}, error(nil)
	if at == "" {
		h, err = s.resolveHead(ctx, forge, wl, token, maxAge)
	}
	if err != nil {
		return s.fetchFailed(parent, fmt.Sprintf("cannot resolve branch %q", wl.Repo.Branch), err, token)
	}
	if h.sha == "" {
		return fetchResult{Status: gitops.StatusFetchFailed, Message: fmt.Sprintf("the forge returned no head commit for branch %q", wl.Repo.Branch)}
	}
	ent, err := s.fileAt(ctx, forge, wl, h.sha, headKey(wl, token))
	var res fetchResult
	if err != nil {
		res = s.fetchFailed(parent, fmt.Sprintf("cannot download %s at %s", wl.GitOpsPath, gitops.ShortSHA(h.sha)), err, token)
		res.CommitSHA = h.sha
	} else {
		res = fileResult(wl, h.sha, ent, s.lints)
	}
	res.CheckedAt = h.at
	if !h.limitedUntil.IsZero() {
		res.RateLimitedUntil = h.limitedUntil
	}
	return res
}

// fetchFailed is the fetch_failed result of err while doing what; its message blames the
// client when parent, the request's context, ended, and the forge when it timed out.
func (s *Server) fetchFailed(parent context.Context, what string, err error, token string) fetchResult {
	msg := what + ": " + secret.Redact(err.Error(), token)
	var dnsErr *net.DNSError
	var limited *rateLimitedError
	switch {
	case errors.As(err, &limited):
		// Not a broken repo: the server waits as the forge asked, then asks again.
		return fetchResult{Status: gitops.StatusFetchFailed, Message: msg, RateLimitedUntil: limited.until}
	case errors.As(err, &dnsErr):
		// Viewers read this message: name the host, never the server's own DNS resolver.
		reason := "could not be looked up"
		if dnsErr.IsNotFound {
			reason = "does not resolve (no such host)"
		} else if dnsErr.IsTimeout {
			reason = "could not be looked up in time"
		}
		msg = fmt.Sprintf("%s: the forge's host name %q %s", what, dnsErr.Name, reason)
	case parent.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)):
		msg = what + ": " + s.requestEnded(parent)
	case errors.Is(err, context.DeadlineExceeded):
		msg = fmt.Sprintf("%s: the forge did not answer within %s", what, s.fetchTimeout)
	}
	return fetchResult{Status: gitops.StatusFetchFailed, Message: clip(msg, 500) + "; check the repo settings and the forge, then retry"}
}

// fileAt returns wl's file at commit head: from the cache when this commit was read before,
// else downloaded (a missing or too large file is cached as such), joining a download of the
// same file in flight, in a turn of the server's forge requests. A rate limit starts the back-off
// of hk, the branch's headKey. The error is the download's.
func (s *Server) fileAt(ctx context.Context, forge Forge, wl *Workload, head, hk string) (cacheEntry, error) {
	key := cacheKey(wl, head)
	if ent, ok := s.cache.get(key); ok {
		return ent, nil
	}
	if e, _ := s.heads.get(hk); time.Now().Before(e.limitedUntil) {
		return cacheEntry{}, &rateLimitedError{until: e.limitedUntil}
	}
	return s.fileFlights.do(ctx, key+"\x00"+hk, func() (cacheEntry, error) {
		if ent, ok := s.cache.get(key); ok { // a download that ended just before this flight
			return ent, nil
		}
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.fetchTimeout)
		defer cancel()
		release, err := s.forgeTurn(fctx)
		if err != nil {
			return cacheEntry{}, err
		}
		data, err := forge.DownloadFile(fctx, wl.Repo.Owner, wl.Repo.Name, head, wl.GitOpsPath, gitops.MaxFileSize)
		release()
		var ent cacheEntry
		switch {
		case errors.Is(err, ErrFileNotFound):
			ent = cacheEntry{notFound: true}
		case errors.Is(err, ErrFileTooLarge) || (err == nil && len(data) > gitops.MaxFileSize):
			ent = cacheEntry{tooLarge: true}
		case err != nil:
			return cacheEntry{}, s.noteRateLimit(hk, err)
		default:
			ent = cacheEntry{raw: data}
		}
		s.cache.put(key, ent)
		return ent, nil
	})
}

// fileResult lints wl's file at commit head for the workload's source type.
func fileResult(wl *Workload, head string, ent cacheEntry, lints *lintCache) fetchResult {
	switch {
	case ent.notFound:
		return fetchResult{Status: gitops.StatusNoFile, CommitSHA: head,
			Message: fmt.Sprintf("%s does not exist at %s on branch %q; add it or change the GitOps path", wl.GitOpsPath, gitops.ShortSHA(head), wl.Repo.Branch)}
	case ent.tooLarge:
		return fetchResult{Status: gitops.StatusInvalid, CommitSHA: head,
			Message: fmt.Sprintf("%s is larger than %d KiB; a .tinyforge.yml must be at most 64 KiB", wl.GitOpsPath, gitops.MaxFileSize>>10)}
	}
	res := fetchResult{Raw: ent.raw, CommitSHA: head, FileSHA: gitops.FileSHA(ent.raw)}
	res.Spec, res.Diags = lints.lint(ent.raw, res.FileSHA, wl.SourceType)
	if res.Diags.HasErrors() || res.Spec == nil {
		n := len(res.Diags.Errors())
		res.Status, res.Spec = gitops.StatusInvalid, nil
		problems := fmt.Sprintf("%d errors; fix them", n)
		if n == 1 {
			problems = "1 error; fix it"
		}
		res.Message = fmt.Sprintf("%s has %s and push", wl.GitOpsPath, problems)
		return res
	}
	res.Status = gitops.StatusOK
	return res
}

// cacheKey identifies the file of one repo at one commit; the content at a commit never
// changes, so an entry stays valid until evicted.
func cacheKey(wl *Workload, commit string) string {
	return strings.Join([]string{wl.Repo.Provider, wl.Repo.BaseURL, wl.Repo.Owner, wl.Repo.Name, wl.GitOpsPath, commit}, "\x00")
}

type cacheEntry struct {
	raw      []byte
	notFound bool
	tooLarge bool
}

// fileCache is a bounded map from cacheKey to file content, evicting the oldest entry first.
type fileCache struct {
	mu    sync.Mutex
	max   int
	m     map[string]cacheEntry
	order []string
}

func newFileCache(max int) *fileCache {
	return &fileCache{max: max, m: make(map[string]cacheEntry, max)}
}

func (c *fileCache) get(k string) (cacheEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[k]
	return e, ok
}

func (c *fileCache) put(k string, e cacheEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[k]; ok {
		c.m[k] = e
		return
	}
	for len(c.order) >= c.max {
		delete(c.m, c.order[0])
		c.order = c.order[1:]
	}
	c.m[k] = e
	c.order = append(c.order, k)
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}

// timeString formats t as the API's RFC 3339 UTC timestamps.
func timeString(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// lintCache remembers gitops.Lint's result per (file fingerprint, source type), so that the
// workload list, which views every workload on each load, lints an unchanged file once. Its
// results are shared: callers never change a Spec or Diagnostics. Bounded: past maxLints it
// starts again empty.
type lintCache struct {
	mu sync.Mutex
	m  map[string]linted
}

// linted is one gitops.Lint result.
type linted struct {
	spec  *gitops.Spec
	diags gitops.Diagnostics
}

// maxLints bounds lintCache.
const maxLints = 1024

// lint is gitops.Lint(raw, sourceType), from the cache when the file with fingerprint sha was
// linted for sourceType before.
func (c *lintCache) lint(raw []byte, sha, sourceType string) (*gitops.Spec, gitops.Diagnostics) {
	key := sha + "\x00" + sourceType
	c.mu.Lock()
	l, ok := c.m[key]
	c.mu.Unlock()
	if ok {
		return l.spec, l.diags
	}
	spec, diags := gitops.Lint(raw, sourceType)
	c.mu.Lock()
	if len(c.m) >= maxLints {
		c.m = map[string]linted{}
	}
	c.m[key] = linted{spec, diags}
	c.mu.Unlock()
	return spec, diags
}
