package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/tinyforge/tinyforge-check/tinyforge"
)

func TestGitOpsViewStatuses(t *testing.T) {
	type setup func(e *env)
	tests := []struct {
		name       string
		sourceType string
		live       string
		enable     bool
		setup      setup
		want       tinyforge.GitOpsView
		wantMsg    string // substring of Message
	}{
		{
			name: "disabled", sourceType: "dockerfile", live: `{}`,
			want:    tinyforge.GitOpsView{Path: ".tinyforge.yml", Status: "disabled"},
			wantMsg: "disabled",
		},
		{
			name: "other source type", sourceType: "compose", live: `{}`,
			want:    tinyforge.GitOpsView{Path: ".tinyforge.yml", Status: "disabled"},
			wantMsg: `source type "compose" cannot use GitOps`,
		},
		{
			name: "ok with drift", sourceType: "dockerfile", live: `{"port":"8080","deploy_strategy":"","build_command":"make"}`, enable: true,
			setup: func(e *env) { e.forge.push("main", "c1", ".tinyforge.yml", []byte(goodFile)) },
			want: tinyforge.GitOpsView{Enabled: true, Path: ".tinyforge.yml", Status: "ok", Raw: goodFile, CommitSHA: "c1", FileSHA: blobSHA1([]byte(goodFile)),
				Drift: []tinyforge.DriftEntry{
					{Field: "deploy.healthcheck", RepoValue: "/healthz", LiveValue: "(unset)"},
					{Field: "deploy.deploy_strategy", RepoValue: "rolling", LiveValue: `""`},
				},
				ManagedFields: []string{"deploy.port", "deploy.healthcheck", "deploy.deploy_strategy"}},
		},
		{
			name: "no file", sourceType: "static", live: `{}`, enable: true,
			setup:   func(e *env) { e.forge.push("main", "c2", "README.md", []byte("hi")) },
			want:    tinyforge.GitOpsView{Enabled: true, Path: ".tinyforge.yml", Status: "no_file", CommitSHA: "c2"},
			wantMsg: "does not exist at c2",
		},
		{
			name: "invalid for static", sourceType: "static", live: `{}`, enable: true,
			setup:   func(e *env) { e.forge.push("main", "c3", ".tinyforge.yml", []byte(goodFile)) },
			want:    tinyforge.GitOpsView{Enabled: true, Path: ".tinyforge.yml", Status: "invalid", Raw: goodFile, CommitSHA: "c3", FileSHA: blobSHA1([]byte(goodFile))},
			wantMsg: "has 2 errors;",
		},
		{
			name: "forge 500", sourceType: "dockerfile", live: `{}`, enable: true,
			setup: func(e *env) {
				e.forge.push("main", "c4", ".tinyforge.yml", []byte(goodFile))
				e.forge.headErr = fmt.Errorf("GET https://gitea.example.com/api/v1/repos/acme/app/branches/main?token=%s: 500 Internal Server Error", forgeCanary)
			},
			want:    tinyforge.GitOpsView{Enabled: true, Path: ".tinyforge.yml", Status: "fetch_failed"},
			wantMsg: "500 Internal Server Error",
		},
		{
			// A viewer reads this message: it names the host that does not resolve, never the
			// server's DNS resolver (issue 14).
			name: "forge host does not resolve", sourceType: "dockerfile", live: `{}`, enable: true,
			setup: func(e *env) {
				e.forge.headErr = fmt.Errorf("read branch head: Get \"https://git.internal/api/v1/x\": %w",
					&net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: "git.internal", Server: "10.9.8.53:53", IsNotFound: true}})
			},
			want:    tinyforge.GitOpsView{Enabled: true, Path: ".tinyforge.yml", Status: "fetch_failed"},
			wantMsg: `the forge's host name "git.internal" does not resolve (no such host)`,
		},
		{
			name: "download fails", sourceType: "dockerfile", live: `{}`, enable: true,
			setup: func(e *env) {
				e.forge.push("main", "c5", ".tinyforge.yml", []byte(goodFile))
				e.forge.fileErr = fmt.Errorf("redirect to http://10.0.0.1/raw refused: address not allowed (Authorization: token %s)", forgeCanary)
			},
			want:    tinyforge.GitOpsView{Enabled: true, Path: ".tinyforge.yml", Status: "fetch_failed", CommitSHA: "c5"},
			wantMsg: "address not allowed",
		},
		{
			name: "oversized", sourceType: "dockerfile", live: `{}`, enable: true,
			setup: func(e *env) {
				e.forge.push("main", "c6", ".tinyforge.yml", []byte("version: 1\n#"+strings.Repeat("x", 70<<10)))
			},
			want:    tinyforge.GitOpsView{Enabled: true, Path: ".tinyforge.yml", Status: "invalid", CommitSHA: "c6"},
			wantMsg: "larger than 64 KiB",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			w := e.createWorkload("app", tt.sourceType, tt.live)
			if tt.setup != nil {
				tt.setup(e)
			}
			if tt.enable {
				e.enable(w.ID)
			}
			var got tinyforge.GitOpsView
			e.doJSON("GET", fmt.Sprintf("/api/workloads/%d/gitops", w.ID), e.viewer, "", 200, &got)
			if !strings.Contains(got.Message, tt.wantMsg) {
				t.Errorf("message %q does not contain %q", got.Message, tt.wantMsg)
			}
			if strings.Contains(got.Message, forgeCanary) {
				t.Errorf("message leaks the forge token: %q", got.Message)
			}
			if tt.want.Status == "invalid" && tt.want.Raw != "" && len(got.Diagnostics) == 0 {
				t.Error("invalid file without diagnostics")
			}
			if tt.want.Drift == nil {
				tt.want.Drift = []tinyforge.DriftEntry{}
			}
			if tt.want.ManagedFields == nil {
				tt.want.ManagedFields = []string{}
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.IgnoreFields(tinyforge.GitOpsView{}, "Message", "Diagnostics", "CheckedAt"),
				cmpopts.IgnoreFields(tinyforge.DriftEntry{}, "SetBy")); diff != "" { // set_by: TestDriftAttribution
				t.Errorf("view (-want +got):\n%s", diff)
			}
			e.forge.mu.Lock()
			gotToken := e.forge.gotToken
			e.forge.mu.Unlock()
			if tt.enable && gotToken != forgeCanary {
				t.Errorf("forge opened with token %q, want the decrypted repo token", gotToken)
			}
		})
	}
}

