package server

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/tinyforge/tinyforge-check/forge"
	"github.com/tinyforge/tinyforge-check/gitops"
	"github.com/tinyforge/tinyforge-check/tinyforge"
	_ "modernc.org/sqlite" // the pure-Go SQLite driver, registered as "sqlite"
)

// DefaultGitOpsPath is the file a workload reads when its GitOps path was never set.
const DefaultGitOpsPath = ".tinyforge.yml"

// Store errors, tested with errors.Is.
var (
	// ErrNotFound means no workload (or token) has the given id. It is forge.ErrNotFound.
	ErrNotFound = forge.ErrNotFound
	// ErrVersionConflict means the edit form's version is stale: the config changed meanwhile.
	ErrVersionConflict = errors.New("source_config changed since it was read (stale version); reload the workload and retry")
	// ErrNameTaken means another workload already has this name.
	ErrNameTaken = errors.New("a workload with this name already exists; choose another name")
)

// Store keeps workloads, API tokens and the audit log in one SQLite database (WAL, busy timeout,
// BEGIN IMMEDIATE transactions). Build it with Open; the zero value is not usable. Writes from
// one process are also serialized in Go, so concurrent requests never see SQLITE_BUSY; other
// processes (the token command) wait up to the busy timeout. Every wait of a write, for this
// Store's turn and for another process's lock, ends when the write's context ends: a write
// given a deadline is committed before it or not at all.
type Store struct {
	db *sql.DB
	// writeSem is a one-slot semaphore: a writer holds it from BEGIN to COMMIT or ROLLBACK.
	// Unlike a mutex, the wait for it ends with the writer's context.
	writeSem chan struct{}
	// byID and byHash are the two reads of every request (a workload, a token), prepared once:
	// parsing them took a quarter of a list load's CPU (BenchmarkListLoads).
	byID, byHash *sql.Stmt
}

// busyTimeoutMS is how long a connection waits for another process's write lock, when the
// write's context does not end first.
const busyTimeoutMS = 10000

// maxIdleConns is how many open connections the pool keeps for reuse. database/sql's default of
// 2 made concurrent requests open (and close) a connection each, with its pragmas and schema
// read: under 100 concurrent requests Syncs ran 2 to 3 times slower and missed their deadline
// (TestConcurrentSyncsAndPatches).
const maxIdleConns = 16

// Open opens (creating if needed) the database at path and migrates it.
func Open(ctx context.Context, path string) (*Store, error) {
	if path == "" {
		return nil, errors.New("database path is empty; pass --db PATH")
	}
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeoutMS))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Set("_txlock", "immediate")
	if strings.Contains(path, "?") {
		return nil, fmt.Errorf("database path %q contains '?'; choose a path without it", path)
	}
	// The database holds token hashes and sealed repo tokens: create it readable by the owner
	// only (SQLite gives its -wal and -shm files the same mode).
	if f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600); err == nil {
		f.Close()
	} else if !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("create database %s: %w", path, err)
	}
	// A plain file name (not a file: URI), so '#' and '%' in the path are taken literally.
	db, err := sql.Open("sqlite", path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	db.SetMaxIdleConns(maxIdleConns)
	s := &Store{db: db, writeSem: make(chan struct{}, 1)}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	if s.byID, err = db.PrepareContext(ctx, workloadByID); err == nil {
		s.byHash, err = db.PrepareContext(ctx, tokenByHash)
	}
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open database %s: prepare: %w", path, err)
	}
	return s, nil
}

// Close closes the database.
func (s *Store) Close() error {
	s.byID.Close()
	s.byHash.Close()
	return s.db.Close()
}

