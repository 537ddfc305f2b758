package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/tinyforge/tinyforge-check/tinyforge"
	"github.com/tinyforge/tinyforge-check/tinyforge/server/panel"
)

// ignoreWhen leaves out what an audit row gets from the clock and the database.
var ignoreWhen = cmpopts.IgnoreFields(tinyforge.Event{}, "ID", "At")

// latestEvent is workload id's newest audit row; it fails the test when there is none.
func (e *env) latestEvent(id int64) tinyforge.Event {
	e.t.Helper()
	evs := e.events(id)
	if len(evs) == 0 {
		e.t.Fatalf("workload %d has no audit row", id)
	}
	return evs[0]
}

// Every way of changing live config leaves its audit row, written with the change: who (token
// name and role), the way in, and each changed key before and after, secrets redacted.
func TestAuditEveryLiveChange(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	// Creation through the API: every key it starts with, and the repo it reads.
	w := e.createWorkload("app", "dockerfile", `{"port":3000,"api_token":"s3cr3t-CANARY","env":{"DB_PASSWORD":"pw-CANARY","MODE":"prod"}}`)
	want := tinyforge.Event{Actor: "token:admin#1", Role: RoleAdmin, Via: ViaAPI, WorkloadID: w.ID, Action: ActionCreate, Outcome: OutcomeApplied,
		Changes: []tinyforge.Change{
			{Field: "source_config.api_token", From: "(unset)", To: Redacted},
			{Field: "source_config.env", From: "(unset)", To: `{"DB_PASSWORD":"(redacted)","MODE":"prod"}`},
			{Field: "source_config.port", From: "(unset)", To: "3000"},
			{Field: "repo.provider", From: "", To: "gitea"}, {Field: "repo.base_url", From: "", To: "https://gitea.example.com"},
			{Field: "repo.owner", From: "", To: "acme"}, {Field: "repo.repo", From: "", To: "app"}, {Field: "repo.branch", From: "", To: "main"},
			{Field: "repo.access_token", From: "(none)", To: "(replaced)"},
		}}
	if diff := cmp.Diff(want, e.latestEvent(w.ID), ignoreWhen); diff != "" {
		t.Errorf("creation's audit row (-want +got):\n%s", diff)
	}

	// PATCH through the API: only the keys that changed.
	e.doJSON("PATCH", fmt.Sprintf("/api/workloads/%d", w.ID), e.admin,
		`{"source_config":{"port":3001,"api_token":"n3w-CANARY","env":{"DB_PASSWORD":"pw-CANARY","MODE":"prod"},"dockerfile_path":"Dockerfile"},"version":1}`, 200, nil)
	want = tinyforge.Event{Actor: "token:admin#1", Role: RoleAdmin, Via: ViaAPI, WorkloadID: w.ID, Action: ActionSourceConfig, Outcome: OutcomeApplied,
		Changes: []tinyforge.Change{
			{Field: "source_config.api_token", From: Redacted, To: Redacted},
			{Field: "source_config.dockerfile_path", From: "(unset)", To: `"Dockerfile"`},
			{Field: "source_config.port", From: "3000", To: "3001"},
		}}
	if diff := cmp.Diff(want, e.latestEvent(w.ID), ignoreWhen); diff != "" {
		t.Errorf("PATCH's audit row (-want +got):\n%s", diff)
	}

	// The panel's edit form, by another admin token: the way in is the panel.
	sec, _, err := e.store.CreateToken(ctx, "alice", RoleAdmin, 0)
	if err != nil {
		t.Fatal(err)
	}
	pb := panelBackend{e.srv}
	if err := pb.UpdateSourceConfig(ctx, panel.Principal{Name: "alice", Role: RoleAdmin, Credential: sec}, w.ID,
		json.RawMessage(`{"port":3002,"api_token":"n3w-CANARY","env":{"DB_PASSWORD":"pw2-CANARY","MODE":"prod"},"dockerfile_path":"Dockerfile"}`), 2); err != nil {
		t.Fatal(err)
	}
	want = tinyforge.Event{Actor: "token:alice#6", Role: RoleAdmin, Via: ViaPanel, WorkloadID: w.ID, Action: ActionSourceConfig, Outcome: OutcomeApplied,
		Changes: []tinyforge.Change{
			{Field: "source_config.env", From: `{"DB_PASSWORD":"(redacted)","MODE":"prod"}`, To: `{"DB_PASSWORD":"(redacted)","MODE":"prod"}`},
			{Field: "source_config.port", From: "3001", To: "3002"},
		}}
	if diff := cmp.Diff(want, e.latestEvent(w.ID), ignoreWhen); diff != "" {
		t.Errorf("edit form's audit row (-want +got):\n%s", diff)
	}

	// A Sync: the fields it applied, at the commit it applied.
	e.forge.push("main", "c1", ".tinyforge.yml", []byte("version: 1\ndeploy:\n  port: 8080\n"))
	e.enable(w.ID)
	e.doJSON("POST", fmt.Sprintf("/api/workloads/%d/gitops/sync", w.ID), e.admin, `{}`, 200, nil)
	want = tinyforge.Event{Actor: "token:admin#1", Role: RoleAdmin, Via: ViaAPI, WorkloadID: w.ID, Action: ActionSync, Outcome: OutcomeApplied,
		CommitSHA: "c1", FileSHA: blobSHA1([]byte("version: 1\ndeploy:\n  port: 8080\n")),
		Changes: []tinyforge.Change{{Field: "deploy.port", From: "3002", To: "8080"}}}
	if diff := cmp.Diff(want, e.latestEvent(w.ID), ignoreWhen); diff != "" {
		t.Errorf("Sync's audit row (-want +got):\n%s", diff)
	}

	// No secret value in any row, whatever the way in.
	b, _ := json.Marshal(e.events(w.ID))
	for _, canary := range []string{"CANARY", forgeCanary} {
		if strings.Contains(string(b), canary) {
			t.Errorf("an audit row holds a secret value (%s): %s", canary, b)
		}
	}
}

