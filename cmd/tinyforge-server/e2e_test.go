package main

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tinyforge/tinyforge-check/internal/forgefake"
	"github.com/tinyforge/tinyforge-check/internal/secret"
	"github.com/tinyforge/tinyforge-check/providers"
	"github.com/tinyforge/tinyforge-check/tinyforge"
)

var specs forgefake.Specs

// forgeCanary is the repo access token: it must never come back from the server.
const forgeCanary = "gta_FORGE_CANARY_e2e_0123456789"

// loopbackOnly is a dial hook that refuses, and reports, any dial outside loopback: tests
// never touch another address even when the SSRF policy under test is wrong.
func loopbackOnly(t *testing.T, dialed *[]string, mu *sync.Mutex) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		mu.Lock()
		*dialed = append(*dialed, addr)
		mu.Unlock()
		ap, err := netip.ParseAddrPort(addr)
		if err != nil || !ap.Addr().Unmap().IsLoopback() {
			t.Errorf("the forge client dialed %s, which the SSRF policy should have refused", addr)
			return nil, errors.New("test refuses non-loopback dials")
		}
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}
}

// TestEndToEnd starts tinyforge-server on loopback with a workload whose repo lives on the fake
// Gitea, enables GitOps, views drift, Syncs, and sees the live config and the audit log change.
func TestEndToEnd(t *testing.T) {
	ctx := t.Context()
	gt := forgefake.NewGitea(t, forgefake.Options{Spec: specs.Gitea(t)})
	gt.AddToken(forgeCanary, forgefake.Token{Login: "deploy-bot"})
	file := "version: 1\ndeploy:\n  port: 8080\n  deploy_strategy: rolling\n"
	head := gt.PutFile("acme", "app", "main", ".tinyforge.yml", []byte(file))

	db := filepath.Join(t.TempDir(), "tf.db")
	env := map[string]string{"TINYFORGE_SECRET_KEY": base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{9}, 32))}
	a, out, _ := newApp(env)
	if code := a.run(ctx, []string{"token", "create", "--db", db, "--role", "admin", "--name", "e2e"}); code != 0 {
		t.Fatal("token create failed")
	}
	adminToken := strings.TrimSpace(out.String())

	a, _, errb := newApp(env)
	var mu sync.Mutex
	var dialed []string
	a.dial = loopbackOnly(t, &dialed, &mu)
	a.forgeRetryWait = time.Millisecond
	a.stderr = lockedWriter{&mu, errb}
	base := startServe(t, a, errb, "--db", db, "--allow-forge-net", "127.0.0.1/32")
	c, err := tinyforge.NewClient(base, adminToken, nil)
	if err != nil {
		t.Fatal(err)
	}

	w, err := c.CreateWorkload(ctx, tinyforge.CreateWorkloadRequest{Name: "web", SourceType: "dockerfile",
		SourceConfig: json.RawMessage(`{"port":3000,"dockerfile_path":"Dockerfile"}`),
		Repo:         &tinyforge.RepoSettings{Provider: "gitea", BaseURL: gt.URL(), Owner: "acme", Repo: "app", Branch: "main", AccessToken: forgeCanary}})
	if err != nil {
		t.Fatal(err)
	}
	if len(gt.Requests()) != 0 {
		t.Errorf("creating a workload contacted the forge: %+v", gt.Requests())
	}

	view, err := c.SetGitOps(ctx, w.ID, tinyforge.SetGitOpsRequest{Enabled: true, Path: ".tinyforge.yml"})
	if err != nil {
		t.Fatal(err)
	}
	wantView := &tinyforge.GitOpsView{Enabled: true, Path: ".tinyforge.yml", Status: "ok", Raw: file, CommitSHA: head, FileSHA: blobSHA1(file),
		Drift:         []tinyforge.DriftEntry{{Field: "deploy.port", RepoValue: "8080", LiveValue: "3000"}, {Field: "deploy.deploy_strategy", RepoValue: "rolling", LiveValue: "(unset)"}},
		ManagedFields: []string{"deploy.port", "deploy.deploy_strategy"}}
	if _, err := time.Parse(time.RFC3339, view.CheckedAt); err != nil {
		t.Errorf("checked_at %q: %v", view.CheckedAt, err)
	}
	wantView.CheckedAt = view.CheckedAt // when the server read the head
	if diff := cmp.Diff(wantView, view); diff != "" {
		t.Fatalf("view after enabling (-want +got):\n%s", diff)
	}
	// The forge saw the decrypted repo token, on its own origin only.
	for _, r := range gt.Requests() {
		if got := r.Header.Get("Authorization"); got != "token "+forgeCanary {
			t.Errorf("%s %s sent Authorization %q", r.Method, r.Path, got)
		}
	}

	// A repeated view of the unchanged head costs one forge request and no download.
	gt.ResetRequests()
	if view, err = c.GetGitOps(ctx, w.ID); err != nil || view.Status != "ok" {
		t.Fatalf("second view: %v %+v", err, view)
	}
	var paths []string
	for _, r := range gt.Requests() {
		paths = append(paths, r.Method+" "+r.Path)
	}
	if diff := cmp.Diff([]string{"GET /api/v1/repos/acme/app/branches/main"}, paths); diff != "" {
		t.Errorf("forge requests of a cached view (-want +got):\n%s", diff)
	}

	// Sync exactly what was reviewed.
	res, err := c.Sync(ctx, w.ID, tinyforge.SyncRequest{CommitSHA: view.CommitSHA, FileSHA: view.FileSHA})
	if err != nil {
		t.Fatal(err)
	}
	wantApplied := []tinyforge.Change{{Field: "deploy.port", From: "3000", To: "8080"}, {Field: "deploy.deploy_strategy", From: "(unset)", To: "rolling"}}
	if diff := cmp.Diff(wantApplied, res.Applied); diff != "" || res.CommitSHA != head || res.FileSHA != blobSHA1(file) {
		t.Errorf("sync result %+v; applied (-want +got):\n%s", res, diff)
	}
	live, err := c.FindWorkload(ctx, "web")
	if err != nil {
		t.Fatal(err)
	}
	wantLive := &tinyforge.Workload{ID: w.ID, Name: "web", SourceType: "dockerfile",
		SourceConfig: json.RawMessage(`{"deploy_strategy":"rolling","dockerfile_path":"Dockerfile","port":8080}`), Version: 2,
		GitOps: tinyforge.GitOpsSettings{Enabled: true, Path: ".tinyforge.yml", LastSyncAt: res.LastSyncAt, CommitSHA: head, FileSHA: blobSHA1(file)},
		UIURL:  base + "/apps/1"}
	// Drift attribution: the Sync set both fields.
	for _, f := range []string{"deploy.port", "deploy.deploy_strategy"} {
		if sb := live.SetBy[f]; sb.Action != "sync" || sb.CommitSHA != head || sb.Actor != "token:e2e#1" || sb.At != res.LastSyncAt {
			t.Errorf("set_by[%s] = %+v, want the Sync of %s", f, sb, head)
		}
	}
	wantLive.SetBy = live.SetBy
	if diff := cmp.Diff(wantLive, live); diff != "" {
		t.Errorf("live after Sync (-want +got):\n%s", diff)
	}
	if view, _ = c.GetGitOps(ctx, w.ID); len(view.Drift) != 0 {
		t.Errorf("drift after Sync: %+v", view.Drift)
	}

	// A push after the review: a Sync pinned to the reviewed commit is refused and audited.
	head2 := gt.PutFile("acme", "app", "main", ".tinyforge.yml", []byte(strings.Replace(file, "8080", "9090", 1)))
	_, err = c.Sync(ctx, w.ID, tinyforge.SyncRequest{CommitSHA: head, FileSHA: blobSHA1(file)})
	if !errors.Is(err, tinyforge.ErrConflict) {
		t.Errorf("Sync pinned to a superseded commit: err = %v, want ErrConflict", err)
	}
	evs, err := c.Events(ctx, w.ID)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ev := range evs {
		if leaks(fmt.Sprint(ev), forgeCanary, adminToken) {
			t.Errorf("audit row leaks a token, or a form or piece of one: %+v", ev)
		}
		outcome, _, _ := strings.Cut(ev.Outcome, ":")
		got = append(got, fmt.Sprintf("%s %s %s %d %s", ev.Actor, ev.Action, short(ev.CommitSHA), len(ev.Changes), outcome))
	}
	want := []string{
		"token:e2e#1 sync " + short(head2) + " 0 refused",
		"token:e2e#1 sync " + short(head) + " 2 applied",
		"token:e2e#1 gitops_settings  1 applied",
		"token:e2e#1 create  8 applied",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("audit log, newest first (-want +got):\n%s", diff)
	}

	// Forge faults through the real provider: each is a status, never a hang or a leak.
	faults := []struct {
		name       string
		fault      *forgefake.Fault
		push       func() string
		wantStatus string
		wantMsg    string
	}{
		{"500 on branch", &forgefake.Fault{Kind: forgefake.FaultStatus, Status: 500, PathContains: "/branches/"}, nil, "fetch_failed", "500"},
		{"redirect to a private address", &forgefake.Fault{Kind: forgefake.FaultRedirect, RedirectTo: "http://10.1.2.3", PathContains: "/raw/"},
			func() string { return gt.PutFile("acme", "app", "main", "x.txt", []byte("x")) }, "fetch_failed", "address refused"},
		// A forge whose error quotes the token it was sent, in the forms a proxy or a forge may
		// echo: as is, base64, percent-encoded, and a piece of it.
		{"error body quoting the token", &forgefake.Fault{Kind: forgefake.FaultStatus, Status: 500, PathContains: "/raw/",
			Body: fmt.Sprintf(`{"message":"bad token %s (b64 %s, url %s, piece %s)"}`, forgeCanary,
				base64.StdEncoding.EncodeToString([]byte(forgeCanary)), url.QueryEscape("token "+forgeCanary), forgeCanary[3:14])},
			func() string { return gt.PutFile("acme", "app", "main", "y.txt", []byte("y")) }, "fetch_failed", "500"},
		{"file deleted", nil, func() string { return gt.DeleteFile("acme", "app", "main", ".tinyforge.yml") }, "no_file", "does not exist"},
		{"oversized", nil, func() string {
			return gt.PutFile("acme", "app", "main", ".tinyforge.yml", []byte("version: 1\n#"+strings.Repeat("x", 70<<10)))
		}, "invalid", "larger than 64 KiB"},
	}
	for _, f := range faults {
		gt.ClearFaults()
		if f.fault != nil {
			gt.SetFault(*f.fault)
		}
		if f.push != nil {
			f.push()
		}
		v, err := c.GetGitOps(ctx, w.ID)
		if err != nil {
			t.Fatalf("%s: %v", f.name, err)
		}
		if v.Status != f.wantStatus || !strings.Contains(v.Message, f.wantMsg) || leaks(v.Message, forgeCanary, adminToken) {
			t.Errorf("%s: status %q message %q, want %s containing %q", f.name, v.Status, v.Message, f.wantStatus, f.wantMsg)
		}
	}
	evs, err = c.Events(ctx, w.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs {
		if leaks(fmt.Sprint(ev), forgeCanary, adminToken) {
			t.Errorf("audit row leaks a token after the faults: %+v", ev)
		}
	}
	mu.Lock() // the server logs through mu: no request may run from here on
	defer mu.Unlock()
	if leaks(errb.String(), forgeCanary, adminToken) {
		t.Error("the server log contains a token, or a form or piece of one")
	}
}

