package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/tinyforge/tinyforge-check/tinyforge"
)

func TestAuthorizationMatrix(t *testing.T) {
	e := newEnv(t)
	e.forge.push("main", "c1", ".tinyforge.yml", []byte(goodFile))
	e.createWorkload("one", "dockerfile", `{}`)
	e.createWorkload("two", "dockerfile", `{}`)
	e.enable(1)
	e.enable(2)

	tokens := []struct{ name, secret string }{
		{"none", ""}, {"unknown", "tfk_unknown"}, {"not bearer", "garbage"}, {"revoked", e.revoked},
		{"viewer", e.viewer}, {"admin", e.admin}, {"viewer limited to 1", e.limited}, {"admin limited to 1", e.limitedAdmin},
	}
	repo := `{"repo":{"provider":"gitea","base_url":"https://gitea.example.com","owner":"acme","repo":"app","branch":"main"}}`
	n := 0
	create := func() string { n++; return fmt.Sprintf(`{"name":"new-%d","source_type":"static"}`, n) }
	tests := []struct {
		method, path string
		body         func() string
		want         [8]int // in the order of tokens
	}{
		{"GET", "/healthz", nil, [8]int{200, 200, 200, 200, 200, 200, 200, 200}},
		{"GET", "/api/workloads", nil, [8]int{401, 401, 401, 401, 200, 200, 200, 200}},
		{"POST", "/api/workloads", create, [8]int{401, 401, 401, 401, 403, 201, 403, 403}},
		{"GET", "/api/workloads/1", nil, [8]int{401, 401, 401, 401, 200, 200, 200, 200}},
		{"GET", "/api/workloads/2", nil, [8]int{401, 401, 401, 401, 200, 200, 403, 403}},
		{"GET", "/api/workloads/99", nil, [8]int{401, 401, 401, 401, 404, 404, 403, 403}},
		{"GET", "/api/workloads/x", nil, [8]int{401, 401, 401, 401, 404, 404, 404, 404}},
		{"PATCH", "/api/workloads/1", func() string { return repo }, [8]int{401, 401, 401, 401, 403, 200, 403, 200}},
		{"PATCH", "/api/workloads/2", func() string { return repo }, [8]int{401, 401, 401, 401, 403, 200, 403, 403}},
		{"GET", "/api/workloads/1/gitops", nil, [8]int{401, 401, 401, 401, 200, 200, 200, 200}},
		{"GET", "/api/workloads/2/gitops", nil, [8]int{401, 401, 401, 401, 200, 200, 403, 403}},
		{"PUT", "/api/workloads/1/gitops", func() string { return `{"enabled":true,"path":".tinyforge.yml"}` }, [8]int{401, 401, 401, 401, 403, 200, 403, 200}},
		{"PUT", "/api/workloads/2/gitops", func() string { return `{"enabled":true}` }, [8]int{401, 401, 401, 401, 403, 200, 403, 403}},
		{"POST", "/api/workloads/1/gitops/sync", func() string { return `{}` }, [8]int{401, 401, 401, 401, 403, 200, 403, 200}},
		{"POST", "/api/workloads/2/gitops/sync", func() string { return `` }, [8]int{401, 401, 401, 401, 403, 200, 403, 403}},
		{"GET", "/api/workloads/1/events", nil, [8]int{401, 401, 401, 401, 403, 200, 403, 200}},
		{"GET", "/api/workloads/2/events", nil, [8]int{401, 401, 401, 401, 403, 200, 403, 403}},
		{"DELETE", "/api/workloads/1", nil, [8]int{405, 405, 405, 405, 405, 405, 405, 405}},
		{"GET", "/api/nothing", nil, [8]int{404, 404, 404, 404, 404, 404, 404, 404}},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			var got [8]int
			for i, tok := range tokens {
				body := ""
				if tt.body != nil {
					body = tt.body()
				}
				code, b := e.do(tt.method, tt.path, tok.secret, body)
				got[i] = code
				if code >= 400 {
					var eb tinyforge.ErrorBody
					if err := json.Unmarshal([]byte(b), &eb); err != nil || eb.Error == "" {
						t.Errorf("%s: error answer %q is not {\"error\": ...}", tok.name, b)
					}
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("status by token %v (-want +got):\n%s", tokenNames(tokens), diff)
			}
		})
	}
}

func tokenNames(ts []struct{ name, secret string }) []string {
	var out []string
	for _, t := range ts {
		out = append(out, t.name)
	}
	return out
}