var migrations = []string{
	`CREATE TABLE IF NOT EXISTS workloads (
		id INTEGER PRIMARY KEY AUTOINCREMENT,
		name TEXT NOT NULL UNIQUE,
		source_type TEXT NOT NULL,
		source_config TEXT NOT NULL DEFAULT '{}',
		version INTEGER NOT NULL DEFAULT 1,
		repo_provider TEXT NOT NULL DEFAULT '',
		repo_base_url TEXT NOT NULL DEFAULT '',
		repo_owner TEXT NOT NULL DEFAULT '',
		repo_name TEXT NOT NULL DEFAULT '',
		repo_branch TEXT NOT NULL DEFAULT '',
		repo_token BLOB,
		created_at TEXT NOT NULL
	)`,
	`CREATE TABLE IF NOT EXISTS api_tokens (
		id INTEGER PRIMARY KEY AUTOINCREMENT,
		name TEXT NOT NULL,
		hash BLOB NOT NULL UNIQUE,
		role TEXT NOT NULL CHECK (role IN ('viewer','admin')),
		workload_id INTEGER,
		created_at TEXT NOT NULL,
		revoked_at TEXT NOT NULL DEFAULT ''
	)`,
	`CREATE TABLE IF NOT EXISTS event_log (
		id INTEGER PRIMARY KEY AUTOINCREMENT,
		at TEXT NOT NULL,
		actor TEXT NOT NULL,
		workload_id INTEGER NOT NULL,
		action TEXT NOT NULL,
		commit_sha TEXT NOT NULL DEFAULT '',
		file_sha TEXT NOT NULL DEFAULT '',
		changes TEXT NOT NULL DEFAULT '[]',
		outcome TEXT NOT NULL
	)`,
	`CREATE INDEX IF NOT EXISTS event_log_workload ON event_log (workload_id, id)`,
}

// gitopsColumns are docs/tinyforge-api.md's four additive workload columns, added idempotently.
var gitopsColumns = []struct{ name, ddl string }{
	{"gitops_enabled", "INTEGER NOT NULL DEFAULT 0"},
	{"gitops_path", "TEXT NOT NULL DEFAULT '" + DefaultGitOpsPath + "'"},
	{"gitops_last_sync_at", "TEXT NOT NULL DEFAULT ''"},
	{"gitops_commit_sha", "TEXT NOT NULL DEFAULT ''"},
}

// eventColumns are the audit row's who and how (tinyforge.Event Role and Via), added
// idempotently; rows written before them keep "".
var eventColumns = []struct{ name, ddl string }{
	{"role", "TEXT NOT NULL DEFAULT ''"},
	{"via", "TEXT NOT NULL DEFAULT ''"},
}

func (s *Store) migrate(ctx context.Context) error {
	release, err := s.acquireWrite(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer release()
	for _, m := range migrations {
		if _, err := s.db.ExecContext(ctx, m); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
	}
	if err := s.addColumns(ctx, "workloads", gitopsColumns); err != nil {
		return err
	}
	return s.addColumns(ctx, "event_log", eventColumns)
}

// addColumns adds to table each of cols it does not have yet.
func (s *Store) addColumns(ctx context.Context, table string, cols []struct{ name, ddl string }) error {
	have := map[string]bool{}
	rows, err := s.db.QueryContext(ctx, `SELECT name FROM pragma_table_info(?)`, table)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return fmt.Errorf("migrate: %w", err)
		}
		have[n] = true
	}
	rows.Close()
	for _, c := range cols {
		if have[c.name] {
			continue
		}
		if _, err := s.db.ExecContext(ctx, `ALTER TABLE `+table+` ADD COLUMN `+c.name+` `+c.ddl); err != nil {
			return fmt.Errorf("migrate: add %s.%s: %w", table, c.name, err)
		}
	}
	return nil
}

// Repo is a workload's repo coordinates and its sealed (encrypted) access token.
type Repo struct {
	// Provider is "github", "gitea" or "gitlab"; "" when no repo is set.
	Provider, BaseURL, Owner, Name, Branch string
	// SealedToken is the Cipher.Seal output for this workload; nil when there is no token.
	SealedToken []byte
}

