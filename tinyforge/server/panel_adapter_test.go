package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/tinyforge/tinyforge-check/gitops"
	"github.com/tinyforge/tinyforge-check/tinyforge"
	"github.com/tinyforge/tinyforge-check/tinyforge/server/panel"
)

// Every kind has its own status, and each matches the tinyforge sentinel the panel tests.
func TestErrorKindStatus(t *testing.T) {
	kinds := map[ErrorKind]int{
		KindInvalid: 400, KindUnauthorized: 401, KindForbidden: 403, KindNotFound: 404, KindMethodNotAllowed: 405,
		KindConflict: 409, KindTooLarge: 413, KindUnsupportedMedia: 415, KindUnprocessable: 422,
		KindInternal: 500, KindUnavailable: 503, ErrorKind(0): 500,
	}
	for k, want := range kinds {
		if got := k.Status(); got != want {
			t.Errorf("kind %d: status %d, want %d", k, got, want)
		}
	}
}

// The panel's Backend calls the service directly and gets the errors a tinyforge.Client gets
// from the API: the same status, sentinel and message.
func TestPanelBackendMatchesAPI(t *testing.T) {
	e := newEnv(t)
	w := e.createWorkload("app", "dockerfile", `{"port":3000}`)
	e.createWorkload("other", "dockerfile", `{"port":3000}`)
	e.forge.push("main", "c1", ".tinyforge.yml", []byte(goodFile))
	e.enable(w.ID)
	b := panelBackend{e.srv}
	ctx := t.Context()
	as := func(secret string) panel.Principal {
		p, err := b.Authenticate(ctx, secret)
		if err != nil {
			t.Fatalf("authenticate: %v", err)
		}
		return p
	}
	admin, viewer, limited := as(e.admin), as(e.viewer), as(e.limited)
	revoked := panel.Principal{Name: "revoked", Role: RoleAdmin, Credential: e.revoked}
	if _, err := b.Authenticate(ctx, e.revoked); !errors.Is(err, tinyforge.ErrUnauthorized) {
		t.Errorf("sign-in with a revoked token: %v, want ErrUnauthorized", err)
	}
	version := int64(1)
	tests := []struct {
		name   string
		call   func() error
		method string
		path   string
		body   string
		token  string
		want   error
	}{
		{"revoked", func() error { _, err := b.Workload(ctx, revoked, w.ID); return err }, "GET", "/api/workloads/1", "", e.revoked, tinyforge.ErrUnauthorized},
		{"viewer sync", func() error { _, err := b.Sync(ctx, viewer, w.ID, tinyforge.SyncRequest{}); return err }, "POST", "/api/workloads/1/gitops/sync", `{}`, e.viewer, tinyforge.ErrForbidden},
		{"limited", func() error { _, err := b.GitOps(ctx, limited, 2); return err }, "GET", "/api/workloads/2/gitops", "", e.limited, tinyforge.ErrForbidden},
		{"no workload", func() error { _, err := b.Workload(ctx, admin, 99); return err }, "GET", "/api/workloads/99", "", e.admin, tinyforge.ErrNotFound},
		{"bad path", func() error {
			return b.SetGitOps(ctx, admin, w.ID, tinyforge.SetGitOpsRequest{Enabled: true, Path: ""})
		}, "PUT", "/api/workloads/1/gitops", `{"enabled":true,"path":""}`, e.admin, tinyforge.ErrInvalid},
		{"stale version", func() error {
			return b.UpdateSourceConfig(ctx, admin, w.ID, json.RawMessage(`{"port":1}`), version+5)
		}, "PATCH", "/api/workloads/1", `{"source_config":{"port":1},"version":6}`, e.admin, tinyforge.ErrConflict},
		{"pinned commit moved", func() error {
			_, err := b.Sync(ctx, admin, w.ID, tinyforge.SyncRequest{CommitSHA: "c0"})
			return err
		}, "POST", "/api/workloads/1/gitops/sync", `{"commit_sha":"c0"}`, e.admin, tinyforge.ErrConflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			code, body := e.do(tt.method, tt.path, tt.token, tt.body)
			var eb tinyforge.ErrorBody
			if jerr := json.Unmarshal([]byte(body), &eb); jerr != nil {
				t.Fatal(jerr)
			}
			want := &tinyforge.APIError{Method: tt.method, Path: tt.path, StatusCode: code, Message: eb.Error}
			var got *tinyforge.APIError
			if !errors.As(err, &got) {
				t.Fatalf("error %v is not an *APIError", err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("backend error (-API +backend):\n%s", diff)
			}
			if !errors.Is(err, tt.want) {
				t.Errorf("error %v is not %v", err, tt.want)
			}
		})
	}

	// The answers are the API's too, and a Sync leaves the same audit row.
	v, err := b.GitOps(ctx, viewer, w.ID)
	if err != nil {
		t.Fatal(err)
	}
	var apiView tinyforge.GitOpsView
	e.doJSON("GET", fmt.Sprintf("/api/workloads/%d/gitops", w.ID), e.viewer, "", http.StatusOK, &apiView)
	// LiveMissing is not in the API's JSON (a missing live value is "(unset)" there), so the
	// decoded view cannot hold it. CheckedAt is when each call read the branch head (both read
	// it fresh, to the second): the two may straddle a second, so it is only required of both.
	if diff := cmp.Diff(apiView, v.GitOpsView, cmpopts.IgnoreFields(gitops.DriftEntry{}, "LiveMissing"),
		cmpopts.IgnoreFields(tinyforge.GitOpsView{}, "CheckedAt")); diff != "" {
		t.Errorf("GitOps view (-API +backend):\n%s", diff)
	}
	if apiView.CheckedAt == "" || v.CheckedAt == "" {
		t.Errorf("checked_at: API %q, backend %q; want both set", apiView.CheckedAt, v.CheckedAt)
	}
	if len(v.Comparisons) == 0 {
		t.Error("the view of a valid file has no comparisons")
	}
	res, err := b.Sync(ctx, admin, w.ID, tinyforge.SyncRequest{CommitSHA: v.CommitSHA, FileSHA: v.FileSHA})
	if err != nil || len(res.Applied) == 0 {
		t.Fatalf("Sync = %+v, %v; want applied changes", res, err)
	}
	if evs := e.events(w.ID); len(evs) == 0 || evs[0].Outcome != OutcomeApplied || evs[0].Actor != "token:admin#1" {
		t.Errorf("newest audit row %+v, want the applied Sync by token:admin#1", evs)
	}
	list, err := b.ListWorkloads(ctx, limited)
	if err != nil || len(list) != 1 || list[0].ID != 1 {
		t.Errorf("a limited token's list = %+v, %v; want workload 1 only", list, err)
	}
}
