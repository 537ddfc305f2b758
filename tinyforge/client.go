package tinyforge

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tinyforge/tinyforge-check/gitops"
	"github.com/tinyforge/tinyforge-check/internal/secret"
)

const (
	// maxResponseBytes caps a successful answer body; larger answers are an error.
	maxResponseBytes = 4 << 20
	// maxErrorBytes caps how much of an error answer is read for its message.
	maxErrorBytes = 64 << 10
	// defaultTimeout is the per-attempt timeout of the default HTTP client.
	defaultTimeout = 20 * time.Second
)

// Client calls the Tinyforge API of docs/tinyforge-api.md with a bearer token. Build it with NewClient; the
// zero value is not usable. A Client is safe for concurrent use.
type Client struct {
	base  *url.URL // the server root, without the /api suffix
	token string
	hc    *http.Client
}

// NewClient returns a Client for the Tinyforge server at baseURL (its root, e.g.
// "https://tinyforge.example.com"; a trailing "/api" is accepted) authenticating with token.
// hc carries the transport policy: timeouts, and retries of idempotent requests on 5xx, 429 and
// transport errors. Pass the shared client of providers.NewHTTPClient, as the action does; nil
// gives a client with a 20 s timeout and no retries. The Client never follows a redirect to
// another host, so the token is never sent anywhere but baseURL's host.
func NewClient(baseURL, token string, hc *http.Client) (*Client, error) {
	u, err := url.Parse(strings.TrimSpace(baseURL))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("tinyforge: base url %q must be an absolute http(s) URL like https://tinyforge.example.com", baseURL)
	}
	if u.User != nil {
		return nil, errors.New("tinyforge: base url must not carry credentials; pass the token separately")
	}
	u.Path = strings.TrimSuffix(strings.TrimSuffix(u.Path, "/"), "/api")
	u.RawQuery, u.Fragment, u.RawPath = "", "", ""
	var c http.Client
	if hc != nil {
		c = *hc
	} else {
		c.Timeout = defaultTimeout
	}
	c.CheckRedirect = sameHostRedirects
	return &Client{base: u, token: token, hc: &c}, nil
}

// sameHostRedirects follows at most 5 redirects and only within the original host.
func sameHostRedirects(req *http.Request, via []*http.Request) error {
	if len(via) >= 5 {
		return errors.New("tinyforge: stopped after 5 redirects")
	}
	if req.URL.Host != via[0].URL.Host || req.URL.Scheme != via[0].URL.Scheme {
		return fmt.Errorf("tinyforge: refusing redirect to another origin (%s); set the Tinyforge URL to the server's real address", req.URL.Host)
	}
	return nil
}

// PageURL is the panel page of workload id: {base}/apps/{id}.
func (c *Client) PageURL(id int64) string {
	u := *c.base
	u.Path = strings.TrimSuffix(u.Path, "/") + "/apps/" + strconv.FormatInt(id, 10)
	return u.String()
}

// UIURL is PageURL pinned to a file and commit when they are non-empty:
// {base}/apps/{id}?file=<fileSHA>&commit=<commitSHA>#gitops (gitops.PinnedURL).
func (c *Client) UIURL(id int64, fileSHA, commitSHA string) string {
	return gitops.PinnedURL(c.PageURL(id), fileSHA, commitSHA)
}

