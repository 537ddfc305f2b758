package tinyforge

import (
	"errors"
	"fmt"
	"strings"

	"github.com/tinyforge/tinyforge-check/forge"
	"github.com/tinyforge/tinyforge-check/internal/secret"
)

// Sentinel errors a Client call can wrap. Test them with errors.Is; the concrete error is an
// *APIError carrying the status code and the server's message.
var (
	// ErrUnauthorized is a 401: no token, or a token the server does not know.
	ErrUnauthorized = errors.New("tinyforge: unauthorized")
	// ErrForbidden is a 403: the token's role or workload limit does not allow the call. It
	// wraps forge.ErrForbidden, so the checker matches it with the forges' 403s.
	ErrForbidden = fmt.Errorf("tinyforge: %w", forge.ErrForbidden)
	// ErrNotFound is a 404: no such workload (or endpoint). It wraps forge.ErrNotFound.
	ErrNotFound = fmt.Errorf("tinyforge: %w", forge.ErrNotFound)
	// ErrConflict is a 409: a stale version, a GitOps status other than ok, or a pinned
	// commit/file that no longer matches what the server fetched.
	ErrConflict = errors.New("tinyforge: conflict")
	// ErrInvalid is a 400 or 422: the request or the merged config is invalid.
	ErrInvalid = errors.New("tinyforge: invalid request")
)

// APIError is a non-2xx answer of the Tinyforge API. Its message comes from the server's
// {"error": "..."} body and never contains the client's token.
type APIError struct {
	// Method and Path are the request's method and URL path, e.g. "GET", "/api/workloads/1".
	Method, Path string
	// StatusCode is the HTTP status code, e.g. 404.
	StatusCode int
	// Message is the server's error text, or the HTTP status text when the body had none.
	Message string
}

// NewAPIError is the *APIError of a non-2xx answer of method path with status and the server's
// message msg, as a Client reports it: msg on one line, at most 500 bytes, token redacted. A
// server that answers in process (the reference server's panel) builds its errors with it.
func NewAPIError(method, path string, status int, msg, token string) *APIError {
	return &APIError{Method: method, Path: path, StatusCode: status, Message: cleanMessage(msg, token)}
}

// cleanMessage is msg as an APIError carries it: token redacted (secret.Redact), on one line,
// and cut to at most 500 bytes (then "…") without splitting a character.
func cleanMessage(msg, token string) string {
	msg = strings.Join(strings.Fields(secret.Redact(msg, token)), " ")
	if len(msg) > 500 {
		msg = strings.ToValidUTF8(msg[:500], "") + "…"
	}
	return msg
}

// Error reports the call, the status and the server's message, and says what to check next.
func (e *APIError) Error() string {
	msg := fmt.Sprintf("tinyforge api: %s %s: %d: %s", e.Method, e.Path, e.StatusCode, e.Message)
	if hint := hintFor(e.StatusCode); hint != "" {
		msg += " (" + hint + ")"
	}
	return msg
}

// Is makes errors.Is(err, ErrNotFound) and the other sentinels match by status code, and
// through them forge.ErrNotFound and forge.ErrForbidden.
func (e *APIError) Is(target error) bool {
	s := sentinelFor(e.StatusCode)
	return s != nil && errors.Is(s, target)
}

// sentinelFor returns the sentinel of a status code, or nil.
func sentinelFor(code int) error {
	switch code {
	case 401:
		return ErrUnauthorized
	case 403:
		return ErrForbidden
	case 404:
		return ErrNotFound
	case 409:
		return ErrConflict
	case 400, 422:
		return ErrInvalid
	}
	return nil
}

func hintFor(code int) string {
	switch code {
	case 401:
		return "check the Tinyforge token"
	case 403:
		return "use a token whose role and workload allow this call"
	case 404:
		return "check the Tinyforge URL and the workload id or name"
	case 409:
		return "reload the workload and try again"
	case 413:
		return "send a smaller request body"
	}
	if code >= 500 {
		return "the Tinyforge server failed; retry later or check its log"
	}
	return ""
}