// A write that fails, or rolls back after its audit row was inserted, leaves no row; a save
// that changes no key writes none either.
func TestAuditNoRowWithoutChange(t *testing.T) {
	e := newEnv(t)
	w := e.createWorkload("app", "dockerfile", `{"port":3000}`)
	rows := func() int {
		t.Helper()
		var n int
		if err := e.store.db.QueryRow(`SELECT COUNT(*) FROM event_log`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	base := rows()
	patch := fmt.Sprintf("/api/workloads/%d", w.ID)
	tests := []struct {
		name       string
		method     string
		path, body string
		trigger    string // SQL run before the request
		wantStatus int
	}{
		{name: "stale version", method: "PATCH", path: patch, body: `{"source_config":{"port":1},"version":7}`, wantStatus: 409},
		{name: "name taken", method: "POST", path: "/api/workloads", body: `{"name":"app","source_type":"static"}`, wantStatus: 409},
		{name: "no key changed", method: "PATCH", path: patch, body: `{"source_config":{"port":3000},"version":1}`, wantStatus: 200},
		{
			// The config and its row are written, then the repo update fails: all rolls back.
			name: "rolled back after the row", method: "PATCH", path: patch, wantStatus: 500,
			body:    `{"source_config":{"port":1},"version":2,"repo":{"provider":"gitea","base_url":"https://gitea.example.com","owner":"acme","repo":"app","branch":"dev"}}`,
			trigger: `CREATE TRIGGER no_repo BEFORE UPDATE OF repo_branch ON workloads BEGIN SELECT RAISE(ABORT, 'disk full'); END`,
		},
		{
			name: "creation rolled back", method: "POST", path: "/api/workloads", wantStatus: 500,
			body:    `{"name":"other","source_type":"static","source_config":{"port":1}}`,
			trigger: `CREATE TRIGGER no_audit BEFORE INSERT ON event_log BEGIN SELECT RAISE(ABORT, 'disk full'); END`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.trigger != "" {
				if _, err := e.store.db.Exec(tt.trigger); err != nil {
					t.Fatal(err)
				}
			}
			if code, b := e.do(tt.method, tt.path, e.admin, tt.body); code != tt.wantStatus {
				t.Fatalf("%s %s = %d %s, want %d", tt.method, tt.path, code, b, tt.wantStatus)
			}
			if n := rows(); n != base {
				t.Errorf("audit rows: %d, want %d (no row)", n, base)
			}
		})
	}
	var got tinyforge.Workload
	e.doJSON("GET", patch, e.admin, "", 200, &got)
	if string(got.SourceConfig) != `{"port":3000}` || got.Version != 2 {
		t.Errorf("after the failed writes: %s v%d, want {\"port\":3000} v2", got.SourceConfig, got.Version)
	}
	if list, _ := e.store.ListWorkloads(context.Background(), "other", 0); len(list) != 0 {
		t.Errorf("the rolled-back creation left a workload: %+v", list)
	}
}

func TestConfigChanges(t *testing.T) {
	tests := []struct {
		name     string
		old, new string
		want     []tinyforge.Change
	}{
		{"none", `{"a":1}`, `{"a":1.0}`, nil},
		{"removed and added", `{"a":1}`, `{"b":"x"}`, []tinyforge.Change{{Field: "source_config.a", From: "1", To: "(unset)"}, {Field: "source_config.b", From: "(unset)", To: `"x"`}}},
		{"secret at depth", `{}`, `{"x":[{"Password":"p"}],"GitHub_Token":"t"}`, []tinyforge.Change{{Field: "source_config.GitHub_Token", From: "(unset)", To: Redacted}, {Field: "source_config.x", From: "(unset)", To: `[{"Password":"(redacted)"}]`}}},
		{"not an object", `[1]`, `{"a":"<b>"}`, []tinyforge.Change{{Field: "source_config.a", From: "(unset)", To: `"<b>"`}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, configChanges([]byte(tt.old), []byte(tt.new))); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func FuzzConfigChanges(f *testing.F) {
	f.Add([]byte(`{"a":1,"token":"x"}`), []byte(`{"a":2,"env":{"secret":"y"}}`))
	f.Add([]byte(`[]`), []byte(`null`))
	f.Fuzz(func(t *testing.T, old, new []byte) {
		for _, c := range configChanges(old, new) {
			if !strings.HasPrefix(c.Field, "source_config.") {
				t.Fatalf("field %q", c.Field)
			}
			if c.From == c.To && c.From != Redacted && !strings.Contains(c.From, Redacted) {
				t.Fatalf("unchanged key listed: %+v", c)
			}
		}
	})
}

// Each drifted field of the GitOps view names the last audited change that set its live value:
// a creation, an edit (API or panel) or a Sync. GET /api/workloads/{id} carries the same.
func TestDriftAttribution(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	w := e.createWorkload("app", "dockerfile", `{"port":3000}`)
	e.forge.push("main", "c1", ".tinyforge.yml", []byte("version: 1\ndeploy:\n  port: 8080\n  healthcheck: /healthz\n"))
	e.enable(w.ID)
	view := func() map[string]*tinyforge.SetBy {
		t.Helper()
		var v tinyforge.GitOpsView
		e.doJSON("GET", fmt.Sprintf("/api/workloads/%d/gitops", w.ID), e.viewer, "", 200, &v)
		out := map[string]*tinyforge.SetBy{}
		for _, d := range v.Drift {
			out[d.Field] = d.SetBy
		}
		return out
	}
	ignoreAt := cmpopts.IgnoreFields(tinyforge.SetBy{}, "EventID", "At")
	created := &tinyforge.SetBy{Action: ActionCreate, Via: ViaAPI, Actor: "token:admin#1", Role: RoleAdmin}
	if diff := cmp.Diff(map[string]*tinyforge.SetBy{"deploy.port": created, "deploy.healthcheck": nil}, view(), ignoreAt); diff != "" {
		t.Errorf("after creation (-want +got):\n%s", diff)
	}

	sec, _, err := e.store.CreateToken(ctx, "alice", RoleAdmin, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := (panelBackend{e.srv}).UpdateSourceConfig(ctx, panel.Principal{Credential: sec}, w.ID, json.RawMessage(`{"port":3001}`), 1); err != nil {
		t.Fatal(err)
	}
	edited := &tinyforge.SetBy{Action: ActionSourceConfig, Via: ViaPanel, Actor: "token:alice#6", Role: RoleAdmin}
	if diff := cmp.Diff(map[string]*tinyforge.SetBy{"deploy.port": edited, "deploy.healthcheck": nil}, view(), ignoreAt); diff != "" {
		t.Errorf("after the panel's edit (-want +got):\n%s", diff)
	}

	// A Sync sets both; a new commit then drifts from what the Sync set.
	e.doJSON("POST", fmt.Sprintf("/api/workloads/%d/gitops/sync", w.ID), e.admin, `{}`, 200, nil)
	e.forge.push("main", "c2", ".tinyforge.yml", []byte("version: 1\ndeploy:\n  port: 9090\n  healthcheck: /healthz\n"))
	synced := &tinyforge.SetBy{Action: ActionSync, Via: ViaAPI, CommitSHA: "c1", Actor: "token:admin#1", Role: RoleAdmin}
	got := view()
	if diff := cmp.Diff(map[string]*tinyforge.SetBy{"deploy.port": synced}, got, ignoreAt); diff != "" {
		t.Errorf("after a Sync and a push (-want +got):\n%s", diff)
	}
	var wl tinyforge.Workload
	e.doJSON("GET", fmt.Sprintf("/api/workloads/%d", w.ID), e.viewer, "", 200, &wl)
	if sb, ok := wl.SetBy["deploy.port"]; !ok || sb.EventID != got["deploy.port"].EventID || wl.SetBy["deploy.healthcheck"].Action != ActionSync {
		t.Errorf("the workload's set_by %+v does not match the view's", wl.SetBy)
	}
	if evs := e.events(w.ID); got["deploy.port"].EventID != evs[0].ID || got["deploy.port"].At != evs[0].At {
		t.Errorf("attribution %+v is not the Sync's audit row %+v", got["deploy.port"], evs[0])
	}
}

// The panel's edit form, posted as a browser does, leaves a source_config row whose way in is
// the panel.
func TestAuditPanelEditForm(t *testing.T) {
	e := newEnv(t)
	w := e.createWorkload("app", "dockerfile", `{"port":3000}`)
	s := e.panelSession(e.admin)
	page, err := s.Get(fmt.Sprintf("%s/apps/%d/edit", e.http.URL, w.ID))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(page.Body)
	page.Body.Close()
	m := csrfField.FindStringSubmatch(string(body))
	if m == nil {
		t.Fatalf("no csrf on the edit page:\n%s", body)
	}
	resp, err := s.PostForm(fmt.Sprintf("%s/apps/%d/edit", e.http.URL, w.ID), url.Values{"csrf": {m[1]}, "version": {"1"}, "port": {"3001"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("save the edit form: %d", resp.StatusCode)
	}
	got := e.latestEvent(w.ID)
	want := tinyforge.Event{Actor: "token:admin#1", Role: RoleAdmin, Via: ViaPanel, WorkloadID: w.ID, Action: ActionSourceConfig, Outcome: OutcomeApplied,
		Changes: []tinyforge.Change{{Field: "source_config.port", From: "3000", To: "3001"}}}
	if diff := cmp.Diff(want, got, ignoreWhen); diff != "" {
		t.Errorf("the edit form's audit row (-want +got):\n%s", diff)
	}
}