func TestForgeHangAnswersInTime(t *testing.T) {
	for _, ignoreCtx := range []bool{false, true} {
		t.Run(fmt.Sprintf("forge ignores ctx=%v", ignoreCtx), func(t *testing.T) {
			e := newEnv(t, func(c *Config) { c.FetchTimeout = 100 * time.Millisecond })
			w := e.createWorkload("app", "dockerfile", `{}`)
			e.forge.push("main", "c1", ".tinyforge.yml", []byte(goodFile))
			e.enable(w.ID)
			e.forge.mu.Lock()
			e.forge.hang, e.forge.ignore = true, ignoreCtx
			e.forge.mu.Unlock()
			var got tinyforge.GitOpsView
			e.doJSON("GET", fmt.Sprintf("/api/workloads/%d/gitops", w.ID), e.viewer, "", 200, &got)
			if got.Status != "fetch_failed" || !strings.Contains(got.Message, "did not answer within 100ms") {
				t.Errorf("status %q message %q, want fetch_failed after the deadline", got.Status, got.Message)
			}
		})
	}
}

func TestRepeatedViewUsesCache(t *testing.T) {
	e := newEnv(t)
	w := e.createWorkload("app", "dockerfile", `{}`)
	e.forge.push("main", "c1", ".tinyforge.yml", []byte(goodFile))
	e.enable(w.ID) // first view: 1 head + 1 download
	path := fmt.Sprintf("/api/workloads/%d/gitops", w.ID)
	for range 3 {
		e.doJSON("GET", path, e.viewer, "", 200, nil)
	}
	heads, loads := e.forge.counts()
	if heads != 4 || loads != 1 {
		t.Errorf("after 4 views of one head: %d head requests, %d downloads; want 4 and 1", heads, loads)
	}
	// A new commit is downloaded once.
	e.forge.push("main", "c2", ".tinyforge.yml", []byte(strings.Replace(goodFile, "8080", "9090", 1)))
	var v tinyforge.GitOpsView
	e.doJSON("GET", path, e.viewer, "", 200, &v)
	e.doJSON("GET", path, e.viewer, "", 200, nil)
	heads, loads = e.forge.counts()
	if heads != 6 || loads != 2 || v.CommitSHA != "c2" {
		t.Errorf("after a push: %d heads, %d downloads, commit %q; want 6, 2, c2", heads, loads, v.CommitSHA)
	}
	// A failed download is not cached.
	e.forge.push("main", "c3", ".tinyforge.yml", []byte(goodFile))
	e.forge.fileErr = errors.New("502 bad gateway")
	e.doJSON("GET", path, e.viewer, "", 200, &v)
	e.forge.fileErr = nil
	e.doJSON("GET", path, e.viewer, "", 200, &v)
	if _, loads = e.forge.counts(); loads != 4 || v.Status != "ok" {
		t.Errorf("after a failed download and a retry: %d downloads, status %q; want 4, ok", loads, v.Status)
	}
}

