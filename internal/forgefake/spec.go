package forgefake

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/getkin/kin-openapi/openapi2"
	"github.com/getkin/kin-openapi/openapi2conv"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/tinyforge/tinyforge-check/internal/testenv"
)

// GitHubSpecEnv names the environment variable that may point at GitHub's
// OpenAPI description (api.github.com.json) instead of the default cache.
const GitHubSpecEnv = "TINYFORGE_GITHUB_OPENAPI"

// GitHubSpecCache is where scripts/fetch-openapi.sh installs GitHub's OpenAPI
// description, relative to the module root.
const GitHubSpecCache = ".cache/octokit-openapi/node_modules/@octokit/openapi/generated/api.github.com.json"

// GitHubSpecPruned is GitHub's description pruned to GitHubPaths (MIT, from
// @octokit/openapi; see providers/testdata/LICENSE.octokit-openapi), relative to
// the module root. Committed, so that a plain clone runs the conformance tests
// without npm; TestCommittedGitHubSpec keeps it equal to pruning the package.
const GitHubSpecPruned = "providers/testdata/api.github.com.pruned.json"

// GiteaSpecFile is Gitea's Swagger 2.0 description (MIT, copied from Gitea),
// relative to the module root.
const GiteaSpecFile = "providers/testdata/gitea-swagger.v1.json"

// GitHubPaths are the operations of GitHub's description the fake serves and
// the provider calls. The description is pruned to them (and the components
// they reference) so it loads in a fraction of the time; a request to any
// other path fails validation like a request outside the spec.
func GitHubPaths() []string {
	return []string{
		"/user",
		"/repos/{owner}/{repo}/statuses/{sha}",
		"/repos/{owner}/{repo}/commits/{ref}/statuses",
		"/repos/{owner}/{repo}/commits/{commit_sha}/pulls",
		"/repos/{owner}/{repo}/issues",
		"/repos/{owner}/{repo}/issues/{issue_number}",
		"/repos/{owner}/{repo}/issues/{issue_number}/comments",
		"/repos/{owner}/{repo}/issues/comments/{comment_id}",
		"/repos/{owner}/{repo}/contents/{path}",
		"/repos/{owner}/{repo}/git/ref/{ref}",
	}
}

// GiteaPaths are the operations of Gitea's swagger the fake serves and the
// provider calls; like GitHubPaths, requests elsewhere fail validation.
func GiteaPaths() []string {
	return []string{
		"/user",
		"/repos/{owner}/{repo}/statuses/{sha}",
		"/repos/{owner}/{repo}/issues",
		"/repos/{owner}/{repo}/issues/{index}",
		"/repos/{owner}/{repo}/issues/{index}/comments",
		"/repos/{owner}/{repo}/issues/comments/{id}",
		"/repos/{owner}/{repo}/labels",
		"/repos/{owner}/{repo}/raw/{filepath}",
		"/repos/{owner}/{repo}/branches/{branch}",
		"/repos/{owner}/{repo}/commits/{sha}/pull",
		"/version",
	}
}

// Spec validates HTTP requests and responses against one forge's official
// API description. It is safe for concurrent use. Build it with
// LoadGitHubSpec or LoadGiteaSpec (or, in tests, through a Specs cache).
type Spec struct {
	name   string // "github" or "gitea"
	prefix string // path prefix of the API on the fake ("" or "/api/v1")
	router routers.Router
	// multiSegment matches paths whose last parameter documents a
	// repository path or git ref that may contain slashes; the validator
	// escapes those slashes so the single-segment route matches.
	multiSegment []*regexp.Regexp
	// Load is how long reading and resolving the description took.
	Load time.Duration
}

// fakeHost is the host the validator pretends requests were sent to.
const fakeHost = "forgefake.test"

// GitHubSpecPath returns the path of GitHub's OpenAPI description: the
// TINYFORGE_GITHUB_OPENAPI environment variable, else the cache filled by
// scripts/fetch-openapi.sh under the module root.
func GitHubSpecPath() (string, error) {
	if p := os.Getenv(GitHubSpecEnv); p != "" {
		return p, nil
	}
	root, err := testenv.FindModuleRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, GitHubSpecCache), nil
}