func TestListLimitedAndByName(t *testing.T) {
	e := newEnv(t)
	e.createWorkload("one", "dockerfile", `{}`)
	e.createWorkload("two words", "static", `{}`)
	tests := []struct {
		token, query string
		want         []string
	}{
		{e.viewer, "", []string{"one", "two words"}},
		{e.viewer, "?name=two+words", []string{"two words"}},
		{e.viewer, "?name=three", []string{}},
		{e.limited, "", []string{"one"}},
		{e.limited, "?name=two+words", []string{}},
	}
	for _, tt := range tests {
		var list []tinyforge.WorkloadSummary
		e.doJSON("GET", "/api/workloads"+tt.query, tt.token, "", 200, &list)
		got := []string{}
		for _, w := range list {
			got = append(got, w.Name)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("list %q (-want +got):\n%s", tt.query, diff)
		}
	}
}

// TestListByNameIsTheWholeWorkload: looked up by name, the list answers each workload as GET
// /api/workloads/{id} does, so the action's name input costs one request; the plain list stays
// a list of summaries, without any live config.
func TestListByNameIsTheWholeWorkload(t *testing.T) {
	e := newEnv(t)
	e.createWorkload("one", "dockerfile", `{"port": 3000}`)
	var byID tinyforge.Workload
	e.doJSON("GET", "/api/workloads/1", e.viewer, "", 200, &byID)
	var byName []tinyforge.Workload
	e.doJSON("GET", "/api/workloads?name=one", e.viewer, "", 200, &byName)
	if diff := cmp.Diff([]tinyforge.Workload{byID}, byName); diff != "" {
		t.Errorf("by name (-GET by id +list by name):\n%s", diff)
	}
	_, all := e.do("GET", "/api/workloads", e.viewer, "")
	if strings.Contains(string(all), "source_config") || strings.Contains(string(all), "3000") {
		t.Errorf("the plain list carries live config: %s", all)
	}
}

