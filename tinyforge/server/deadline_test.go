package server

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tinyforge/tinyforge-check/tinyforge"
)

// The default budget fits (issue 14 F3): the lock wait and the fetch leave a Sync time for its
// write inside the deadline, and the deadline, a refused Sync's audit row and the answer fit
// under cmd/tinyforge-server's 30 s HTTP write timeout. New checks the last part again with
// the command's real value at start-up (cmd/tinyforge-server passes Config.WriteTimeout).
func TestDefaultSyncDeadlineFitsWriteTimeout(t *testing.T) {
	const (
		cmdWriteTimeout = 30 * time.Second // writeTimeout in cmd/tinyforge-server/main.go
		minWrite        = 3 * time.Second  // a write on a loaded machine, with room to spare
	)
	if DefaultLockWait+DefaultFetchTimeout+minWrite > DefaultSyncDeadline {
		t.Errorf("lock wait %s + fetch %s leave less than %s of the %s deadline for the write",
			DefaultLockWait, DefaultFetchTimeout, minWrite, DefaultSyncDeadline)
	}
	if DefaultSyncDeadline+auditGrace+answerMargin > cmdWriteTimeout {
		t.Errorf("deadline %s + audit row %s + answer %s exceed the write timeout %s: a Sync could be applied after its client was cut off",
			DefaultSyncDeadline, auditGrace, answerMargin, cmdWriteTimeout)
	}
	e := newEnv(t)
	base := Config{Store: e.store, Cipher: e.srv.cipher, OpenForge: e.srv.openForge, WriteTimeout: cmdWriteTimeout}
	if _, err := New(base); err != nil {
		t.Errorf("New with the defaults and a %s write timeout: %v", cmdWriteTimeout, err)
	}
	tooLong := base
	tooLong.SyncDeadline = cmdWriteTimeout - auditGrace
	if _, err := New(tooLong); err == nil || !strings.Contains(err.Error(), "lower SyncDeadline or raise the write timeout") {
		t.Errorf("New with a %s deadline under a %s write timeout: %v, want a refusal saying what to do", tooLong.SyncDeadline, cmdWriteTimeout, err)
	}
}

// The store's write turn is a semaphore whose wait ends with the writer's context: a write
// queued behind a stuck one gives up at its deadline, writes nothing, and the turn stays usable.
// (With a sync.Mutex it would wait for the stuck write however long that takes.)
func TestStoreWriteWaitEndsWithContext(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	held, release := make(chan struct{}), make(chan struct{})
	stuck := make(chan error, 1)
	go func() {
		stuck <- e.store.write(ctx, func(*sql.Tx) error { close(held); <-release; return nil })
	}()
	<-held
	wctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	queued := make(chan error, 1)
	start := time.Now()
	go func() {
		queued <- e.store.AddEvent(wctx, &tinyforge.Event{Actor: "test", WorkloadID: 99, Action: ActionSync, Outcome: OutcomeApplied})
	}()
	select {
	case err := <-queued:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("queued write: %v, want the context's deadline", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("queued write gave up after %s, want about 100ms", d)
		}
	case <-time.After(5 * time.Second):
		t.Error("a write queued behind a stuck one waited past its context's deadline")
		close(release)
		<-queued
		release = nil
	}
	if release != nil {
		close(release)
	}
	if err := <-stuck; err != nil {
		t.Fatal(err)
	}
	if evs, err := e.store.Events(ctx, 99, 0); err != nil || len(evs) != 0 {
		t.Errorf("events of the write that gave up: %v %v, want none", evs, err)
	}
	if err := e.store.AddEvent(ctx, &tinyforge.Event{Actor: "test", WorkloadID: 99, Action: ActionSync, Outcome: OutcomeApplied}); err != nil {
		t.Errorf("a write after the timed-out one: %v", err)
	}
}