func TestSync(t *testing.T) {
	live := `{"port":3000,"dockerfile_path":"Dockerfile"}`
	tests := []struct {
		name        string
		sourceType  string
		live        string
		file        string
		noFile      bool
		disable     bool
		body        string
		wantStatus  int
		wantConfig  string
		wantVersion int64
		wantApplied []tinyforge.Change
		wantOutcome string // prefix
	}{
		{
			name: "applied", sourceType: "dockerfile", live: live, file: goodFile, body: `{}`, wantStatus: 200,
			wantConfig: `{"deploy_strategy":"rolling","dockerfile_path":"Dockerfile","healthcheck":"/healthz","port":8080}`, wantVersion: 2,
			wantApplied: []tinyforge.Change{{Field: "deploy.port", From: "3000", To: "8080"}, {Field: "deploy.healthcheck", From: "(unset)", To: "/healthz"},
				{Field: "deploy.deploy_strategy", From: "(unset)", To: "rolling"}},
			wantOutcome: "applied",
		},
		{
			name: "pinned to the fetched commit and file", sourceType: "dockerfile", live: live, file: goodFile,
			body: `{"commit_sha":"c1","file_sha":"` + blobSHA1([]byte(goodFile)) + `"}`, wantStatus: 200,
			wantConfig: `{"deploy_strategy":"rolling","dockerfile_path":"Dockerfile","healthcheck":"/healthz","port":8080}`, wantVersion: 2,
			wantApplied: []tinyforge.Change{{Field: "deploy.port", From: "3000", To: "8080"}, {Field: "deploy.healthcheck", From: "(unset)", To: "/healthz"},
				{Field: "deploy.deploy_strategy", From: "(unset)", To: "rolling"}},
			wantOutcome: "applied",
		},
		{
			name: "in sync already", sourceType: "static", live: `{"deploy_strategy":"rolling"}`, file: "version: 1\ndeploy:\n  deploy_strategy: rolling\n",
			body: ``, wantStatus: 200, wantConfig: `{"deploy_strategy":"rolling"}`, wantVersion: 1, wantApplied: []tinyforge.Change{}, wantOutcome: "applied",
		},
		{
			name: "stale commit", sourceType: "dockerfile", live: live, file: goodFile, body: `{"commit_sha":"c0"}`, wantStatus: 409,
			wantConfig: live, wantVersion: 1, wantOutcome: "refused: the reviewed commit c0",
		},
		{
			name: "other file", sourceType: "dockerfile", live: live, file: goodFile, body: `{"file_sha":"0000"}`, wantStatus: 409,
			wantConfig: live, wantVersion: 1, wantOutcome: "refused: the reviewed file 0000",
		},
		{
			name: "no file", sourceType: "dockerfile", live: live, noFile: true, body: `{}`, wantStatus: 409,
			wantConfig: live, wantVersion: 1, wantOutcome: "refused: GitOps status is no_file",
		},
		{
			name: "invalid file", sourceType: "dockerfile", live: live, file: "version: 2\n", body: `{}`, wantStatus: 409,
			wantConfig: live, wantVersion: 1, wantOutcome: "refused: GitOps status is invalid",
		},
		{
			name: "disabled", sourceType: "dockerfile", live: live, file: goodFile, disable: true, body: `{}`, wantStatus: 409,
			wantConfig: live, wantVersion: 1, wantOutcome: "refused: GitOps status is disabled",
		},
		{
			name: "undeclared live field invalid", sourceType: "static", live: `{"port":0}`, file: "version: 1\ndeploy:\n  deploy_strategy: rolling\n",
			body: `{}`, wantStatus: 422, wantConfig: `{"port":0}`, wantVersion: 1, wantOutcome: "refused: merged source_config is invalid",
		},
		{
			name: "declared live field invalid is fixed", sourceType: "dockerfile", live: `{"port":"abc"}`, file: "version: 1\ndeploy:\n  port: 80\n",
			body: `{}`, wantStatus: 200, wantConfig: `{"port":80}`, wantVersion: 2,
			wantApplied: []tinyforge.Change{{Field: "deploy.port", From: "abc", To: "80"}}, wantOutcome: "applied",
		},
		{
			name: "malformed body", sourceType: "dockerfile", live: live, file: goodFile, body: `{"commit_sha":1}`, wantStatus: 400,
			wantConfig: live, wantVersion: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			w := e.createWorkload("app", tt.sourceType, tt.live)
			if tt.noFile {
				e.forge.push("main", "c1", "README.md", []byte("x"))
			} else {
				e.forge.push("main", "c1", ".tinyforge.yml", []byte(tt.file))
			}
			if !tt.disable {
				e.enable(w.ID)
			}
			code, b := e.do("POST", fmt.Sprintf("/api/workloads/%d/gitops/sync", w.ID), e.admin, tt.body)
			if code != tt.wantStatus {
				t.Fatalf("status %d %s, want %d", code, b, tt.wantStatus)
			}
			var after tinyforge.Workload
			e.doJSON("GET", fmt.Sprintf("/api/workloads/%d", w.ID), e.viewer, "", 200, &after)
			if string(after.SourceConfig) != mustCompact(t, tt.wantConfig) || after.Version != tt.wantVersion {
				t.Errorf("live after: %s v%d, want %s v%d", after.SourceConfig, after.Version, tt.wantConfig, tt.wantVersion)
			}
			evs := e.events(w.ID)
			var syncs []tinyforge.Event
			for _, ev := range evs {
				if ev.Action == ActionSync {
					syncs = append(syncs, ev)
				}
			}
			if tt.wantOutcome == "" {
				if len(syncs) != 0 {
					t.Errorf("a rejected request wrote %d sync audit rows", len(syncs))
				}
				return
			}
			if len(syncs) != 1 || !strings.HasPrefix(syncs[0].Outcome, tt.wantOutcome) {
				t.Fatalf("sync audit rows %+v, want one with outcome %q", syncs, tt.wantOutcome)
			}
			ev := syncs[0]
			if ev.Actor != "token:admin#1" || ev.WorkloadID != w.ID {
				t.Errorf("audit actor %q workload %d", ev.Actor, ev.WorkloadID)
			}
			if code != 200 {
				if after.GitOps.LastSyncAt != "" || after.GitOps.CommitSHA != "" {
					t.Errorf("a refused Sync set the sync columns: %+v", after.GitOps)
				}
				return
			}
			var res tinyforge.SyncResult
			json.Unmarshal([]byte(b), &res)
			want := tinyforge.SyncResult{Applied: tt.wantApplied, CommitSHA: "c1", FileSHA: blobSHA1([]byte(tt.file)), LastSyncAt: res.LastSyncAt}
			if diff := cmp.Diff(want, res); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
			if _, err := time.Parse(time.RFC3339, res.LastSyncAt); err != nil {
				t.Errorf("last_sync_at %q: %v", res.LastSyncAt, err)
			}
			wantSettings := tinyforge.GitOpsSettings{Enabled: true, Path: ".tinyforge.yml", LastSyncAt: res.LastSyncAt, CommitSHA: "c1", FileSHA: res.FileSHA}
			if diff := cmp.Diff(wantSettings, after.GitOps); diff != "" {
				t.Errorf("gitops settings after Sync (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantApplied, ev.Changes); diff != "" || ev.CommitSHA != "c1" || ev.FileSHA != res.FileSHA {
				t.Errorf("audit row %+v; changes diff:\n%s", ev, diff)
			}
		})
	}
}