// Workload is a stored workload.
type Workload struct {
	ID           int64
	Name         string
	SourceType   string
	SourceConfig json.RawMessage
	Version      int64
	Repo         Repo
	// GitOpsEnabled, GitOpsPath, GitOpsLastSyncAt and GitOpsCommitSHA are the four gitops columns.
	GitOpsEnabled    bool
	GitOpsPath       string
	GitOpsLastSyncAt string
	GitOpsCommitSHA  string
	// GitOpsFileSHA is the file fingerprint of the last applied Sync, read from event_log.
	GitOpsFileSHA string
	// SetBy is drift attribution (Store.LastSets), loaded only where the API answers it; nil
	// otherwise.
	SetBy map[string]gitops.SetBy
}

const workloadColumns = `w.id, w.name, w.source_type, w.source_config, w.version,
	w.repo_provider, w.repo_base_url, w.repo_owner, w.repo_name, w.repo_branch, w.repo_token,
	w.gitops_enabled, w.gitops_path, w.gitops_last_sync_at, w.gitops_commit_sha,
	COALESCE((SELECT e.file_sha FROM event_log e WHERE e.workload_id = w.id AND e.action = 'sync'
		AND e.outcome = 'applied' ORDER BY e.id DESC LIMIT 1), '')`

// workloadByID reads one workload (workloadColumns) by its id.
const workloadByID = `SELECT ` + workloadColumns + ` FROM workloads w WHERE w.id = ?`

type scanner interface{ Scan(...any) error }

func scanWorkload(r scanner) (*Workload, error) {
	var w Workload
	var cfg string
	err := r.Scan(&w.ID, &w.Name, &w.SourceType, &cfg, &w.Version,
		&w.Repo.Provider, &w.Repo.BaseURL, &w.Repo.Owner, &w.Repo.Name, &w.Repo.Branch, &w.Repo.SealedToken,
		&w.GitOpsEnabled, &w.GitOpsPath, &w.GitOpsLastSyncAt, &w.GitOpsCommitSHA, &w.GitOpsFileSHA)
	if err != nil {
		return nil, err
	}
	w.SourceConfig = json.RawMessage(cfg)
	return &w, nil
}

// NewWorkload is what CreateWorkload stores.
type NewWorkload struct {
	Name, SourceType string
	// SourceConfig must be a JSON object.
	SourceConfig json.RawMessage
	Repo         Repo
	// Event, when not nil, is the creation's audit row, written in the same transaction with
	// the new workload's id.
	Event *tinyforge.Event
}