// A Sync whose fetch runs into the request's deadline (the forge is slower than SyncDeadline
// allows) is refused with 503 and writes nothing but its audit row; the message blames the
// deadline, not the client. A PUT gitops, whose fetch (for the view it answers) comes after its
// write, answers 200 in time with a view saying the forge missed the deadline.
func TestSyncFetchPastDeadline(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.SyncDeadline = 300 * time.Millisecond; c.WriteTimeout = 4 * time.Second })
	w := e.createWorkload("app", "dockerfile", `{"port":3000}`)
	e.forge.push("main", "c1", ".tinyforge.yml", []byte(goodFile))
	e.enable(w.ID)
	e.forge.mu.Lock()
	e.forge.hang = true
	e.forge.mu.Unlock()
	code, b := e.do("POST", fmt.Sprintf("/api/workloads/%d/gitops/sync", w.ID), e.admin, `{}`)
	if code != 503 || !strings.Contains(b, "the forge did not answer until this request's 300ms deadline; retry") {
		t.Errorf("Sync with a hung forge = %d %s, want 503 naming the deadline", code, b)
	}
	wl, err := e.store.GetWorkload(t.Context(), w.ID)
	if err != nil {
		t.Fatal(err)
	}
	if string(wl.SourceConfig) != `{"port":3000}` || wl.Version != 1 || wl.GitOpsCommitSHA != "" {
		t.Errorf("after the refused Sync: %s v%d commit %q, want it untouched", wl.SourceConfig, wl.Version, wl.GitOpsCommitSHA)
	}
	evs := e.events(w.ID)
	if len(evs) == 0 || evs[0].Action != ActionSync || !strings.HasPrefix(evs[0].Outcome, "refused: the forge did not answer until") {
		t.Errorf("newest audit row %+v, want the refused Sync", evs)
	}

	var v tinyforge.GitOpsView
	e.doJSON("PUT", fmt.Sprintf("/api/workloads/%d/gitops", w.ID), e.admin, `{"enabled":true,"path":"deploy/tf.yml"}`, 200, &v)
	if v.Path != "deploy/tf.yml" || v.Status != "fetch_failed" || !strings.Contains(v.Message, "the forge did not answer until this request's 300ms deadline") {
		t.Errorf("PUT gitops with a hung forge: path %q status %q message %q, want the new path and fetch_failed naming the deadline", v.Path, v.Status, v.Message)
	}
	if wl, err := e.store.GetWorkload(t.Context(), w.ID); err != nil || wl.GitOpsPath != "deploy/tf.yml" {
		t.Errorf("after PUT gitops: %+v %v, want the new path saved", wl, err)
	}
}

// answer is what one client got: a status and body, or no answer at all (err: the connection
// was dropped, e.g. by the server's write timeout), and when.
type answer struct {
	what    string
	actor   string // the audit actor of a Sync's token
	code    int
	body    string
	err     error
	elapsed time.Duration
}