// ListWorkloads calls GET /api/workloads, filtered by exact name when name is not "".
func (c *Client) ListWorkloads(ctx context.Context, name string) ([]WorkloadSummary, error) {
	p := "/api/workloads"
	if name != "" {
		p += "?name=" + url.QueryEscape(name)
	}
	var out []WorkloadSummary
	if err := c.do(ctx, http.MethodGet, p, nil, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// GetWorkload calls GET /api/workloads/{id}: the live config, version and GitOps settings.
// It never makes the server contact the forge.
func (c *Client) GetWorkload(ctx context.Context, id int64) (*Workload, error) {
	return call[Workload](ctx, c, http.MethodGet, workloadPath(id, ""), nil)
}

// FindWorkload resolves the action's `workload` input: an all-digit value is an id (GET
// /api/workloads/{id}); anything else is a name, looked up with GET /api/workloads?name=, whose
// answer holds the whole workload on servers that send it (the reference server does), else
// the workload is then read by id. A name that matches nothing wraps ErrNotFound.
func (c *Client) FindWorkload(ctx context.Context, idOrName string) (*Workload, error) {
	idOrName = strings.TrimSpace(idOrName)
	if idOrName == "" {
		return nil, errors.New("tinyforge: empty workload; give a workload id or name")
	}
	if id, err := strconv.ParseInt(idOrName, 10, 64); err == nil && id > 0 {
		return c.GetWorkload(ctx, id)
	}
	return c.FindWorkloadByName(ctx, idOrName)
}

// FindWorkloadByName looks a workload up by its exact name only, even an all-digit one: GET
// /api/workloads?name=, whose answer holds the whole workload on servers that send it (the
// reference server does), else the workload is then read by id. No match wraps ErrNotFound.
func (c *Client) FindWorkloadByName(ctx context.Context, name string) (*Workload, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return nil, errors.New("tinyforge: empty workload name; give a workload id or name")
	}
	var list []Workload
	if err := c.do(ctx, http.MethodGet, "/api/workloads?name="+url.QueryEscape(name), nil, &list); err != nil {
		return nil, err
	}
	for i, w := range list {
		if w.Name != name {
			continue
		}
		if len(w.SourceConfig) > 0 && string(w.SourceConfig) != "null" {
			return &list[i], nil // the whole workload came with the lookup
		}
		return c.GetWorkload(ctx, w.ID)
	}
	return nil, fmt.Errorf("tinyforge: no workload named %q visible to this token; check the name or use the workload id: %w", name, ErrNotFound)
}

// CreateWorkload calls POST /api/workloads (admin) and returns the new workload.
func (c *Client) CreateWorkload(ctx context.Context, req CreateWorkloadRequest) (*Workload, error) {
	return call[Workload](ctx, c, http.MethodPost, "/api/workloads", req)
}

// UpdateWorkload calls PATCH /api/workloads/{id} (admin, the edit form). A stale Version wraps
// ErrConflict.
func (c *Client) UpdateWorkload(ctx context.Context, id int64, req UpdateWorkloadRequest) (*Workload, error) {
	return call[Workload](ctx, c, http.MethodPatch, workloadPath(id, ""), req)
}

// GetGitOps calls GET /api/workloads/{id}/gitops: the file's status, text, drift and managed
// fields. The server fetches the file from the forge (or its cache) to answer.
func (c *Client) GetGitOps(ctx context.Context, id int64) (*GitOpsView, error) {
	return call[GitOpsView](ctx, c, http.MethodGet, workloadPath(id, "/gitops"), nil)
}

// SetGitOps calls PUT /api/workloads/{id}/gitops (admin) to enable or disable GitOps and set
// the file path; it returns the new GitOps view.
func (c *Client) SetGitOps(ctx context.Context, id int64, req SetGitOpsRequest) (*GitOpsView, error) {
	return call[GitOpsView](ctx, c, http.MethodPut, workloadPath(id, "/gitops"), req)
}

// Sync calls POST /api/workloads/{id}/gitops/sync (admin). It is never retried: a Sync that
// may or may not have been applied must be re-checked with GetWorkload by the caller.
func (c *Client) Sync(ctx context.Context, id int64, req SyncRequest) (*SyncResult, error) {
	return call[SyncResult](ctx, c, http.MethodPost, workloadPath(id, "/gitops/sync"), req)
}

// Events calls GET /api/workloads/{id}/events (admin): the audit rows, newest first.
func (c *Client) Events(ctx context.Context, id int64) ([]Event, error) {
	var out []Event
	if err := c.do(ctx, http.MethodGet, workloadPath(id, "/events"), nil, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// call sends one API call (see do) and returns its answer, decoded into a new T.
func call[T any](ctx context.Context, c *Client, method, pathAndQuery string, in any) (*T, error) {
	var out T
	if err := c.do(ctx, method, pathAndQuery, in, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

func workloadPath(id int64, suffix string) string {
	return "/api/workloads/" + strconv.FormatInt(id, 10) + suffix
}

// do sends one API call and decodes a 2xx JSON answer into out. Retries are the HTTP client's:
// the shared client repeats idempotent requests only, so a Sync (POST) is never sent twice.
func (c *Client) do(ctx context.Context, method, pathAndQuery string, in, out any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return fmt.Errorf("tinyforge: encode %s request: %w", method, err)
		}
	}
	ref, err := url.Parse(pathAndQuery)
	if err != nil {
		return fmt.Errorf("tinyforge: bad request path: %w", err)
	}
	u := *c.base
	u.Path = strings.TrimSuffix(u.Path, "/") + ref.Path
	u.RawQuery = ref.RawQuery
	return c.once(ctx, method, u.String(), ref.Path, body, out)
}

// once sends a single request.
func (c *Client) once(ctx context.Context, method, fullURL, path string, body []byte, out any) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, fullURL, rd)
	if err != nil {
		return fmt.Errorf("tinyforge: build request: %s", secret.Redact(err.Error(), c.token))
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		// net/http's *url.Error repeats the method and URL this message already names: keep
		// only its cause. It never includes headers, but redact anyway.
		cause := err
		var ue *url.Error
		if errors.As(err, &ue) && ue.Err != nil {
			cause = ue.Err
		}
		msg := secret.Redact(cause.Error(), c.token)
		if ctx.Err() != nil {
			return fmt.Errorf("tinyforge: %s %s: %s: %w", method, path, msg, ctx.Err())
		}
		return fmt.Errorf("tinyforge: %s %s: %s; check that the Tinyforge URL is reachable", method, path, msg)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBytes))
		if resp.StatusCode == http.StatusNotFound && !isErrorBody(data) {
			return c.notAPI(method, path, resp)
		}
		apiErr := &APIError{Method: method, Path: path, StatusCode: resp.StatusCode, Message: errorMessage(data, resp.StatusCode, c.token)}
		return apiErr
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return fmt.Errorf("tinyforge: %s %s: read answer: %s", method, path, secret.Redact(err.Error(), c.token))
	}
	if len(data) > maxResponseBytes {
		return fmt.Errorf("tinyforge: %s %s: answer larger than %d bytes; check the Tinyforge URL", method, path, maxResponseBytes)
	}
	if out == nil {
		return nil
	}
	if strings.Contains(resp.Header.Get("Content-Type"), "html") { // a web page, not the API
		return c.notAPI(method, path, resp)
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("tinyforge: %s %s: the answer is not what Tinyforge sends (%v); check that the URL points at a Tinyforge server", method, path, gitops.DescribeJSONError(err))
	}
	return nil
}