// LoadGitHubSpec reads GitHub's OpenAPI 3 description from path, prunes it to
// GitHubPaths and builds a router.
func LoadGitHubSpec(path string) (*Spec, error) {
	start := time.Now()
	pruned, err := PrunedGitHubSpec(path)
	if err != nil {
		return nil, err
	}
	return loadPrunedGitHubSpec(pruned, path, start)
}

// LoadPrunedGitHubSpec builds a router from a description already pruned to
// GitHubPaths, such as GitHubSpecPruned.
func LoadPrunedGitHubSpec(path string) (*Spec, error) {
	start := time.Now()
	pruned, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read GitHub's pruned OpenAPI description: %w", err)
	}
	return loadPrunedGitHubSpec(pruned, path, start)
}

func loadPrunedGitHubSpec(pruned []byte, path string, start time.Time) (*Spec, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(pruned)
	if err != nil {
		return nil, fmt.Errorf("load GitHub's OpenAPI description %s: %w", path, err)
	}
	s, err := newSpec("github", "", doc)
	if err != nil {
		return nil, err
	}
	s.multiSegment = []*regexp.Regexp{
		regexp.MustCompile(`^(/repos/[^/]+/[^/]+/contents/)(.+)$`),
		regexp.MustCompile(`^(/repos/[^/]+/[^/]+/git/ref/)(.+)$`),
	}
	s.Load = time.Since(start)
	return s, nil
}

// LoadGiteaSpec reads Gitea's Swagger 2.0 description from path, converts it
// to OpenAPI 3 with openapi2conv and builds a router.
func LoadGiteaSpec(path string) (*Spec, error) {
	start := time.Now()
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read Gitea's swagger: %w: it ships in %s", err, GiteaSpecFile)
	}
	raw, err = pruneSwagger2(raw, GiteaPaths())
	if err != nil {
		return nil, fmt.Errorf("prune Gitea's swagger %s: %w", path, err)
	}
	raw, err = fixGiteaSwagger(raw)
	if err != nil {
		return nil, fmt.Errorf("parse Gitea's swagger %s: %w", path, err)
	}
	var v2 openapi2.T
	if err := json.Unmarshal(raw, &v2); err != nil {
		return nil, fmt.Errorf("parse Gitea's swagger %s: %w", path, err)
	}
	doc, err := openapi2conv.ToV3(&v2)
	if err != nil {
		return nil, fmt.Errorf("convert Gitea's swagger to OpenAPI 3: %w", err)
	}
	if err := openapi3.NewLoader().ResolveRefsIn(doc, nil); err != nil {
		return nil, fmt.Errorf("resolve Gitea's swagger: %w", err)
	}
	s, err := newSpec("gitea", "/api/v1", doc)
	if err != nil {
		return nil, err
	}
	s.multiSegment = []*regexp.Regexp{
		regexp.MustCompile(`^(/repos/[^/]+/[^/]+/raw/)(.+)$`),
		regexp.MustCompile(`^(/repos/[^/]+/[^/]+/branches/)(.+)$`),
	}
	s.Load = time.Since(start)
	return s, nil
}

// fixGiteaSwagger repairs the known defects of Gitea's swagger raw
// (fixGiteaResponseRefs, fixGiteaNullables).
func fixGiteaSwagger(raw []byte) ([]byte, error) {
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, err
	}
	fixGiteaResponseRefs(doc)
	fixGiteaNullables(doc)
	return json.Marshal(doc)
}

// fixGiteaResponseRefs repairs a known defect of Gitea's swagger doc: a few
// operations' responses point straight at "#/definitions/X" (a schema)
// instead of a response object. They become {"description": X, "schema":
// {"$ref": ...}}, which is what Gitea serves.
func fixGiteaResponseRefs(doc map[string]any) {
	paths, _ := doc["paths"].(map[string]any)
	for _, item := range paths {
		ops, _ := item.(map[string]any)
		for _, op := range ops {
			o, _ := op.(map[string]any)
			resps, _ := o["responses"].(map[string]any)
			for code, r := range resps {
				m, _ := r.(map[string]any)
				ref, _ := m["$ref"].(string)
				if name, ok := strings.CutPrefix(ref, "#/definitions/"); ok {
					resps[code] = map[string]any{"description": name, "schema": map[string]any{"$ref": ref}}
				}
			}
		}
	}
}