// Issue 14 F3: another connection (another process) holds the database's write lock, and a
// writer of the server's own process with no deadline (as the token command's Store calls
// have) waits behind it. Syncs, edit-form saves, settings changes and a create arriving
// meanwhile all answer 503 before the HTTP write timeout, and none is applied: not while the
// lock is held, and not after it is released (before the fix they queued without a deadline,
// and a Sync was applied after its client had been cut off). Then a Sync goes through.
func TestWritesUnderHeldDatabaseLock(t *testing.T) {
	t.Parallel() // mostly waiting on its own database and server
	const (
		deadline     = 1 * time.Second
		writeTimeout = deadline + auditGrace + answerMargin + 2*time.Second // 2 s to spare, as cmd/tinyforge-server's defaults
		holdFor      = writeTimeout + time.Second                           // longer than any client may wait
		syncs        = 4
	)
	e, logs := deadlineEnv(t, deadline, writeTimeout)
	ctx := t.Context()
	w := e.createWorkload("app", "dockerfile", `{"port":3000}`)
	e.forge.push("main", "c1", ".tinyforge.yml", []byte(goodFile))
	e.enable(w.ID)
	path := fmt.Sprintf("/api/workloads/%d", w.ID)
	syncTokens, actors := e.syncTokens(syncs)

	// Another process takes the write lock and holds it for holdFor.
	other, err := sql.Open("sqlite", e.dbPath+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	conn, err := other.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	released := make(chan struct{})
	time.AfterFunc(holdFor, func() {
		// Not ctx: after an early failure this runs once the test has ended and ctx with it.
		if _, err := conn.ExecContext(context.Background(), "ROLLBACK"); err != nil {
			t.Errorf("release the write lock: %v", err)
		}
		close(released)
	})
	// A writer of this process without a deadline waits (busy timeout 10 s) behind it.
	tokenDone := make(chan error, 1)
	go func() {
		_, _, err := e.store.CreateToken(ctx, "no deadline", RoleViewer, 0)
		tokenDone <- err
	}()
	time.Sleep(100 * time.Millisecond) // let it take the write turn first

	type request struct{ what, method, path, token, body, actor string }
	var reqs []request
	for i, tok := range syncTokens {
		reqs = append(reqs, request{fmt.Sprintf("sync %d", i), "POST", path + "/gitops/sync", tok, `{"commit_sha":"c1"}`, actors[i]})
	}
	for i := range 3 {
		reqs = append(reqs, request{fmt.Sprintf("edit %d", i), "PATCH", path, e.admin, fmt.Sprintf(`{"source_config":{"port":%d},"version":1}`, 4000+i), ""})
	}
	reqs = append(reqs,
		request{"put gitops", "PUT", path + "/gitops", e.admin, `{"enabled":true,"path":"other.yml"}`, ""},
		request{"patch repo", "PATCH", path, e.admin, `{"repo":{"provider":"gitea","base_url":"https://gitea.example.com","owner":"acme","repo":"app","branch":"dev"}}`, ""},
		request{"create", "POST", "/api/workloads", e.admin, `{"name":"new","source_type":"static"}`, ""},
	)
	answers := make([]answer, len(reqs))
	var wg sync.WaitGroup
	start := time.Now()
	for i, rq := range reqs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t0 := time.Now()
			code, body, err := e.send(rq.method, rq.path, rq.token, rq.body)
			answers[i] = answer{what: rq.what, actor: rq.actor, code: code, body: body, err: err, elapsed: time.Since(t0)}
		}()
	}
	wg.Wait()
	t.Logf("%d requests answered within %s, the lock held for %s", len(reqs), time.Since(start).Round(time.Millisecond), holdFor)
	for _, a := range answers {
		t.Logf("%s: %d after %s: %s", a.what, a.code, a.elapsed.Round(time.Millisecond), strings.TrimSpace(a.body))
		switch {
		case a.err != nil:
			t.Errorf("%s: no answer (%v) after %s: the server's write timeout %s cut the client off", a.what, a.err, a.elapsed, writeTimeout)
		case a.code != 503:
			t.Errorf("%s: %d %s, want 503 while the database's write lock is held", a.what, a.code, a.body)
		case !strings.Contains(a.body, "Sync refused: ") && !strings.Contains(a.body, "nothing changed: ") && !strings.Contains(a.body, "nothing created: "):
			t.Errorf("%s: 503 %s, want it to say that nothing was written", a.what, a.body)
		}
	}

	<-released
	if err := <-tokenDone; err != nil {
		t.Errorf("the writer without a deadline: %v (it waits up to the 10 s busy timeout)", err)
	}
	// Nothing was applied, not even after the lock was released.
	wl, err := e.store.GetWorkload(ctx, w.ID)
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprintf("config=%s version=%d enabled=%v path=%s branch=%s commit=%q", wl.SourceConfig, wl.Version, wl.GitOpsEnabled, wl.GitOpsPath, wl.Repo.Branch, wl.GitOpsCommitSHA)
	if want := `config={"port":3000} version=1 enabled=true path=.tinyforge.yml branch=main commit=""`; got != want {
		t.Errorf("after the lock was released: %s\nwant %s", got, want)
	}
	if list, err := e.store.ListWorkloads(ctx, "new", 0); err != nil || len(list) != 0 {
		t.Errorf("the refused create: %d workloads named new (%v), want none", len(list), err)
	}
	for _, a := range answers {
		if a.actor == "" {
			continue
		}
		evs, err := e.store.Events(ctx, w.ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range evs {
			if ev.Actor == a.actor && ev.Outcome == OutcomeApplied {
				t.Errorf("%s answered %d (err %v) but was applied: %+v", a.what, a.code, a.err, ev)
			}
		}
	}
	// The database did not take the refused Syncs' audit rows in time: the log has them.
	if n := strings.Count(logs.String(), "the audit row of a Sync refused for its deadline could not be written"); n != syncs {
		t.Errorf("%d refused Syncs logged for want of an audit row, want %d; log:\n%s", n, syncs, logs)
	}

	// The lock is free: a Sync goes through.
	var res tinyforge.SyncResult
	e.doJSON("POST", path+"/gitops/sync", e.admin, `{"commit_sha":"c1"}`, 200, &res)
	var after tinyforge.Workload
	e.doJSON("GET", path, e.admin, "", 200, &after)
	if after.Version != 2 || after.GitOps.CommitSHA != "c1" {
		t.Errorf("after the Sync: version %d commit %q, want 2 c1", after.Version, after.GitOps.CommitSHA)
	}
	if evs := e.events(w.ID); len(evs) == 0 || evs[0].Outcome != OutcomeApplied || evs[0].Actor != "token:admin#1" {
		t.Errorf("newest audit row %+v, want the applied Sync", evs)
	}
}
