package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tinyforge/tinyforge-check/internal/buildinfo"
	"github.com/tinyforge/tinyforge-check/tinyforge/server"
)

// newApp returns an app writing to buffers, with env as its environment.
func newApp(env map[string]string) (*app, *bytes.Buffer, *bytes.Buffer) {
	var out, errb bytes.Buffer
	return &app{stdout: &out, stderr: &errb, getenv: func(k string) string { return env[k] }}, &out, &errb
}

func TestTokenCommands(t *testing.T) {
	ctx := t.Context()
	db := filepath.Join(t.TempDir(), "sub.db")

	a, out, errb := newApp(nil)
	if code := a.run(ctx, []string{"token", "create", "--db", db, "--role", "admin", "--name", "ci"}); code != 0 {
		t.Fatalf("token create = %d, stderr %s", code, errb)
	}
	// stdout is the token and nothing else.
	if !regexp.MustCompile(`^tfk_[A-Za-z0-9_-]{43}\n$`).MatchString(out.String()) {
		t.Errorf("token create printed %q, want one token line", out.String())
	}
	secret := strings.TrimSpace(out.String())

	// A token limited to a workload that does not exist is refused, by id and by name: it would
	// gain rights over whichever workload later gets that id.
	for _, ref := range []string{"3", "web"} {
		a, out, errb := newApp(nil)
		code := a.run(ctx, []string{"token", "create", "--db", db, "--role", "viewer", "--name", "early", "--workload", ref})
		if code != 1 || out.Len() != 0 || !strings.Contains(errb.String(), "create it first") {
			t.Errorf("token create --workload %s before the workload exists: exit %d, stdout %q, stderr %q", ref, code, out, errb)
		}
	}
	st, err := server.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"api", "worker", "web"} { // web gets id 3
		if _, err := st.CreateWorkload(ctx, server.NewWorkload{Name: name, SourceType: "dockerfile", SourceConfig: json.RawMessage(`{}`)}, nil); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	for _, ref := range []string{"3", "web"} {
		a, _, errb := newApp(nil)
		if code := a.run(ctx, []string{"token", "create", "--db", db, "--role", "viewer", "--name", "pr-check", "--workload", ref}); code != 0 {
			t.Fatalf("token create --workload %s = %d: %s", ref, code, errb)
		}
	}
	a, _, _ = newApp(nil)
	if code := a.run(ctx, []string{"token", "revoke", "--db", db, "--id", "1"}); code != 0 {
		t.Fatal("token revoke failed")
	}
	a, out, _ = newApp(nil)
	if code := a.run(ctx, []string{"token", "list", "--db", db}); code != 0 {
		t.Fatal("token list failed")
	}
	if strings.Contains(out.String(), secret) || strings.Contains(out.String(), secret[4:20]) {
		t.Errorf("token list prints the secret:\n%s", out)
	}
	want := []string{"ID NAME ROLE WORKLOAD CREATED REVOKED", "1 ci admin all revoked", "2 pr-check viewer 3 valid", "3 pr-check viewer 3 valid"}
	var got []string
	for i, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		f := strings.Fields(line)
		if i == 0 {
			got = append(got, strings.Join(f, " "))
			continue
		}
		state := "valid"
		if f[5] != "-" {
			state = "revoked"
		}
		got = append(got, strings.Join([]string{f[0], f[1], f[2], f[3], state}, " "))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("token list (-want +got):\n%s", diff)
	}
}

func TestUsageErrors(t *testing.T) {
	db := filepath.Join(t.TempDir(), "x.db")
	tests := [][]string{
		{},
		{"frobnicate"},
		{"token"},
		{"token", "create", "--db", db, "--role", "root", "--name", "x"},
		{"token", "create", "--db", db, "--role", "admin"},
		{"token", "create", "--role", "admin", "--name", "x"},
		{"token", "revoke", "--db", db},
		{"serve"},
		{"serve", "--db", db, "--allow-forge-net", "not-a-cidr"},
	}
	for _, args := range tests {
		a, out, _ := newApp(nil)
		if code := a.run(t.Context(), args); code != 2 {
			t.Errorf("run %q = %d, want 2", args, code)
		}
		if out.Len() != 0 {
			t.Errorf("run %q wrote to stdout: %q", args, out)
		}
	}
}