// isErrorBody reports whether data is the API's error body, {"error": "..."}.
func isErrorBody(data []byte) bool {
	var eb ErrorBody
	return json.Unmarshal(data, &eb) == nil && eb.Error != ""
}

// notAPI is the error of an answer that is not the Tinyforge API's (an HTML page, a 404 without
// the API's error body): the base URL has a path the server does not serve, such as /apps or a
// proxy's prefix. It does not match ErrNotFound: no workload is missing, the URL is wrong.
func (c *Client) notAPI(method, path string, resp *http.Response) error {
	what := "HTTP " + strconv.Itoa(resp.StatusCode)
	if ct, _, _ := strings.Cut(resp.Header.Get("Content-Type"), ";"); ct != "" {
		what += " " + strings.TrimSpace(ct)
	}
	return fmt.Errorf("tinyforge: %s %s: %s: %s does not answer as a Tinyforge API: give the base URL, the one the panel's /apps pages and the /api endpoints hang off (e.g. https://tinyforge.example.com, without /apps or /api)",
		method, path, gitops.Truncate(what, 80), c.base.String())
}

// errorMessage extracts {"error": "..."} from an error body, falling back to the status text.
// The result is cleanMessage's: single-line, at most 500 bytes and never contains token.
func errorMessage(data []byte, status int, token string) string {
	var eb ErrorBody
	msg := ""
	if json.Unmarshal(data, &eb) == nil && eb.Error != "" {
		msg = eb.Error
	} else {
		msg = http.StatusText(status)
		if msg == "" {
			msg = "unexpected status"
		}
	}
	return cleanMessage(msg, token)
}
