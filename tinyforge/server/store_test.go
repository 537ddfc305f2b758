package server

import (
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestOpenSetsPragmas(t *testing.T) {
	// '#' and '%' in the path are taken literally, not as URI syntax.
	path := filepath.Join(t.TempDir(), "tf #1 %41.db")
	st, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	tests := []struct{ pragma, want string }{
		{"journal_mode", "wal"},
		{"busy_timeout", "10000"},
		{"foreign_keys", "1"},
		{"database_list", ""},
	}
	for _, tt := range tests {
		if tt.pragma == "database_list" {
			var seq int
			var name, file string
			if err := st.db.QueryRow(`PRAGMA database_list`).Scan(&seq, &name, &file); err != nil {
				t.Fatal(err)
			}
			if file != path {
				t.Errorf("database file %q, want %q", file, path)
			}
			continue
		}
		var got string
		if err := st.db.QueryRow(`PRAGMA ` + tt.pragma).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != tt.want {
			t.Errorf("PRAGMA %s = %q, want %q", tt.pragma, got, tt.want)
		}
	}
	for _, f := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", filepath.Base(f), fi.Mode().Perm())
		}
	}
	if _, err := Open(t.Context(), filepath.Join(t.TempDir(), "a?b.db")); err == nil {
		t.Error("a path with '?' was accepted")
	}
}

// An existing workloads table without the gitops columns gets them, with their defaults, and
// opening again changes nothing.
func TestMigrationAddsGitOpsColumns(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`CREATE TABLE workloads (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE,
		source_type TEXT NOT NULL, source_config TEXT NOT NULL DEFAULT '{}', version INTEGER NOT NULL DEFAULT 1,
		repo_provider TEXT NOT NULL DEFAULT '', repo_base_url TEXT NOT NULL DEFAULT '', repo_owner TEXT NOT NULL DEFAULT '',
		repo_name TEXT NOT NULL DEFAULT '', repo_branch TEXT NOT NULL DEFAULT '', repo_token BLOB, created_at TEXT NOT NULL);
		INSERT INTO workloads (name, source_type, created_at) VALUES ('old', 'static', 'x')`); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	for range 2 {
		st, err := Open(t.Context(), path)
		if err != nil {
			t.Fatal(err)
		}
		w, err := st.GetWorkload(t.Context(), 1)
		st.Close()
		if err != nil {
			t.Fatal(err)
		}
		got := []any{w.GitOpsEnabled, w.GitOpsPath, w.GitOpsLastSyncAt, w.GitOpsCommitSHA}
		if diff := cmp.Diff([]any{false, ".tinyforge.yml", "", ""}, got); diff != "" {
			t.Errorf("gitops columns of an old row (-want +got):\n%s", diff)
		}
	}
}

// Two Stores on one file stand for two processes (serve and `token create`). Transactions begin
// IMMEDIATE, so a second read-modify-write waits for the first instead of failing with
// SQLITE_BUSY when it tries to upgrade a stale read.
func TestImmediateTransactionsAcrossStores(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "tf.db")
	a, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := a.CreateWorkload(ctx, NewWorkload{Name: "w", SourceType: "static"}, nil); err != nil {
		t.Fatal(err)
	}
	bump := func(s *Store, hold time.Duration) error {
		tx, err := s.db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		var v int64
		if err := tx.QueryRow(`SELECT version FROM workloads WHERE id = 1`).Scan(&v); err != nil {
			return err
		}
		time.Sleep(hold)
		if _, err := tx.Exec(`UPDATE workloads SET version = ? WHERE id = 1`, v+1); err != nil {
			return err
		}
		return tx.Commit()
	}
	errc := make(chan error, 2)
	go func() { errc <- bump(a, 200*time.Millisecond) }()
	time.Sleep(50 * time.Millisecond) // let a begin first
	go func() { errc <- bump(b, 0) }()
	for range 2 {
		if err := <-errc; err != nil {
			t.Errorf("concurrent read-modify-write failed: %v", err)
		}
	}
	w, err := b.GetWorkload(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if w.Version != 3 {
		t.Errorf("version %d after two increments from 1, want 3 (an update was lost)", w.Version)
	}
}

// TestTokenNamesAreVisible: a token name with a newline, an escape or a zero-width character is
// refused, naming the character: names show in token list and as the audit log's actor, where
// they could forge rows (issue 14 F7).
func TestTokenNamesAreVisible(t *testing.T) {
	st, err := Open(t.Context(), filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for name, want := range map[string]string{
		"ci\n2 admin admin all": "U+000A LINE FEED at character 3",
		"ci\x1b[1A":             "U+001B ESCAPE at character 3",
		"ci\u200b":              "U+200B ZERO WIDTH SPACE at character 3",
	} {
		_, _, err := st.CreateToken(t.Context(), name, RoleViewer, 0)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("CreateToken(%q): %v, want an error naming %s", name, err, want)
		}
	}
	if _, _, err := st.CreateToken(t.Context(), "ci — prod", RoleViewer, 0); err != nil {
		t.Errorf("a visible non-ASCII name: %v", err)
	}
}