func TestCreateGetPatch(t *testing.T) {
	e := newEnv(t)
	w := e.createWorkload("api", "dockerfile", `{"port": 3000, "dockerfile_path": "Dockerfile"}`)
	want := tinyforge.Workload{ID: 1, Name: "api", SourceType: "dockerfile", SourceConfig: json.RawMessage(`{"port":3000,"dockerfile_path":"Dockerfile"}`),
		Version: 1, GitOps: tinyforge.GitOpsSettings{Path: ".tinyforge.yml"}, UIURL: "https://tf.example.com/apps/1"}
	if diff := cmp.Diff(want, w); diff != "" {
		t.Errorf("created (-want +got):\n%s", diff)
	}
	var got tinyforge.Workload
	e.doJSON("GET", "/api/workloads/1", e.viewer, "", 200, &got)
	// GET adds drift attribution (set_by: TestDriftAttribution).
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(tinyforge.Workload{}, "SetBy")); diff != "" {
		t.Errorf("read back (-want +got):\n%s", diff)
	}
	// The forge token is stored encrypted: the plaintext is nowhere in the database file's rows.
	var sealed []byte
	if err := e.store.db.QueryRow(`SELECT repo_token FROM workloads WHERE id = 1`).Scan(&sealed); err != nil {
		t.Fatal(err)
	}
	if len(sealed) == 0 || strings.Contains(string(sealed), forgeCanary) {
		t.Errorf("repo token stored as %q, want ciphertext", sealed)
	}

	tests := []struct {
		name        string
		body        string
		wantStatus  int
		wantVersion int64
		wantConfig  string
	}{
		{"edit with current version", `{"source_config":{"port":3001},"version":1}`, 200, 2, `{"port":3001}`},
		{"stale version", `{"source_config":{"port":3002},"version":1}`, 409, 2, `{"port":3001}`},
		{"config without version", `{"source_config":{"port":3002}}`, 400, 2, `{"port":3001}`},
		{"not an object", `{"source_config":[1],"version":2}`, 400, 2, `{"port":3001}`},
		{"unknown field", `{"source_confg":{},"version":2}`, 400, 2, `{"port":3001}`},
		{"empty patch", `{}`, 400, 2, `{"port":3001}`},
		{"repo only keeps version", `{"repo":{"provider":"github","base_url":"https://api.github.com","owner":"o","repo":"r","branch":"b","access_token":"t"}}`, 200, 2, `{"port":3001}`},
		{"bad provider", `{"repo":{"provider":"svn","base_url":"https://x","owner":"o","repo":"r","branch":"b"}}`, 400, 2, `{"port":3001}`},
		{"base url with credentials", `{"repo":{"provider":"gitea","base_url":"https://u:` + forgeCanary + `@x","owner":"o","repo":"r","branch":"b"}}`, 400, 2, `{"port":3001}`},
		{"body too large", `{"source_config":{"k":"` + strings.Repeat("a", MaxRequestBytes) + `"},"version":2}`, 413, 2, `{"port":3001}`},
		{"malformed", `{"source_config":`, 400, 2, `{"port":3001}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, b := e.do("PATCH", "/api/workloads/1", e.admin, tt.body)
			if code != tt.wantStatus {
				t.Fatalf("status %d %s, want %d", code, b, tt.wantStatus)
			}
			var got tinyforge.Workload
			e.doJSON("GET", "/api/workloads/1", e.admin, "", 200, &got)
			if got.Version != tt.wantVersion || string(got.SourceConfig) != tt.wantConfig {
				t.Errorf("after: version %d config %s, want %d %s", got.Version, got.SourceConfig, tt.wantVersion, tt.wantConfig)
			}
		})
	}
}

func TestCreateRejects(t *testing.T) {
	e := newEnv(t)
	e.createWorkload("taken", "static", `{}`)
	tests := []struct {
		body string
		want int
	}{
		{`{"name":"","source_type":"static"}`, 400},
		{`{"name":"x","source_type":""}`, 400},
		{`{"name":"x","source_type":"a b"}`, 400},
		{`{"name":"x\u0000","source_type":"static"}`, 400},
		{`{"name":"taken\u200b","source_type":"static"}`, 400}, // looks exactly like "taken"
		{`{"name":"web\u202eppa","source_type":"static"}`, 400},
		{`{"name":"a\u2028b","source_type":"static"}`, 400},
		{`{"name":"x","source_type":"static","source_config":"str"}`, 400},
		{`{"name":"x","source_type":"static","repo":{"provider":"gitea","base_url":"gitea.example.com","owner":"o","repo":"r","branch":"b"}}`, 400},
		{`{"name":"x","source_type":"static","repo":{"provider":"gitea","base_url":"https://g","owner":"../o","repo":"r","branch":"b"}}`, 400},
		{`{"name":"123","source_type":"static"}`, 400}, // clients would read it as an id
		{`{"name":"007","source_type":"static"}`, 400},
		{`{"name":"+12","source_type":"static"}`, 400},
		{`{"name":"-3","source_type":"static"}`, 400},
		{`{"name":"99999999999999999999","source_type":"static"}`, 400},
		{`{"name":" app","source_type":"static"}`, 400},
		{`{"name":"app	","source_type":"static"}`, 400},
		{`{"name":"taken","source_type":"static"}`, 409},
		{`{"name":"v2","source_type":"static"}`, 201},
		{`{"name":"1.0","source_type":"static"}`, 201},
		{`{"name":"--","source_type":"static"}`, 201},
		{`{"name":"x","source_type":"compose"}`, 201}, // any word is accepted
	}
	for _, tt := range tests {
		if code, b := e.do("POST", "/api/workloads", e.admin, tt.body); code != tt.want {
			t.Errorf("POST %s = %d %s, want %d", tt.body, code, b, tt.want)
		}
	}
}

func TestPutGitOpsPath(t *testing.T) {
	e := newEnv(t)
	e.createWorkload("app", "dockerfile", `{}`)
	e.createWorkload("other", "compose", `{}`)
	tests := []struct {
		name     string
		id       int
		path     string // JSON string literal content; "-" leaves the field out
		want     int
		wantPath string
	}{
		{"default", 1, ".tinyforge.yml", 200, ".tinyforge.yml"},
		{"nested yaml", 1, "deploy/tinyforge.yaml", 200, "deploy/tinyforge.yaml"},
		{"absent keeps current", 1, "-", 200, "deploy/tinyforge.yaml"},
		{"empty", 1, "", 400, ""},
		{"null keeps current", 1, "null", 200, "deploy/tinyforge.yaml"},
		{"absolute", 1, "/etc/tinyforge.yml", 400, ""},
		{"dot dot", 1, "../secrets.yml", 400, ""},
		{"inner dot dot", 1, "a/../../b.yml", 400, ""},
		{"dot segment", 1, "./a.yml", 400, ""},
		{"empty segment", 1, "a//b.yml", 400, ""},
		{"backslash", 1, `a\\..\\b.yml`, 400, ""},
		{"NUL", 1, `a\u0000.yml`, 400, ""},
		{"newline", 1, `a\n.yml`, 400, ""},
		{"space", 1, "a b.yml", 400, ""},
		{"url-encoded traversal", 1, "%2e%2e/a.yml", 400, ""},
		{"url-encoded slash", 1, "a%2f..%2fb.yml", 400, ""},
		{"unicode", 1, "dépl.yml", 400, ""},
		{"not yaml", 1, "tinyforge.json", 400, ""},
		{"trailing slash", 1, "a.yml/", 400, ""},
		{"255 bytes", 1, strings.Repeat("a", 251) + ".yml", 200, strings.Repeat("a", 251) + ".yml"},
		{"256 bytes", 1, strings.Repeat("a", 252) + ".yml", 400, ""},
		{"unsupported source type", 2, ".tinyforge.yml", 422, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := `{"enabled":false,"path":"` + tt.path + `"}`
			switch tt.path {
			case "-":
				body = `{"enabled":false}`
			case "null":
				body = `{"enabled":false,"path":null}`
			}
			code, b := e.do("PUT", fmt.Sprintf("/api/workloads/%d/gitops", tt.id), e.admin, body)
			if code != tt.want {
				t.Fatalf("status %d %s, want %d", code, b, tt.want)
			}
			if code != 200 {
				return
			}
			var v tinyforge.GitOpsView
			json.Unmarshal([]byte(b), &v)
			if v.Path != tt.wantPath || v.Status != "disabled" {
				t.Errorf("view path %q status %q, want %q disabled", v.Path, v.Status, tt.wantPath)
			}
		})
	}
	// Only the two accepted path changes are audited; no-op PUTs and refusals write nothing.
	var got []string
	for _, ev := range e.events(1) {
		if ev.Action == ActionCreate {
			continue
		}
		for _, ch := range ev.Changes {
			got = append(got, ev.Action+" "+ch.Field+" "+ch.From+" -> "+ch.To[:min(len(ch.To), 21)])
		}
	}
	want := []string{
		"gitops_settings gitops.path deploy/tinyforge.yaml -> aaaaaaaaaaaaaaaaaaaaa",
		"gitops_settings gitops.path .tinyforge.yml -> deploy/tinyforge.yaml",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("audit rows (-want +got):\n%s", diff)
	}
}

func TestTokens(t *testing.T) {
	ctx := t.Context()
	e := newEnv(t)
	secret, tok, err := e.store.CreateToken(ctx, "ci", RoleViewer, 3)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(secret, tokenPrefix) || len(secret) < 40 {
		t.Errorf("secret %q is not a long tfk_ token", secret)
	}
	got, err := e.store.Authenticate(ctx, secret)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(tok, got); diff != "" {
		t.Errorf("authenticated token (-want +got):\n%s", diff)
	}
	// Only the hash is stored.
	var n int
	e.store.db.QueryRow(`SELECT COUNT(*) FROM api_tokens WHERE CAST(hash AS TEXT) LIKE ? OR name LIKE ?`, "%"+secret[4:]+"%", "%"+secret[4:]+"%").Scan(&n)
	if n != 0 {
		t.Error("token secret is stored in clear")
	}
	if err := e.store.RevokeToken(ctx, tok.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.Authenticate(ctx, secret); err != ErrBadToken {
		t.Errorf("revoked token: err = %v, want ErrBadToken", err)
	}
	if err := e.store.RevokeToken(ctx, 999); err == nil {
		t.Error("revoking an unknown token succeeded")
	}
	if _, _, err := e.store.CreateToken(ctx, "x", "root", 0); err == nil {
		t.Error("role root accepted")
	}
}

// FuzzAPIBodies sends arbitrary bodies to every endpoint that reads one: the answer is never a
// 5xx, always JSON, and an error never echoes a token from the body.
func FuzzAPIBodies(f *testing.F) {
	e := newEnv(f)
	e.forge.push("main", "c1", ".tinyforge.yml", []byte(goodFile))
	e.createWorkload("app", "dockerfile", `{"port":3000}`)
	for _, s := range []string{`{}`, `{"enabled":true,"path":"a.yml"}`, `{"source_config":{},"version":1}`, `{"commit_sha":"c1"}`,
		`{"name":"x","source_type":"static","repo":{"provider":"gitea","base_url":"https://g","owner":"o","repo":"r","branch":"b","access_token":"` + forgeCanary + `"}}`,
		`[`, `null`, `{"repo":null}`, `{"source_config":null,"version":1}`} {
		f.Add(s)
	}
	routes := []struct{ method, path string }{
		{"POST", "/api/workloads"}, {"PATCH", "/api/workloads/1"}, {"PUT", "/api/workloads/1/gitops"}, {"POST", "/api/workloads/1/gitops/sync"},
	}
	f.Fuzz(func(t *testing.T, body string) {
		for _, r := range routes {
			req := httptest.NewRequest(r.method, r.path, strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+e.admin)
			rec := httptest.NewRecorder()
			e.srv.Handler().ServeHTTP(rec, req)
			if rec.Code >= 500 {
				t.Fatalf("%s %s with %q = %d %s", r.method, r.path, body, rec.Code, rec.Body)
			}
			if !json.Valid(rec.Body.Bytes()) {
				t.Fatalf("%s %s answered non-JSON %q", r.method, r.path, rec.Body)
			}
			if rec.Code >= 400 && strings.Contains(rec.Body.String(), forgeCanary) {
				t.Fatalf("%s %s error echoed the token: %s", r.method, r.path, rec.Body)
			}
		}
	})
}

// Changing a repo's host or name without giving its access token again is refused: the stored
// token belongs to the old repo and must never reach another forge. Branch-only changes keep
// it. Every accepted repo change writes one repo_settings audit row without the token.
func TestPatchRepoNeedsTokenForNewHostOrName(t *testing.T) {
	e := newEnv(t)
	var mu sync.Mutex
	sent := map[string]string{} // base URL -> token handed to its forge client
	e.srv.openForge = func(provider, baseURL, token string) (Forge, error) {
		mu.Lock()
		defer mu.Unlock()
		sent[baseURL] = token
		return e.forge, nil
	}
	w := e.createWorkload("app", "dockerfile", `{"port":80}`)
	e.forge.push("main", "c1", ".tinyforge.yml", []byte(goodFile))
	e.forge.push("dev", "c2", ".tinyforge.yml", []byte(goodFile))
	e.enable(w.ID)
	repo := func(provider, baseURL, owner, name, branch, token string) string {
		b, _ := json.Marshal(map[string]any{"repo": map[string]string{"provider": provider, "base_url": baseURL,
			"owner": owner, "repo": name, "branch": branch, "access_token": token}})
		return strings.Replace(string(b), `,"access_token":""`, "", 1)
	}
	const gitea = "https://gitea.example.com"
	tests := []struct {
		name       string
		body       string
		wantStatus int
		wantRepo   string // provider base_url owner/repo@branch stored afterwards
	}{
		{"other host without token", repo("gitea", "https://attacker.example.net", "acme", "app", "main", ""), 400, "gitea https://gitea.example.com acme/app@main"},
		{"other scheme without token", repo("gitea", "http://gitea.example.com", "acme", "app", "main", ""), 400, "gitea https://gitea.example.com acme/app@main"},
		{"other provider without token", repo("gitlab", gitea, "acme", "app", "main", ""), 400, "gitea https://gitea.example.com acme/app@main"},
		{"other owner without token", repo("gitea", gitea, "evil", "app", "main", ""), 400, "gitea https://gitea.example.com acme/app@main"},
		{"other repo without token", repo("gitea", gitea, "acme", "other", "main", ""), 400, "gitea https://gitea.example.com acme/app@main"},
		{"same repo, trailing slash", repo("gitea", gitea+"/", "acme", "app", "main", ""), 200, "gitea https://gitea.example.com acme/app@main"},
		{"branch only keeps the token", repo("gitea", gitea, "acme", "app", "dev", ""), 200, "gitea https://gitea.example.com acme/app@dev"},
		{"other host with a new token", repo("gitea", "https://git.example.org", "acme", "app", "main", "new-token-for-git-example-org"), 200, "gitea https://git.example.org acme/app@main"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, b := e.do("PATCH", fmt.Sprintf("/api/workloads/%d", w.ID), e.admin, tt.body)
			e.do("GET", fmt.Sprintf("/api/workloads/%d/gitops", w.ID), e.viewer, "") // fetches with the stored token
			if code != tt.wantStatus {
				t.Fatalf("status %d %s, want %d", code, b, tt.wantStatus)
			}
			if code == 400 && !strings.Contains(b, "give access_token again when you change the repo's host or name") {
				t.Errorf("error %s does not say to give the token again", b)
			}
			wl, err := e.store.GetWorkload(t.Context(), w.ID)
			if err != nil {
				t.Fatal(err)
			}
			got := fmt.Sprintf("%s %s %s/%s@%s", wl.Repo.Provider, wl.Repo.BaseURL, wl.Repo.Owner, wl.Repo.Name, wl.Repo.Branch)
			if got != tt.wantRepo {
				t.Errorf("stored repo %q, want %q", got, tt.wantRepo)
			}
		})
	}
	wantSent := map[string]string{gitea: forgeCanary, "https://git.example.org": "new-token-for-git-example-org"}
	mu.Lock()
	if diff := cmp.Diff(wantSent, sent); diff != "" {
		t.Errorf("tokens handed to each forge (-want +got):\n%s", diff)
	}
	mu.Unlock()

	var got []string
	for _, ev := range e.events(w.ID) {
		if ev.Action != ActionRepoSettings {
			continue
		}
		if strings.Contains(fmt.Sprint(ev), "new-token") || strings.Contains(fmt.Sprint(ev), forgeCanary) {
			t.Errorf("audit row leaks a token: %+v", ev)
		}
		for _, ch := range ev.Changes {
			got = append(got, ch.Field+" "+ch.From+" -> "+ch.To)
		}
	}
	want := []string{ // newest first
		"repo.base_url https://gitea.example.com -> https://git.example.org",
		"repo.branch dev -> main",
		"repo.access_token (set) -> (replaced)",
		"repo.branch main -> dev",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("repo_settings audit rows (-want +got):\n%s", diff)
	}
}

// TestAcceptedConfigReadsBack: what the server accepts, its clients can read back. A
// source_config near the 1 MiB request limit, made of <, > and &, used to be answered
// HTML-escaped at six times its size, over the client's 4 MiB cap (issue 14 F5).
func TestAcceptedConfigReadsBack(t *testing.T) {
	e := newEnv(t)
	value := strings.Repeat("<>&", (MaxRequestBytes-200)/3)
	body := fmt.Sprintf(`{"name":"big","source_type":"static","source_config":{"note":%q}}`, value)
	if len(body) > MaxRequestBytes {
		t.Fatalf("test body is %d bytes, over the limit", len(body))
	}
	var created tinyforge.Workload
	e.doJSON("POST", "/api/workloads", e.admin, body, 201, &created)
	c, err := tinyforge.NewClient(e.http.URL, e.viewer, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, get := range []func() (*tinyforge.Workload, error){
		func() (*tinyforge.Workload, error) { return c.GetWorkload(t.Context(), created.ID) },
		func() (*tinyforge.Workload, error) { return c.FindWorkloadByName(t.Context(), "big") },
	} {
		w, err := get()
		if err != nil {
			t.Fatalf("the client cannot read back a config the server accepted: %v", err)
		}
		var cfg struct{ Note string }
		if err := json.Unmarshal(w.SourceConfig, &cfg); err != nil || cfg.Note != value {
			t.Errorf("read back %d bytes of note, want %d: %v", len(cfg.Note), len(value), err)
		}
	}
}

// TestBodiesMustBeJSON: a body declared as another type (a form, text/plain) is refused with
// 415 instead of being read as JSON; a body without a Content-Type is still read as JSON.
func TestBodiesMustBeJSON(t *testing.T) {
	e := newEnv(t)
	body := `{"name":"typed","source_type":"static"}`
	for ct, want := range map[string]int{
		"application/x-www-form-urlencoded": http.StatusUnsupportedMediaType,
		"text/plain":                        http.StatusUnsupportedMediaType,
		"application/json; charset=utf-8":   http.StatusCreated,
	} {
		req, _ := http.NewRequest(http.MethodPost, e.http.URL+"/api/workloads", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+e.admin)
		req.Header.Set("Content-Type", ct)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("Content-Type %s: %d, want %d", ct, resp.StatusCode, want)
		}
		body = `{"name":"typed2","source_type":"static"}`
	}
	if code, b := e.do("POST", "/api/workloads", e.admin, `{"name":"untyped","source_type":"static"}`); code != http.StatusCreated {
		t.Errorf("no Content-Type: %d %s, want 201", code, b)
	}
}