// giteaNullables are the properties that are null in Gitea's real traffic
// but that its swagger does not mark x-nullable: pointer and slice fields of
// Gitea's API structs without omitempty (modules/structs). In answers,
// encoding/json writes them as null when unset (an open issue without
// milestone, assignee or deadline has all of them null); in requests, Gitea
// decodes null into them as unset, and Gitea's own Go SDK (code.gitea.io/sdk)
// sends null for every unset one (CreateIssueOption's assignees, due_date and
// labels; EditIssueOption's pointers).
var giteaNullables = map[string][]string{
	"Issue":             {"milestone", "assignee", "assignees", "closed_at", "due_date", "pull_request"},
	"CreateIssueOption": {"assignees", "due_date", "labels"},
	"EditIssueOption":   {"body", "ref", "assignee", "assignees", "milestone", "state", "due_date", "unset_due_date"},
}

// fixGiteaNullables repairs a known defect of Gitea's swagger doc: the
// properties of giteaNullables become x-nullable (a $ref wrapped in allOf,
// since a $ref's siblings are ignored), which is what Gitea serves.
func fixGiteaNullables(doc map[string]any) {
	defs, _ := doc["definitions"].(map[string]any)
	for def, props := range giteaNullables {
		d, _ := defs[def].(map[string]any)
		ps, _ := d["properties"].(map[string]any)
		for _, name := range props {
			p, ok := ps[name].(map[string]any)
			if !ok {
				continue // pruned away, or renamed by a newer swagger
			}
			if ref, ok := p["$ref"]; ok {
				p = map[string]any{"allOf": []any{map[string]any{"$ref": ref}}}
			}
			p["x-nullable"] = true
			ps[name] = p
		}
	}
}

func newSpec(name, prefix string, doc *openapi3.T) (*Spec, error) {
	doc.Servers = openapi3.Servers{{URL: "http://" + fakeHost}}
	for _, p := range doc.Paths.Map() {
		p.Servers = nil
	}
	r, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("build %s router: %w", name, err)
	}
	return &Spec{name: name, prefix: prefix, router: r}, nil
}

// PrunedGitHubSpec returns GitHub's description at path pruned to
// GitHubPaths. The 13 MB description takes seconds to parse (tens of seconds
// under the race detector), so the pruned result is cached in
// .cache/octokit-openapi/pruned/ keyed by the source's path, size, mtime and
// the path list; scripts/fetch-openapi.sh warms that cache.
func PrunedGitHubSpec(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("read GitHub's OpenAPI description: %w: run scripts/fetch-openapi.sh (or set %s)", err, GitHubSpecEnv)
	}
	abs, _ := filepath.Abs(path)
	key := sha256.Sum256([]byte(fmt.Sprintf("%s\x00%d\x00%d\x00%s", abs, fi.Size(), fi.ModTime().UnixNano(), strings.Join(GitHubPaths(), ","))))
	cacheDir := ""
	if root, err := testenv.FindModuleRoot(); err == nil {
		cacheDir = filepath.Join(root, ".cache", "octokit-openapi", "pruned")
	}
	cacheFile := filepath.Join(cacheDir, "api.github.com-"+hex.EncodeToString(key[:8])+".json")
	if cacheDir != "" {
		if b, err := os.ReadFile(cacheFile); err == nil && json.Valid(b) {
			return b, nil
		}
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read GitHub's OpenAPI description: %w: run scripts/fetch-openapi.sh (or set %s)", err, GitHubSpecEnv)
	}
	pruned, err := prune(raw, GitHubPaths())
	if err != nil {
		return nil, fmt.Errorf("prune GitHub's OpenAPI description %s: %w", path, err)
	}
	if cacheDir != "" && os.MkdirAll(cacheDir, 0o755) == nil {
		// Write then rename: concurrent test binaries never read half a file.
		if f, err := os.CreateTemp(cacheDir, "tmp-*.json"); err == nil {
			_, werr := f.Write(pruned)
			cerr := f.Close()
			if werr == nil && cerr == nil {
				_ = os.Rename(f.Name(), cacheFile)
			}
			_ = os.Remove(f.Name())
		}
	}
	return pruned, nil
}