func mustCompact(t *testing.T, s string) string {
	t.Helper()
	c, err := compactObject(json.RawMessage(s))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// A Sync whose audit row cannot be written changes nothing and answers 500.
func TestSyncFailsClosedWhenAuditFails(t *testing.T) {
	e := newEnv(t)
	w := e.createWorkload("app", "dockerfile", `{"port":3000}`)
	e.forge.push("main", "c1", ".tinyforge.yml", []byte(goodFile))
	e.enable(w.ID)
	if _, err := e.store.db.Exec(`CREATE TRIGGER no_audit BEFORE INSERT ON event_log BEGIN SELECT RAISE(ABORT, 'disk full'); END`); err != nil {
		t.Fatal(err)
	}
	code, b := e.do("POST", fmt.Sprintf("/api/workloads/%d/gitops/sync", w.ID), e.admin, `{}`)
	if code != 500 || !strings.Contains(b, "nothing changed") {
		t.Errorf("Sync with a failing audit = %d %s, want 500 nothing changed", code, b)
	}
	var after tinyforge.Workload
	e.doJSON("GET", fmt.Sprintf("/api/workloads/%d", w.ID), e.viewer, "", 200, &after)
	if string(after.SourceConfig) != `{"port":3000}` || after.Version != 1 || after.GitOps.LastSyncAt != "" || after.GitOps.CommitSHA != "" {
		t.Errorf("workload changed although the audit failed: %s v%d %+v", after.SourceConfig, after.Version, after.GitOps)
	}
	// A refused Sync whose audit cannot be written is a 500 too, not a silent 409.
	e.forge.push("main", "c2", "README.md", nil)
	e.forge.push("main", "c3", ".tinyforge.yml", nil)
	if code, _ := e.do("POST", fmt.Sprintf("/api/workloads/%d/gitops/sync", w.ID), e.admin, `{}`); code != 500 {
		t.Errorf("refused Sync with a failing audit = %d, want 500", code)
	}
}

// 50 concurrent Syncs and 50 concurrent edit-form saves on one workload. Syncs of one workload
// run one at a time, so on a loaded machine the last of them may wait out their deadline (on 2
// contended cores under -race, 37 of 50 once waited more than the 15 s lock wait): the test does
// not count successes, it checks the invariant of issue 14 F3 whatever the timing. Every
// request is answered before the HTTP write timeout (200, or 409 and 503 for edits, which
// retry; a Sync 200 or 503; never a 500, a database-busy error or a dropped connection); no
// update is lost; nothing answered 503 is applied; and the final state is exactly what the
// 200s and the audit log say (a refused Sync's audit row may be only in the log, when the busy
// database does not take it within its grace). The budgets come from the deadline design: a
// short SyncDeadline, and a write timeout as far above it as cmd/tinyforge-server's is above
// the default.
func TestConcurrentSyncsAndPatches(t *testing.T) {
	const (
		n        = 50
		deadline = 3 * time.Second
		// What New requires, plus the 2 s to spare that cmd/tinyforge-server's defaults keep.
		writeTimeout = deadline + auditGrace + answerMargin + 2*time.Second
	)
	e, logs := deadlineEnv(t, deadline, writeTimeout)
	ctx := t.Context()
	w := e.createWorkload("app", "dockerfile", `{"port":3000}`)
	e.forge.push("main", "c1", ".tinyforge.yml", []byte("version: 1\ndeploy:\n  port: 8080\n"))
	e.enable(w.ID)
	syncTokens, actors := e.syncTokens(n)
	path := fmt.Sprintf("/api/workloads/%d", w.ID)
	syncCodes, syncBodies := make([]int, n), make([]string, n)
	patched := make([]bool, n) // edit i answered 200
	var wg sync.WaitGroup
	errs := make(chan string, 4*n)
	// answered reports a request without a whole answer (a dropped connection: the server's
	// write timeout cut it off), or with a status other than those in ok.
	answered := func(what string, start time.Time, code int, b string, err error, ok ...int) bool {
		switch {
		case err != nil:
			errs <- fmt.Sprintf("%s: no answer after %s (the write timeout is %s): %v", what, time.Since(start), writeTimeout, err)
			return false
		case !slices.Contains(ok, code):
			errs <- fmt.Sprintf("%s: %d %s", what, code, b)
			return false
		}
		return true
	}
	for i := range n {
		wg.Add(2)
		go func() {
			defer wg.Done()
			start := time.Now()
			code, b, err := e.send("POST", path+"/gitops/sync", syncTokens[i], `{"commit_sha":"c1"}`)
			if answered(fmt.Sprintf("sync %d", i), start, code, b, err, 200, 503) {
				syncCodes[i], syncBodies[i] = code, b
			}
		}()
		go func() {
			defer wg.Done()
			key := fmt.Sprintf("k%02d", i)
			for attempt := 0; ; attempt++ {
				start := time.Now()
				code, b, err := e.send("GET", path, e.admin, "")
				if !answered(fmt.Sprintf("get %d", i), start, code, b, err, 200) {
					return
				}
				var cur tinyforge.Workload
				var cfg map[string]any
				if err := json.Unmarshal([]byte(b), &cur); err != nil || json.Unmarshal(cur.SourceConfig, &cfg) != nil {
					errs <- fmt.Sprintf("get %d: %s", i, b)
					return
				}
				if _, ok := cfg[key]; ok { // only edit i writes key, and it has no 200 yet
					errs <- fmt.Sprintf("edit %d was applied although it was answered 409 or 503: config %s", i, cur.SourceConfig)
					return
				}
				cfg[key] = i
				body, _ := json.Marshal(map[string]any{"source_config": cfg, "version": cur.Version})
				start = time.Now()
				code, b, err = e.send("PATCH", path, e.admin, string(body))
				if !answered(fmt.Sprintf("edit %d", i), start, code, b, err, 200, 409, 503) {
					return
				}
				if code == 200 {
					patched[i] = true
					return
				}
				if attempt > 500 {
					errs <- fmt.Sprintf("edit %d: still %d after %d attempts: %s", i, code, attempt, b)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for msg := range errs {
		t.Error(msg)
	}

	// The final state is what the 200s and the audit log say.
	final, err := e.store.GetWorkload(ctx, w.ID)
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	json.Unmarshal(final.SourceConfig, &cfg)
	edits := 0
	for i := range n {
		v, ok := cfg[fmt.Sprintf("k%02d", i)]
		switch {
		case patched[i] && v != float64(i):
			t.Errorf("edit %d answered 200 but was lost: config %s", i, final.SourceConfig)
		case !patched[i] && ok:
			t.Errorf("edit %d never answered 200 but was applied: config %s", i, final.SourceConfig)
		}
		if patched[i] {
			edits++
		}
	}
	evs, err := e.store.Events(ctx, w.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string][]tinyforge.Event{}
	for _, ev := range evs {
		if ev.Action == ActionSync {
			rows[ev.Actor] = append(rows[ev.Actor], ev)
		}
	}
	applied, refused, bumps := 0, 0, 0
	log := logs.String()
	for i := range n {
		r := rows[actors[i]]
		logged := strings.Contains(log, "could not be written; it is only in this log\" workload=1 actor="+actors[i]+" ") ||
			// Too late to check its token: not a Sync attempt of anyone yet.
			strings.Contains(syncBodies[i], "before its token was checked; nothing was done")
		switch {
		case syncCodes[i] == 200 && (len(r) != 1 || r[0].Outcome != OutcomeApplied):
			t.Errorf("sync %d answered 200; its audit rows %+v, want one applied", i, r)
		case syncCodes[i] == 503 && len(r) == 0 && !logged:
			t.Errorf("sync %d answered 503 %s with neither an audit row nor a log line", i, syncBodies[i])
		case syncCodes[i] == 503 && len(r) > 0 && (len(r) != 1 || !strings.HasPrefix(r[0].Outcome, "refused: ")):
			t.Errorf("sync %d answered 503; its audit rows %+v, want one refused (nothing applied)", i, r)
		}
		if syncCodes[i] == 503 {
			refused++
		}
		for _, ev := range r {
			if ev.Outcome == OutcomeApplied {
				applied++
				if len(ev.Changes) > 0 {
					bumps++
				}
			}
		}
	}
	// The first applied Sync sets the port; the edits only add their keys, so it stays.
	wantPort := float64(3000)
	if applied > 0 {
		wantPort = 8080
	}
	if cfg["port"] != wantPort || bumps > 1 {
		t.Errorf("port %v after %d applied Syncs (%d changing the config), want %v and at most one change", cfg["port"], applied, bumps, wantPort)
	}
	if want := int64(1 + edits + bumps); final.Version != want {
		t.Errorf("version %d, want %d: 1 + %d edits + %d Sync that changed the config", final.Version, want, edits, bumps)
	}
	if final.GitOpsCommitSHA != map[bool]string{true: "c1", false: ""}[applied > 0] {
		t.Errorf("gitops commit %q after %d applied Syncs", final.GitOpsCommitSHA, applied)
	}
	if edits != n {
		t.Errorf("%d of %d edits landed, want every one (they retry after 409 and 503)", edits, n)
	}
	if applied == 0 { // not an error: the invariant held, the machine was too slow to apply any
		t.Logf("no Sync was applied within its %s deadline: this run checked only the refusals", deadline)
	}
	// Whatever happened, the workload is not stuck: a Sync now goes through.
	e.doJSON("POST", path+"/gitops/sync", e.admin, `{"commit_sha":"c1"}`, 200, nil)
	if after, err := e.store.GetWorkload(ctx, w.ID); err != nil || after.GitOpsCommitSHA != "c1" || !strings.Contains(string(after.SourceConfig), `"port":8080`) {
		t.Errorf("after a last Sync: %+v %v, want port 8080 at c1", after, err)
	}
	t.Logf("%d Syncs applied, %d refused with 503 (deadline %s); %d edits landed; slowest handler: %s", applied, refused, deadline, edits, slowestRequest(log))
	if t.Failed() { // the server's errors and warnings say why
		for _, line := range strings.Split(log, "\n") {
			if strings.Contains(line, "level=ERROR") || strings.Contains(line, "level=WARN") {
				t.Log(line)
			}
		}
	}
}

// slowestRequest is the access-log line of the slowest request in log, or "" when there is none.
func slowestRequest(log string) string {
	var slowest string
	var max time.Duration
	for _, line := range strings.Split(log, "\n") {
		_, after, ok := strings.Cut(line, " duration=")
		if !ok {
			continue
		}
		if d, err := time.ParseDuration(strings.Fields(after)[0]); err == nil && d > max {
			max, slowest = d, line[strings.Index(line, "method="):]
		}
	}
	return slowest
}

// The forge token never shows in answers, messages or audit rows, whatever the error path.
func TestForgeTokenNeverLeaks(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.FetchTimeout = 50 * time.Millisecond })
	w := e.createWorkload("app", "dockerfile", `{}`)
	e.forge.push("main", "c1", ".tinyforge.yml", []byte(goodFile))
	e.enable(w.ID)
	sync := fmt.Sprintf("/api/workloads/%d/gitops/sync", w.ID)
	faults := []func(f *fakeForge){
		func(f *fakeForge) { f.headErr = fmt.Errorf("401 for token %s", forgeCanary) },
		func(f *fakeForge) { f.fileErr = fmt.Errorf("Authorization: token %s rejected", forgeCanary) },
		func(f *fakeForge) { f.hang = true },
	}
	for i, fault := range faults {
		e.forge.push("main", fmt.Sprintf("f%d", i), ".tinyforge.yml", []byte(goodFile))
		e.forge.mu.Lock()
		e.forge.headErr, e.forge.fileErr, e.forge.hang = nil, nil, false
		fault(e.forge)
		e.forge.mu.Unlock()
		// e.do fails the test on any answer that contains the canary.
		e.do("GET", fmt.Sprintf("/api/workloads/%d/gitops", w.ID), e.viewer, "")
		e.do("POST", sync, e.admin, `{}`)
	}
	for _, ev := range e.events(w.ID) {
		if strings.Contains(fmt.Sprint(ev), forgeCanary) || strings.Contains(fmt.Sprint(ev), "FORGE_CANARY") {
			t.Errorf("audit row leaks the token: %+v", ev)
		}
	}
	e.do("GET", fmt.Sprintf("/api/workloads/%d", w.ID), e.admin, "")
	e.do("GET", "/api/workloads", e.admin, "")
}

// A Sync that gives up waiting for another Sync of the same workload is refused, and audited.
func TestSyncWaitingForLockHonoursClient(t *testing.T) {
	t.Parallel() // mostly waiting on its own database and server
	e := newEnv(t)
	w := e.createWorkload("app", "dockerfile", `{}`)
	e.forge.push("main", "c1", ".tinyforge.yml", []byte(goodFile))
	e.enable(w.ID)
	unlock, err := e.srv.lockWorkload(t.Context(), w.ID) // a Sync in progress
	if err != nil {
		t.Fatalf("could not take the lock: %v", err)
	}
	// The client gives up after 2 s: long after authentication (which, on a loaded machine, can
	// take longer than a short timeout, and a request that ends there has no audit row by
	// design), long before the server's lock wait.
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	req := httptest.NewRequest("POST", fmt.Sprintf("/api/workloads/%d/gitops/sync", w.ID), nil).WithContext(ctx)
	req.Header.Set("Authorization", "Bearer "+e.admin)
	rec := httptest.NewRecorder()
	e.srv.Handler().ServeHTTP(rec, req)
	unlock()
	if rec.Code != 503 {
		t.Errorf("status %d %s, want 503", rec.Code, rec.Body)
	}
	evs := e.events(w.ID)
	if len(evs) == 0 || evs[0].Action != ActionSync || !strings.HasPrefix(evs[0].Outcome, "refused: the client gave up") {
		t.Errorf("newest audit row %+v, want the refused Sync", evs[0])
	}
	// The lock was released: the next Sync goes through.
	e.doJSON("POST", fmt.Sprintf("/api/workloads/%d/gitops/sync", w.ID), e.admin, `{}`, 200, nil)
}

// blockingForge is fakeForge whose first DownloadFile waits for release, so a test can change
// the workload while a Sync is between its fetch and its write.
type blockingForge struct {
	*fakeForge
	entered, release chan struct{}
	once             sync.Once
}

func (b *blockingForge) DownloadFile(ctx context.Context, owner, repo, ref, path string, maxBytes int64) ([]byte, error) {
	first := false
	b.once.Do(func() { first = true; close(b.entered) })
	if first {
		<-b.release
	}
	return b.fakeForge.DownloadFile(ctx, owner, repo, ref, path, maxBytes)
}

// A Sync whose workload was disabled or repointed between its fetch and its write (by a writer
// that does not take the Sync lock, e.g. another process on the same database) writes nothing
// and answers 409, with a refused audit row.
func TestSyncRefusedWhenSettingsChangeMidway(t *testing.T) {
	tests := []struct {
		name   string
		change func(ctx context.Context, st *Store, id int64) error
	}{
		{"gitops disabled", func(ctx context.Context, st *Store, id int64) error {
			return st.SetGitOps(ctx, id, false, ".tinyforge.yml", nil)
		}},
		{"path changed", func(ctx context.Context, st *Store, id int64) error {
			return st.SetGitOps(ctx, id, true, "other.yml", nil)
		}},
		{"branch changed", func(ctx context.Context, st *Store, id int64) error {
			_, err := st.UpdateWorkload(ctx, id, Update{Repo: &Repo{Provider: "gitea", BaseURL: "https://gitea.example.com", Owner: "acme", Name: "app", Branch: "dev"}})
			return err
		}},
		{"repo changed", func(ctx context.Context, st *Store, id int64) error {
			_, err := st.UpdateWorkload(ctx, id, Update{Repo: &Repo{Provider: "gitea", BaseURL: "https://gitea.example.com", Owner: "acme", Name: "other", Branch: "main"}})
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			w := e.createWorkload("app", "dockerfile", `{"port":80}`)
			e.forge.push("main", "c1", ".tinyforge.yml", []byte(goodFile))
			e.enable(w.ID)
			bf := &blockingForge{fakeForge: e.forge, entered: make(chan struct{}), release: make(chan struct{})}
			e.srv.openForge = func(provider, baseURL, token string) (Forge, error) { return bf, nil }
			e.srv.cache = newFileCache(512) // enable's view cached the file: make the Sync download it
			type answer struct {
				code int
				body string
			}
			done := make(chan answer, 1)
			go func() {
				code, b := e.do("POST", fmt.Sprintf("/api/workloads/%d/gitops/sync", w.ID), e.admin, "")
				done <- answer{code, b}
			}()
			<-bf.entered
			if err := tt.change(t.Context(), e.store, w.ID); err != nil {
				t.Fatal(err)
			}
			close(bf.release)
			got := <-done
			if got.code != 409 || !strings.Contains(got.body, "changed while the file was being fetched") {
				t.Errorf("Sync answered %d %s, want 409 saying the settings changed", got.code, got.body)
			}
			wl, err := e.store.GetWorkload(t.Context(), w.ID)
			if err != nil {
				t.Fatal(err)
			}
			if string(wl.SourceConfig) != `{"port":80}` || wl.GitOpsCommitSHA != "" {
				t.Errorf("after the refused Sync: config %s, commit %q; want it untouched", wl.SourceConfig, wl.GitOpsCommitSHA)
			}
			evs := e.events(w.ID)
			if len(evs) == 0 || evs[0].Action != ActionSync || evs[0].Outcome != "refused: "+settingsChangedReason {
				t.Errorf("newest audit row %+v, want the refused Sync", evs)
			}
		})
	}
}

// PUT gitops and a PATCH that changes the repo take the Sync lock: while a Sync holds it they
// wait (here until their client gives up: 503, nothing changed). A config-only PATCH does not
// wait: its version check already orders it with Syncs.
func TestSettingsChangesWaitForSync(t *testing.T) {
	e := newEnv(t)
	w := e.createWorkload("app", "dockerfile", `{"port":80}`)
	e.forge.push("main", "c1", ".tinyforge.yml", []byte(goodFile))
	e.enable(w.ID)
	path := fmt.Sprintf("/api/workloads/%d", w.ID)
	tests := []struct {
		name, method, path, body string
		want                     int
	}{
		{"disable", "PUT", path + "/gitops", `{"enabled":false}`, 503},
		{"change path", "PUT", path + "/gitops", `{"enabled":true,"path":"other.yml"}`, 503},
		{"change branch", "PATCH", path, `{"repo":{"provider":"gitea","base_url":"https://gitea.example.com","owner":"acme","repo":"app","branch":"dev"}}`, 503},
		{"config only", "PATCH", path, `{"source_config":{"port":81},"version":1}`, 200},
	}
	unlock, err := e.srv.lockWorkload(t.Context(), w.ID) // a Sync in progress
	if err != nil {
		t.Fatalf("could not take the lock: %v", err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			if tt.want == 503 { // the client gives up waiting
				ctx, cancel = context.WithTimeout(ctx, 200*time.Millisecond)
			}
			defer cancel()
			req := httptest.NewRequest(tt.method, tt.path, strings.NewReader(tt.body)).WithContext(ctx)
			req.Header.Set("Authorization", "Bearer "+e.admin)
			rec := httptest.NewRecorder()
			e.srv.Handler().ServeHTTP(rec, req)
			if rec.Code != tt.want {
				t.Errorf("status %d %s, want %d", rec.Code, rec.Body, tt.want)
			}
		})
	}
	unlock()
	wl, err := e.store.GetWorkload(t.Context(), w.ID)
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprintf("enabled=%v path=%s branch=%s config=%s", wl.GitOpsEnabled, wl.GitOpsPath, wl.Repo.Branch, wl.SourceConfig)
	if want := `enabled=true path=.tinyforge.yml branch=main config={"port":81}`; got != want {
		t.Errorf("after: %s, want %s", got, want)
	}
	// The lock was released: the same changes now go through.
	e.doJSON("PUT", path+"/gitops", e.admin, `{"enabled":false}`, 200, nil)
}

// The wait for a workload's lock is bounded: a Sync (or settings change) queued behind a stuck
// one answers 503 after the server's lock wait, even when its client would wait forever, and
// the Sync is audited as refused. So no queued Sync is applied after the HTTP server's write
// timeout has already cut its client off.
func TestLockWaitIsBounded(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.LockWait = 50 * time.Millisecond })
	w := e.createWorkload("app", "dockerfile", `{"port":80}`)
	e.forge.push("main", "c1", ".tinyforge.yml", []byte(goodFile))
	e.enable(w.ID)
	path := fmt.Sprintf("/api/workloads/%d", w.ID)
	tests := []struct {
		name, method, path, body string
	}{
		{"sync", "POST", path + "/gitops/sync", `{}`},
		{"put gitops", "PUT", path + "/gitops", `{"enabled":false}`},
		{"patch repo", "PATCH", path, `{"repo":{"provider":"gitea","base_url":"https://gitea.example.com","owner":"acme","repo":"app","branch":"dev"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			unlock, err := e.srv.lockWorkload(t.Context(), w.ID) // a stuck Sync
			if err != nil {
				t.Fatalf("could not take the lock: %v", err)
			}
			type answer struct {
				code int
				body string
			}
			done := make(chan answer, 1)
			go func() {
				code, b := e.do(tt.method, tt.path, e.admin, tt.body) // a client without a deadline
				done <- answer{code, b}
			}()
			var got answer
			select {
			case got = <-done:
				unlock()
			case <-time.After(10 * time.Second): // an unbounded wait: free it so the test ends
				unlock()
				got = <-done
			}
			if got.code != 503 || !strings.Contains(got.body, "held its lock for more than 50ms") {
				t.Errorf("answer %d %s, want 503 after the lock wait", got.code, got.body)
			}
		})
	}
	wl, err := e.store.GetWorkload(t.Context(), w.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprintf("enabled=%v branch=%s config=%s", wl.GitOpsEnabled, wl.Repo.Branch, wl.SourceConfig); got != `enabled=true branch=main config={"port":80}` {
		t.Errorf("after: %s, want nothing changed", got)
	}
	var outcomes []string
	for _, ev := range e.events(w.ID) {
		outcomes = append(outcomes, ev.Action+" "+ev.Outcome)
	}
	want := []string{
		"sync refused: another Sync or settings change of this workload held its lock for more than 50ms; retry",
		"gitops_settings applied",
		"create applied",
	}
	if diff := cmp.Diff(want, outcomes); diff != "" {
		t.Errorf("audit rows (-want +got):\n%s", diff)
	}
}

// When a fetch stops early, the message names the cause: the forge's deadline, or the request
// ending first (its client went away), which is not the forge's fault.
func TestFetchStopMessageNamesCause(t *testing.T) {
	tests := []struct {
		name       string
		ignoreCtx  bool
		clientGone bool
		want       string
	}{
		{"forge times out", false, false, "did not answer within 100ms"},
		{"forge times out, ignoring ctx", true, false, "did not answer within 100ms"},
		{"client goes away", false, true, "the request ended before the forge answered (the client went away or gave up)"},
		{"client goes away, forge ignoring ctx", true, true, "the request ended before the forge answered (the client went away or gave up)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, func(c *Config) { c.FetchTimeout = 100 * time.Millisecond })
			w := e.createWorkload("app", "dockerfile", `{}`)
			e.forge.push("main", "c1", ".tinyforge.yml", []byte(goodFile))
			e.enable(w.ID)
			e.forge.mu.Lock()
			e.forge.hang, e.forge.ignore = true, tt.ignoreCtx
			e.forge.mu.Unlock()
			wl, err := e.store.GetWorkload(t.Context(), w.ID)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			if tt.clientGone {
				time.AfterFunc(10*time.Millisecond, cancel)
			}
			res := e.srv.fetch(ctx, wl, 0)
			if res.Status != "fetch_failed" || !strings.Contains(res.Message, tt.want) {
				t.Errorf("status %q message %q, want fetch_failed saying %q", res.Status, res.Message, tt.want)
			}
			if tt.clientGone && strings.Contains(res.Message, "did not answer within") {
				t.Errorf("message %q blames the forge for the client's going away", res.Message)
			}
		})
	}
}