func TestServeNeedsSecretKey(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "tf.db")
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"no key", nil, []string{"serve", "--db", db, "--addr", "127.0.0.1:0"}, "no secret key"},
		{"bad env key", map[string]string{"TINYFORGE_SECRET_KEY": "c2hvcnQ="}, []string{"serve", "--db", db, "--addr", "127.0.0.1:0"}, "TINYFORGE_SECRET_KEY: secret key decodes to 5 bytes"},
		{"missing key file", nil, []string{"serve", "--db", db, "--addr", "127.0.0.1:0", "--secret-key-file", filepath.Join(dir, "nope")}, "read secret key file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, _, errb := newApp(tt.env)
			if code := a.run(t.Context(), tt.args); code != 1 {
				t.Errorf("serve = %d, want 1", code)
			}
			if !strings.Contains(errb.String(), tt.want) {
				t.Errorf("stderr %q does not contain %q", errb, tt.want)
			}
		})
	}
}

// startServe runs `serve` with args on 127.0.0.1:0 until the test ends and returns its base
// URL and its stderr.
func startServe(t *testing.T, a *app, errb *bytes.Buffer, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	addrc := make(chan string, 1)
	a.listening = func(addr net.Addr) { addrc <- addr.String() }
	done := make(chan int, 1)
	go func() { done <- a.run(ctx, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)) }()
	select {
	case addr := <-addrc:
		t.Cleanup(func() {
			cancel()
			if code := <-done; code != 0 {
				t.Errorf("serve exited %d", code)
			}
		})
		return "http://" + addr
	case code := <-done:
		cancel()
		t.Fatalf("serve exited %d before listening: %s", code, errb)
	}
	return ""
}

func TestServeDevCreatesKeyFile(t *testing.T) {
	db := filepath.Join(t.TempDir(), "tf.db")
	a, _, errb := newApp(nil)
	var mu sync.Mutex
	a.stderr = lockedWriter{&mu, errb}
	base := startServe(t, a, errb, "--db", db, "--dev")
	resp, err := http.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("healthz = %d", resp.StatusCode)
	}
	fi, err := os.Stat(db + ".secret-key")
	if err != nil {
		t.Fatalf("--dev did not create the key file: %v", err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", fi.Mode().Perm())
	}
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(errb.String(), "*** DEV MODE: generated secret key in "+db+".secret-key") {
		t.Errorf("--dev did not say so loudly; stderr:\n%s", errb)
	}
	key, _ := os.ReadFile(db + ".secret-key")
	if strings.Contains(errb.String(), strings.TrimSpace(string(key))) {
		t.Error("the generated key was printed")
	}
}

// lockedWriter serializes writes from the server goroutine and reads by the test.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// A Sync's worst case before its write (lock wait + fetch deadline) leaves room under the HTTP
// write timeout for the database write and the answer.
func TestSyncFitsInWriteTimeout(t *testing.T) {
	const margin = 3 * time.Second
	if lockWait+fetchTimeout+margin > syncDeadline {
		t.Errorf("lock wait %s + fetch %s + %s for the write exceed the Sync deadline %s: a Sync could time out before it writes",
			lockWait, fetchTimeout, margin, syncDeadline)
	}
	if syncDeadline+margin > writeTimeout {
		t.Errorf("the Sync deadline %s + %s for the audit row and the answer exceed the write timeout %s: a Sync could be applied after its client was cut off",
			syncDeadline, margin, writeTimeout)
	}
}

func TestVersion(t *testing.T) {
	for _, arg := range []string{"version", "--version"} {
		a, out, errOut := newApp(nil)
		if code := a.run(t.Context(), []string{arg}); code != 0 {
			t.Errorf("run %s = %d, want 0; stderr %q", arg, code, errOut)
		}
		want := buildinfo.String("tinyforge-server") + "\n"
		if out.String() != want {
			t.Errorf("run %s printed %q, want %q", arg, out, want)
		}
	}
}