// prune keeps only the given paths of an OpenAPI 3 JSON document and the
// components they reference, transitively.
func prune(raw []byte, keep []string) ([]byte, error) {
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, err
	}
	var comps map[string]map[string]json.RawMessage
	if err := json.Unmarshal(doc["components"], &comps); err != nil {
		return nil, fmt.Errorf("components: %w", err)
	}
	need, err := keepPaths(doc, keep, comps, regexp.MustCompile(`"\$ref"\s*:\s*"#/components/([^/"]+)/([^"]+)"`))
	if err != nil {
		return nil, err
	}
	if doc["components"], err = json.Marshal(need); err != nil {
		return nil, err
	}
	delete(doc, "webhooks")
	delete(doc, "x-webhooks")
	return json.Marshal(doc)
}

// pruneSwagger2 keeps only the given paths of a Swagger 2.0 JSON document and
// the definitions, responses and parameters they reference, transitively:
// converting and resolving all of Gitea's swagger costs seconds under -race.
func pruneSwagger2(raw []byte, keep []string) ([]byte, error) {
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, err
	}
	sections := map[string]map[string]json.RawMessage{}
	for _, sec := range []string{"definitions", "responses", "parameters"} {
		m := map[string]json.RawMessage{}
		if b, ok := doc[sec]; ok {
			if err := json.Unmarshal(b, &m); err != nil {
				return nil, fmt.Errorf("%s: %w", sec, err)
			}
		}
		sections[sec] = m
	}
	need, err := keepPaths(doc, keep, sections, regexp.MustCompile(`"\$ref"\s*:\s*"#/(definitions|responses|parameters)/([^"]+)"`))
	if err != nil {
		return nil, err
	}
	for sec, m := range need {
		if doc[sec], err = json.Marshal(m); err != nil {
			return nil, err
		}
	}
	return json.Marshal(doc)
}

// keepPaths replaces doc's paths with only those in keep, and returns, for
// every kind of sections, the entries those paths reference through refRE
// (which captures the kind and the JSON-pointer-escaped name), transitively.
// Every kind of sections is in the result, empty when nothing references it.
func keepPaths(doc map[string]json.RawMessage, keep []string, sections map[string]map[string]json.RawMessage, refRE *regexp.Regexp) (map[string]map[string]json.RawMessage, error) {
	var paths map[string]json.RawMessage
	if err := json.Unmarshal(doc["paths"], &paths); err != nil {
		return nil, fmt.Errorf("paths: %w", err)
	}
	kept := map[string]json.RawMessage{}
	need := map[string]map[string]json.RawMessage{}
	for kind := range sections {
		need[kind] = map[string]json.RawMessage{}
	}
	var queue [][]byte
	for _, p := range keep {
		v, ok := paths[p]
		if !ok {
			return nil, fmt.Errorf("path %s is not in the description", p)
		}
		kept[p] = v
		queue = append(queue, v)
	}
	for len(queue) > 0 {
		b := queue[0]
		queue = queue[1:]
		for _, m := range refRE.FindAllSubmatch(b, -1) {
			kind, name := string(m[1]), strings.ReplaceAll(strings.ReplaceAll(string(m[2]), "~1", "/"), "~0", "~")
			if _, done := need[kind][name]; done {
				continue
			}
			v, ok := sections[kind][name]
			if !ok {
				return nil, fmt.Errorf("dangling $ref to %s %s", kind, name)
			}
			need[kind][name] = v
			queue = append(queue, v)
		}
	}
	var err error
	doc["paths"], err = json.Marshal(kept)
	return need, err
}

// route finds the operation of a request (method, path relative to the fake's
// root) in the description.
func (s *Spec) route(r *http.Request, body []byte) (*http.Request, *routers.Route, map[string]string, error) {
	p := r.URL.EscapedPath()
	if s.prefix != "" {
		if !strings.HasPrefix(p, s.prefix+"/") {
			return nil, nil, nil, fmt.Errorf("path %s is outside the API root %s", p, s.prefix)
		}
		p = strings.TrimPrefix(p, s.prefix)
	}
	for _, re := range s.multiSegment {
		if m := re.FindStringSubmatch(p); m != nil {
			p = m[1] + strings.ReplaceAll(m[2], "/", "%2F")
			break
		}
	}
	vr := r.Clone(context.Background())
	u := *r.URL
	u.Scheme, u.Host, u.RawPath = "http", fakeHost, p
	u.Path = p
	if unesc, err := url.PathUnescape(p); err == nil {
		u.Path = unesc
	}
	vr.URL = &u
	vr.Host = fakeHost
	vr.RequestURI = ""
	vr.Body = io.NopCloser(bytes.NewReader(body))
	route, params, err := s.router.FindRoute(vr)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%s %s is not an operation of %s's API description: %w", r.Method, r.URL.Path, s.name, err)
	}
	return vr, route, params, nil
}