// leaks reports whether s holds any of the secrets in any form secret.Redact knows (as is,
// base64, percent-encoded, or a piece of 8 bytes or more): Redact would change it.
func leaks(s string, secrets ...string) bool { return secret.Redact(s, secrets...) != s }

func blobSHA1(s string) string {
	return fmt.Sprintf("%x", sha1Sum([]byte(fmt.Sprintf("blob %d\x00%s", len(s), s))))
}

func short(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}

// mapResolver answers fixed addresses per host, standing in for DNS (and for a rebinding one).
type mapResolver map[string][]netip.Addr

func (m mapResolver) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	if a, ok := m[host]; ok {
		return a, nil
	}
	return nil, fmt.Errorf("no such host %s", host)
}

// The server's forge client refuses private and loopback forges unless --allow-forge-net
// covers them, and link-local always, before any connection is made.
func TestForgeClientSSRF(t *testing.T) {
	gt := forgefake.NewGitea(t, forgefake.Options{})
	gt.AddToken(forgeCanary, forgefake.Token{Login: "bot"})
	head := gt.PutFile("acme", "app", "main", ".tinyforge.yml", []byte("version: 1\n"))
	port := gt.URL()[strings.LastIndex(gt.URL(), ":")+1:]
	res := mapResolver{
		"gitea.test":   {netip.MustParseAddr("127.0.0.1")},
		"meta.test":    {netip.MustParseAddr("169.254.169.254")},
		"private.test": {netip.MustParseAddr("10.0.0.7")},
		"rebind.test":  {netip.MustParseAddr("93.184.216.34"), netip.MustParseAddr("127.0.0.1")},
		"mapped.test":  {netip.MustParseAddr("::ffff:127.0.0.1")},
	}
	pfx := func(s ...string) []netip.Prefix {
		var out []netip.Prefix
		for _, p := range s {
			out = append(out, netip.MustParsePrefix(p))
		}
		return out
	}
	tests := []struct {
		name   string
		host   string
		allow  []netip.Prefix
		wantOK bool
	}{
		{"loopback by name, not allowed", "gitea.test", nil, false},
		{"loopback by name, allowed", "gitea.test", pfx("127.0.0.1/32"), true},
		{"loopback literal, other range allowed", "127.0.0.1", pfx("10.0.0.0/8"), false},
		{"loopback literal, allowed", "127.0.0.1", pfx("127.0.0.0/8"), true},
		{"0.0.0.0", "0.0.0.0", nil, false},
		{"IPv6 loopback", "[::1]", nil, false},
		{"IPv4-mapped IPv6 loopback literal", "[::ffff:127.0.0.1]", nil, false},
		{"IPv4-mapped IPv6 loopback by name", "mapped.test", nil, false},
		{"metadata", "169.254.169.254", nil, false},
		{"metadata by name even when allowed", "meta.test", pfx("169.254.0.0/16"), false},
		{"private range", "private.test", nil, false},
		{"rebinding answer mixing public and loopback", "rebind.test", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			var dialed []string
			a := &app{resolver: res, dial: loopbackOnly(t, &dialed, &mu), forgeRetryWait: time.Millisecond}
			open := forgeOpener(a.forgeHTTPClient(tt.allow, slog.New(slog.DiscardHandler)))
			f, err := open("gitea", "http://"+tt.host+":"+port, forgeCanary)
			if err != nil {
				t.Fatal(err)
			}
			got, err := f.BranchHead(t.Context(), "acme", "app", "main")
			if tt.wantOK {
				if err != nil || got != head {
					t.Errorf("BranchHead = %q, %v; want %q", got, err, head)
				}
				return
			}
			if !errors.Is(err, providers.ErrAddressRefused) {
				t.Errorf("err = %v, want ErrAddressRefused", err)
			}
			if err != nil && strings.Contains(err.Error(), forgeCanary) {
				t.Errorf("error leaks the token: %v", err)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(dialed) != 0 {
				t.Errorf("refused address was dialed: %v", dialed)
			}
		})
	}
}

func sha1Sum(b []byte) [20]byte { return sha1.Sum(b) }