// CreateWorkload inserts a workload and returns it as stored; seal, when not nil, is called with
// the new id inside the same transaction to produce the sealed repo token. The workload is read
// back inside the transaction, so once it is committed no further read can fail the call. The
// audit row (nw.Event) is in the same transaction: a creation that rolls back leaves none.
func (s *Store) CreateWorkload(ctx context.Context, nw NewWorkload, seal func(id int64) ([]byte, error)) (*Workload, error) {
	cfg, err := compactObject(nw.SourceConfig)
	if err != nil {
		return nil, err
	}
	var created *Workload
	err = s.write(ctx, func(tx *sql.Tx) error {
		var id int64
		var exists int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM workloads WHERE name = ?`, nw.Name).Scan(&exists); err != nil {
			return err
		}
		if exists > 0 {
			return ErrNameTaken
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO workloads (name, source_type, source_config, version,
			repo_provider, repo_base_url, repo_owner, repo_name, repo_branch, created_at)
			VALUES (?, ?, ?, 1, ?, ?, ?, ?, ?, ?)`,
			nw.Name, nw.SourceType, cfg, nw.Repo.Provider, nw.Repo.BaseURL, nw.Repo.Owner, nw.Repo.Name, nw.Repo.Branch, nowString())
		if err != nil {
			return err
		}
		if id, err = res.LastInsertId(); err != nil {
			return err
		}
		if seal != nil {
			sealed, err := seal(id)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE workloads SET repo_token = ? WHERE id = ?`, sealed, id); err != nil {
				return err
			}
		}
		if nw.Event != nil {
			ev := *nw.Event
			ev.WorkloadID = id
			if err := insertEvent(ctx, tx, &ev); err != nil {
				return err
			}
		}
		created, err = scanWorkload(tx.QueryRowContext(ctx, workloadByID, id))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("create workload: %w", err)
	}
	return created, nil
}

// GetWorkload returns workload id, or an error wrapping ErrNotFound.
func (s *Store) GetWorkload(ctx context.Context, id int64) (*Workload, error) {
	w, err := scanWorkload(s.byID.QueryRowContext(ctx, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("workload %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read workload %d: %w", id, err)
	}
	return w, nil
}

// ListWorkloads returns workloads by id, only those named name when name is not "", and only
// workload onlyID when onlyID is not 0.
func (s *Store) ListWorkloads(ctx context.Context, name string, onlyID int64) ([]*Workload, error) {
	q := `SELECT ` + workloadColumns + ` FROM workloads w WHERE (? = '' OR w.name = ?) AND (? = 0 OR w.id = ?) ORDER BY w.id`
	rows, err := s.db.QueryContext(ctx, q, name, name, onlyID, onlyID)
	if err != nil {
		return nil, fmt.Errorf("list workloads: %w", err)
	}
	defer rows.Close()
	var out []*Workload
	for rows.Next() {
		w, err := scanWorkload(rows)
		if err != nil {
			return nil, fmt.Errorf("list workloads: %w", err)
		}
		out = append(out, w)
	}
	return out, rows.Err()
}

// Update is an edit-form save (PATCH /api/workloads/{id}).
type Update struct {
	// SourceConfig, when not nil, replaces source_config; Version must then equal the stored
	// version, else ErrVersionConflict.
	SourceConfig json.RawMessage
	Version      int64
	// Repo, when not nil, replaces the repo coordinates.
	Repo *Repo
	// Seal, when not nil, produces the new sealed repo token for the workload id; nil keeps the
	// stored token (the form never shows it).
	Seal func(id int64) ([]byte, error)
	// Event, when not nil, is the audit row of the repo change, written in the same transaction.
	Event *tinyforge.Event
	// ConfigEvent, when not nil with SourceConfig, is the audit row of the source_config
	// change without its changes: UpdateWorkload fills them from the config it replaces, read
	// in the transaction, and writes no row when no key changed.
	ConfigEvent *tinyforge.Event
}

// UpdateWorkload applies an edit-form save in one transaction and returns the workload as
// saved, read back inside the transaction (as CreateWorkload does). It writes source_config
// (bumping version), the repo columns and the sealed token, and never a gitops column, so a save
// and a Sync cannot clobber each other's columns; a save based on a config a Sync has since
// changed gets ErrVersionConflict.
func (s *Store) UpdateWorkload(ctx context.Context, id int64, u Update) (*Workload, error) {
	var cfg string
	if u.SourceConfig != nil {
		var err error
		if cfg, err = compactObject(u.SourceConfig); err != nil {
			return nil, err
		}
	}
	var saved *Workload
	err := s.write(ctx, func(tx *sql.Tx) error {
		var version int64
		var old string
		err := tx.QueryRowContext(ctx, `SELECT version, source_config FROM workloads WHERE id = ?`, id).Scan(&version, &old)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("workload %d: %w", id, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("read workload: %w", err)
		}
		if u.SourceConfig != nil {
			if version != u.Version {
				return ErrVersionConflict
			}
			if _, err := tx.ExecContext(ctx, `UPDATE workloads SET source_config = ?, version = version + 1 WHERE id = ? AND version = ?`, cfg, id, u.Version); err != nil {
				return fmt.Errorf("update source_config: %w", err)
			}
			if err := insertConfigEvent(ctx, tx, u.ConfigEvent, old, cfg); err != nil {
				return err
			}
		}
		if u.Repo != nil {
			r := u.Repo
			if _, err := tx.ExecContext(ctx, `UPDATE workloads SET repo_provider = ?, repo_base_url = ?, repo_owner = ?, repo_name = ?, repo_branch = ? WHERE id = ?`,
				r.Provider, r.BaseURL, r.Owner, r.Name, r.Branch, id); err != nil {
				return fmt.Errorf("update repo: %w", err)
			}
		}
		if u.Seal != nil {
			sealed, err := u.Seal(id)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE workloads SET repo_token = ? WHERE id = ?`, sealed, id); err != nil {
				return fmt.Errorf("update repo token: %w", err)
			}
		}
		if u.Event != nil {
			if err := insertEvent(ctx, tx, u.Event); err != nil {
				return err
			}
		}
		saved, err = scanWorkload(tx.QueryRowContext(ctx, workloadByID, id))
		return err
	})
	if err != nil {
		return nil, err
	}
	return saved, nil
}