// OperationID returns the operationId a request maps to, or an error when the
// request is outside the description.
func (s *Spec) OperationID(r *http.Request) (string, error) {
	_, route, _, err := s.route(r, nil)
	if err != nil {
		return "", err
	}
	return route.Operation.OperationID, nil
}

func filterOptions() *openapi3filter.Options {
	return &openapi3filter.Options{
		AuthenticationFunc: openapi3filter.NoopAuthenticationFunc,
		MultiError:         true,
	}
}

// ValidateRequest checks that a request (with its already read body) is an
// operation of the description with valid parameters and body.
func (s *Spec) ValidateRequest(r *http.Request, body []byte) error {
	vr, route, params, err := s.route(r, body)
	if err != nil {
		return err
	}
	in := &openapi3filter.RequestValidationInput{Request: vr, PathParams: params, Route: route, Options: filterOptions()}
	if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
		return fmt.Errorf("%s %s (%s) violates %s's API description: %w", r.Method, r.URL.Path, route.Operation.OperationID, s.name, err)
	}
	return nil
}

// ValidateResponse checks a response against the description of the
// request's operation. Status codes the description does not list are
// accepted (forges answer errors they do not document); listed ones must
// match their schema. Bodies of media types the description does not list
// (raw file contents) are not checked.
func (s *Spec) ValidateResponse(r *http.Request, reqBody []byte, status int, header http.Header, body []byte) error {
	vr, route, params, err := s.route(r, reqBody)
	if err != nil {
		return err
	}
	opts := filterOptions()
	if resp := route.Operation.Responses.Status(status); resp != nil && resp.Value != nil {
		ct := strings.TrimSpace(strings.Split(header.Get("Content-Type"), ";")[0])
		if len(resp.Value.Content) > 0 && resp.Value.Content.Get(ct) == nil {
			opts.ExcludeResponseBody = true
		}
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: vr, PathParams: params, Route: route, Options: opts},
		Status:                 status,
		Header:                 header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options:                opts,
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		return fmt.Errorf("response %d to %s %s (%s) violates %s's API description: %w", status, r.Method, r.URL.Path, route.Operation.OperationID, s.name, err)
	}
	return nil
}

// Specs loads each description at most once per test binary. Declare one in
// a _test.go file (var specs forgefake.Specs) and ask it from every test; the
// zero value is ready.
type Specs struct {
	ghOnce, gtOnce sync.Once
	gh, gt         *Spec
	ghErr, gtErr   error
}

// GitHub returns GitHub's description: the committed pruned copy
// (GitHubSpecPruned), or the full description at $TINYFORGE_GITHUB_OPENAPI
// pruned on the fly. It fails the test (never skips) when neither loads.
func (s *Specs) GitHub(t testenv.TB) *Spec {
	t.Helper()
	s.ghOnce.Do(func() {
		if p := os.Getenv(GitHubSpecEnv); p != "" {
			s.gh, s.ghErr = LoadGitHubSpec(p)
			return
		}
		s.gh, s.ghErr = loadAtRoot(GitHubSpecPruned, LoadPrunedGitHubSpec)
	})
	if s.ghErr != nil {
		t.Fatalf("GitHub's OpenAPI description is required for conformance tests: %v", s.ghErr)
	}
	return s.gh
}

// loadAtRoot loads the description at rel, a path in the module.
func loadAtRoot(rel string, load func(string) (*Spec, error)) (*Spec, error) {
	root, err := testenv.FindModuleRoot()
	if err != nil {
		return nil, err
	}
	return load(filepath.Join(root, rel))
}

// Gitea returns Gitea's description, failing the test when it is missing.
func (s *Specs) Gitea(t testenv.TB) *Spec {
	t.Helper()
	s.gtOnce.Do(func() {
		s.gt, s.gtErr = loadAtRoot(GiteaSpecFile, LoadGiteaSpec)
	})
	if s.gtErr != nil {
		t.Fatalf("Gitea's swagger is required for conformance tests: %v", s.gtErr)
	}
	return s.gt
}