// TestSubcommandHelp: -h and --help print the subcommand's usage and flags on stdout and exit
// 0; a bad flag prints the error and a hint on stderr and exits 2.
func TestSubcommandHelp(t *testing.T) {
	for _, cmd := range [][]string{{"serve"}, {"token", "create"}, {"token", "list"}, {"token", "revoke"}} {
		for _, h := range []string{"-h", "--help"} {
			a, out, errb := newApp(nil)
			if code := a.run(t.Context(), append(append([]string(nil), cmd...), h)); code != 0 || errb.Len() != 0 {
				t.Errorf("%v %s: exit %d, stderr %q", cmd, h, code, errb)
			}
			name := strings.Join(cmd, " ")
			if !strings.Contains(out.String(), "tinyforge-server "+name+" --db PATH") || !strings.Contains(out.String(), "-db path") {
				t.Errorf("%v %s printed:\n%s", cmd, h, out)
			}
		}
		a, out, errb := newApp(nil)
		code := a.run(t.Context(), append(append([]string(nil), cmd...), "--nope"))
		name := strings.Join(cmd, " ")
		want := "tinyforge-server " + name + ": flag provided but not defined: -nope\nRun \"tinyforge-server " + name + " -h\" for usage.\n"
		if code != 2 || out.Len() != 0 || errb.String() != want {
			t.Errorf("%v --nope: exit %d, stdout %q, stderr %q; want 2, nothing, %q", cmd, code, out, errb, want)
		}
	}
}

// TestTokenCommandMessages: the token commands name the real mistake: a missing subcommand, an
// unknown one, a bad role by its value, each missing flag; token create on a database file that
// does not exist yet says it created one, and where, so a typo in --db cannot silently yield a
// token the running server rejects; list and revoke never create a database.
func TestTokenCommandMessages(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "tf.db")
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStderr string
	}{
		{"no subcommand", []string{"token"}, 2, "tinyforge-server token: give a subcommand: create, list or revoke"},
		{"unknown subcommand", []string{"token", "make"}, 2, `tinyforge-server token: unknown subcommand "make": use create, list or revoke`},
		{"bad role", []string{"token", "create", "--db", db, "--role", "reader", "--name", "x"}, 2, `--role "reader" is no role: use admin or viewer`},
		{"no role", []string{"token", "create", "--db", db, "--name", "x"}, 2, "missing --role: use admin or viewer"},
		{"no name", []string{"token", "create", "--db", db, "--role", "admin"}, 2, "missing --name NAME"},
		{"no db", []string{"token", "create", "--role", "admin", "--name", "x"}, 2, "missing --db PATH"},
		{"an argument", []string{"token", "create", "--db", db, "--role", "admin", "--name", "x", "extra"}, 2, `takes no arguments, got "extra"`},
		{"list a database that is not there", []string{"token", "list", "--db", db}, 1, "there is no database at " + db + ": check --db"},
		{"revoke in a database that is not there", []string{"token", "revoke", "--db", db, "--id", "1"}, 1, "there is no database at " + db},
		{"revoke without --id", []string{"token", "revoke", "--db", db}, 2, "missing --id ID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, out, errb := newApp(nil)
			if code := a.run(t.Context(), tt.args); code != tt.wantCode || !strings.Contains(errb.String(), tt.wantStderr) || out.Len() != 0 {
				t.Errorf("run %q = %d, stdout %q, stderr %q; want %d and %q", tt.args, code, out, errb, tt.wantCode, tt.wantStderr)
			}
			if _, err := os.Stat(db); err == nil {
				t.Fatalf("run %q created %s", tt.args, db)
			}
		})
	}

	// The first token create makes the database and says where; the next one says nothing.
	for i, wantNote := range []bool{true, false} {
		a, out, errb := newApp(nil)
		if code := a.run(t.Context(), []string{"token", "create", "--db", db, "--role", "admin", "--name", fmt.Sprint("ops", i)}); code != 0 {
			t.Fatalf("token create = %d: %s", code, errb)
		}
		note := "tinyforge-server token create: created a new database at " + db + ", since none was there"
		if got := strings.Contains(errb.String(), note); got != wantNote {
			t.Errorf("create #%d: stderr %q; want the note %q: %v", i+1, errb, note, wantNote)
		}
		if !regexp.MustCompile(`^tfk_\S+\n$`).MatchString(out.String()) {
			t.Errorf("create #%d: stdout %q; want the token alone", i+1, out)
		}
	}
}