// SetGitOps is the setter of gitops_enabled and gitops_path; it writes ev (when not nil) in
// the same transaction.
func (s *Store) SetGitOps(ctx context.Context, id int64, enabled bool, path string, ev *tinyforge.Event) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE workloads SET gitops_enabled = ?, gitops_path = ? WHERE id = ?`, enabled, path, id)
		if err != nil {
			return fmt.Errorf("update gitops settings: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("workload %d: %w", id, ErrNotFound)
		}
		if ev != nil {
			return insertEvent(ctx, tx, ev)
		}
		return nil
	})
}

// SyncDecision is what a Sync writes, decided from the live config read inside the transaction.
type SyncDecision struct {
	// NewConfig is the merged source_config to store; nil when the Sync is refused (only Event
	// is written).
	NewConfig json.RawMessage
	// CommitSHA and SyncAt go to gitops_commit_sha and gitops_last_sync_at when NewConfig is set.
	CommitSHA, SyncAt string
	// Event is the audit row; it is always written, in the same transaction.
	Event tinyforge.Event
}

// CommitSync runs one Sync write in a single immediate transaction: it reads the live
// workload (its source_config, GitOps settings and repo), asks decide what to write, and writes
// the config (version bumped only when it changed), the two sync gitops columns and the audit
// row together. If any write fails, including the audit row, nothing is written (fail closed).
// decide's error aborts the transaction and is returned as is.
func (s *Store) CommitSync(ctx context.Context, id int64, decide func(live *Workload) (SyncDecision, error)) (SyncDecision, error) {
	var d SyncDecision
	err := s.write(ctx, func(tx *sql.Tx) error {
		cur, err := scanWorkload(tx.QueryRowContext(ctx, `SELECT `+workloadColumns+` FROM workloads w WHERE w.id = ?`, id))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("workload %d: %w", id, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("read workload: %w", err)
		}
		live := string(cur.SourceConfig)
		if d, err = decide(cur); err != nil {
			return err
		}
		if d.NewConfig != nil {
			cfg, err := compactObject(d.NewConfig)
			if err != nil {
				return err
			}
			bump := 0
			if !sameJSON([]byte(live), []byte(cfg)) {
				bump = 1
			}
			if _, err := tx.ExecContext(ctx, `UPDATE workloads SET source_config = ?, version = version + ?,
				gitops_last_sync_at = ?, gitops_commit_sha = ? WHERE id = ?`, cfg, bump, d.SyncAt, d.CommitSHA, id); err != nil {
				return fmt.Errorf("write synced config: %w", err)
			}
		}
		return insertEvent(ctx, tx, &d.Event)
	})
	return d, err
}

// AddEvent writes one audit row on its own.
func (s *Store) AddEvent(ctx context.Context, ev *tinyforge.Event) error {
	return s.write(ctx, func(tx *sql.Tx) error { return insertEvent(ctx, tx, ev) })
}

// insertConfigEvent writes ev (when not nil) with the changes from source_config old to new,
// unless none changed.
func insertConfigEvent(ctx context.Context, tx *sql.Tx, ev *tinyforge.Event, old, new string) error {
	if ev == nil {
		return nil
	}
	changes := configChanges([]byte(old), []byte(new))
	if len(changes) == 0 {
		return nil
	}
	row := *ev
	row.Changes = changes
	return insertEvent(ctx, tx, &row)
}

func insertEvent(ctx context.Context, tx *sql.Tx, ev *tinyforge.Event) error {
	if ev.At == "" {
		ev.At = nowString()
	}
	changes := ev.Changes
	if changes == nil {
		changes = []tinyforge.Change{}
	}
	cj, err := json.Marshal(changes)
	if err != nil {
		return fmt.Errorf("write audit row: %w", err)
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO event_log (at, actor, workload_id, action, commit_sha, file_sha, changes, outcome, role, via)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, ev.At, ev.Actor, ev.WorkloadID, ev.Action, ev.CommitSHA, ev.FileSHA, string(cj), ev.Outcome, ev.Role, ev.Via)
	if err != nil {
		return fmt.Errorf("write audit row: %w", err)
	}
	ev.ID, _ = res.LastInsertId()
	return nil
}

// Events returns workload id's audit rows, newest first, at most limit (0 = 1000).
func (s *Store) Events(ctx context.Context, id int64, limit int) ([]tinyforge.Event, error) {
	if limit <= 0 {
		limit = 1000
	}
	rows, err := s.db.QueryContext(ctx, `SELECT id, at, actor, workload_id, action, commit_sha, file_sha, changes, outcome, role, via
		FROM event_log WHERE workload_id = ? ORDER BY id DESC LIMIT ?`, id, limit)
	if err != nil {
		return nil, fmt.Errorf("read events: %w", err)
	}
	defer rows.Close()
	out := []tinyforge.Event{}
	for rows.Next() {
		var ev tinyforge.Event
		var cj string
		if err := rows.Scan(&ev.ID, &ev.At, &ev.Actor, &ev.WorkloadID, &ev.Action, &ev.CommitSHA, &ev.FileSHA, &cj, &ev.Outcome, &ev.Role, &ev.Via); err != nil {
			return nil, fmt.Errorf("read events: %w", err)
		}
		if err := json.Unmarshal([]byte(cj), &ev.Changes); err != nil || ev.Changes == nil {
			ev.Changes = []tinyforge.Change{}
		}
		out = append(out, ev)
	}
	return out, rows.Err()
}

// acquireWrite waits for this Store's write turn (writeSem) until ctx ends, and returns its
// release. Writers get their turns in the order they asked (a channel's queue is FIFO).
func (s *Store) acquireWrite(ctx context.Context) (release func(), err error) {
	select {
	case s.writeSem <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("wait for the database write turn: %w", ctx.Err())
	}
	if err := ctx.Err(); err != nil { // both were ready and select chose the semaphore
		<-s.writeSem
		return nil, fmt.Errorf("wait for the database write turn: %w", err)
	}
	return func() { <-s.writeSem }, nil
}

// write runs fn in one BEGIN IMMEDIATE transaction, serialized with this Store's other writes.
// ctx bounds all of it: the wait for the write turn, the wait for another process's write lock
// (modernc.org/sqlite's busy handler gives up when ctx ends), every statement and the COMMIT,
// which the driver interrupts when ctx ends. When write returns an error nothing was written.
func (s *Store) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	release, err := s.acquireWrite(ctx)
	if err != nil {
		return err
	}
	defer release()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

func nowString() string { return time.Now().UTC().Format(time.RFC3339) }

// ErrNotObject means a source_config is not a JSON object.
var ErrNotObject = errors.New("source_config must be a JSON object")

// compactObject checks that raw is one JSON object and returns it compacted; empty is "{}".
func compactObject(raw json.RawMessage) (string, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return "{}", nil
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return "", ErrNotObject
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return "", ErrNotObject
	}
	return buf.String(), nil
}

// sameJSON reports whether a and b decode to equal values.
func sameJSON(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xb, _ := json.Marshal(x)
	yb, _ := json.Marshal(y)
	return bytes.Equal(xb, yb)
}
