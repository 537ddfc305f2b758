package server

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/tinyforge/tinyforge-check/gitops"
)

// Roles an API token can have.
const (
	// RoleViewer may read workloads, GitOps views.
	RoleViewer = "viewer"
	// RoleAdmin may also create and edit workloads, change GitOps settings, Sync and read events.
	RoleAdmin = "admin"
)

// tokenPrefix starts every API token, so a leaked one is easy to recognise and grep for.
const tokenPrefix = "tfk_"

// ErrBadToken means a bearer token is unknown or revoked.
var ErrBadToken = errors.New("unknown or revoked token")

// Token is a stored API token; the secret itself is never stored, only its SHA-256.
type Token struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
	Role string `json:"role"`
	// WorkloadID limits the token to one workload; 0 means all workloads.
	WorkloadID int64  `json:"workload_id,omitempty"`
	CreatedAt  string `json:"created_at"`
	// RevokedAt is the RFC 3339 time the token was revoked, or "" while it is valid.
	RevokedAt string `json:"revoked_at,omitempty"`
}

func hashToken(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// CreateToken stores a new token with role (RoleViewer or RoleAdmin), optionally limited to
// workloadID (0 = all), and returns its secret, which is shown only this once.
func (s *Store) CreateToken(ctx context.Context, name, role string, workloadID int64) (secret string, t Token, err error) {
	if role != RoleViewer && role != RoleAdmin {
		return "", Token{}, fmt.Errorf("role %q is not viewer or admin", role)
	}
	if strings.TrimSpace(name) == "" {
		return "", Token{}, errors.New("token name is empty; pass --name")
	}
	if pos, desc := gitops.HiddenChar(name); pos > 0 {
		// A newline or an escape sequence in a name would forge rows of token list and of the
		// audit log, where the name is the actor.
		return "", Token{}, fmt.Errorf("token name has %s at character %d: use visible characters only", desc, pos)
	}
	if workloadID < 0 {
		return "", Token{}, errors.New("workload id must be positive")
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", Token{}, fmt.Errorf("generate token: %w", err)
	}
	secret = tokenPrefix + base64.RawURLEncoding.EncodeToString(raw)
	t = Token{Name: name, Role: role, WorkloadID: workloadID, CreatedAt: nowString()}
	var wl any
	if workloadID != 0 {
		wl = workloadID
	}
	err = s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO api_tokens (name, hash, role, workload_id, created_at) VALUES (?, ?, ?, ?, ?)`,
			name, hashToken(secret), role, wl, t.CreatedAt)
		if err != nil {
			return err
		}
		t.ID, err = res.LastInsertId()
		return err
	})
	if err != nil {
		return "", Token{}, fmt.Errorf("create token: %w", err)
	}
	return secret, t, nil
}

// ListTokens returns every token (revoked ones too), by id. Secrets are not stored, so none
// are returned.
func (s *Store) ListTokens(ctx context.Context) ([]Token, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, name, role, COALESCE(workload_id, 0), created_at, revoked_at FROM api_tokens ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	defer rows.Close()
	var out []Token
	for rows.Next() {
		var t Token
		if err := rows.Scan(&t.ID, &t.Name, &t.Role, &t.WorkloadID, &t.CreatedAt, &t.RevokedAt); err != nil {
			return nil, fmt.Errorf("list tokens: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// RevokeToken revokes token id; revoking twice is not an error. An unknown id wraps ErrNotFound.
func (s *Store) RevokeToken(ctx context.Context, id int64) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE api_tokens SET revoked_at = CASE WHEN revoked_at = '' THEN ? ELSE revoked_at END WHERE id = ?`, nowString(), id)
		if err != nil {
			return fmt.Errorf("revoke token: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("token %d: %w", id, ErrNotFound)
		}
		return nil
	})
}

// tokenByHash reads one token (Authenticate) by the hash of its secret.
const tokenByHash = `SELECT id, name, role, COALESCE(workload_id, 0), created_at, revoked_at FROM api_tokens WHERE hash = ?`

// Authenticate returns the valid token whose secret is secret, or ErrBadToken.
func (s *Store) Authenticate(ctx context.Context, secret string) (Token, error) {
	if !strings.HasPrefix(secret, tokenPrefix) {
		return Token{}, ErrBadToken
	}
	var t Token
	err := s.byHash.QueryRowContext(ctx, hashToken(secret)).Scan(&t.ID, &t.Name, &t.Role, &t.WorkloadID, &t.CreatedAt, &t.RevokedAt)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && t.RevokedAt != "") {
		return Token{}, ErrBadToken
	}
	if err != nil {
		return Token{}, fmt.Errorf("check token: %w", err)
	}
	return t, nil
}
