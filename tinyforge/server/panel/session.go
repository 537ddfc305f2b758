package panel

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net"
	"net/http"
	"sync"
	"time"
)

// session is one signed-in browser. The id travels in the cookie; everything else stays here.
type session struct {
	id       string
	p        Principal
	csrf     string
	lastSeen time.Time
	// flash is a one-shot notice shown on the next page, e.g. the result of a Sync.
	flash *notice
}

// notice is a message box on a page. Key is a catalogue key; Detail is a backend message shown
// as is (already redacted).
type notice struct {
	Kind   string // "ok", "warn" or "error"
	Key    string
	Args   []any
	Detail string
}

// sessions is the in-memory session store. Its zero value is not usable; see newSessions.
type sessions struct {
	mu   sync.Mutex
	byID map[string]*session
	idle time.Duration
}

func newSessions(idle time.Duration) *sessions {
	return &sessions{byID: map[string]*session{}, idle: idle}
}

// randomToken returns 32 random bytes, base64url-encoded.
func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b) // never returns an error (crypto/rand, Go ≥ 1.24)
	return base64.RawURLEncoding.EncodeToString(b)
}

// create opens a session for p at now, dropping expired sessions (and the longest idle one
// when the store is full).
func (s *sessions) create(p Principal, now time.Time) *session {
	s.mu.Lock()
	defer s.mu.Unlock()
	var oldest *session
	for id, ss := range s.byID {
		if now.Sub(ss.lastSeen) > s.idle {
			delete(s.byID, id)
			continue
		}
		if oldest == nil || ss.lastSeen.Before(oldest.lastSeen) {
			oldest = ss
		}
	}
	if len(s.byID) >= maxSessions && oldest != nil {
		delete(s.byID, oldest.id)
	}
	ss := &session{id: randomToken(), p: p, csrf: randomToken(), lastSeen: now}
	s.byID[ss.id] = ss
	return ss
}

// get returns the live session with this id and marks it seen at now; an expired session is
// deleted and not returned.
func (s *sessions) get(id string, now time.Time) (session, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, ok := s.byID[id]
	if !ok {
		return session{}, false
	}
	if now.Sub(ss.lastSeen) > s.idle {
		delete(s.byID, id)
		return session{}, false
	}
	ss.lastSeen = now
	return *ss, true
}

// takeFlash returns and clears the session's one-shot notice.
func (s *sessions) takeFlash(id string) *notice {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, ok := s.byID[id]
	if !ok {
		return nil
	}
	n := ss.flash
	ss.flash = nil
	return n
}

// setFlash stores a one-shot notice for the session's next page.
func (s *sessions) setFlash(id string, n *notice) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ss, ok := s.byID[id]; ok {
		ss.flash = n
	}
}

// delete ends a session.
func (s *sessions) delete(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.byID, id)
}

// sameToken compares two secrets in constant time; empty never matches.
func sameToken(a, b string) bool {
	return a != "" && b != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// limiter counts failed sign-ins per client IP in a sliding window.
type limiter struct {
	mu     sync.Mutex
	max    int
	window time.Duration
	fails  map[string][]time.Time
}

func newLimiter(max int, window time.Duration) *limiter {
	return &limiter{max: max, window: window, fails: map[string][]time.Time{}}
}

// recent returns ip's failures within the window at now, pruning older ones.
func (l *limiter) recent(ip string, now time.Time) []time.Time {
	kept := l.fails[ip][:0]
	for _, t := range l.fails[ip] {
		if now.Sub(t) < l.window {
			kept = append(kept, t)
		}
	}
	if len(kept) == 0 {
		delete(l.fails, ip)
		return nil
	}
	l.fails[ip] = kept
	return kept
}

// blocked reports whether ip has used up its failures, and how long until the oldest expires.
func (l *limiter) blocked(ip string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	r := l.recent(ip, now)
	if len(r) < l.max {
		return false, 0
	}
	return true, l.window - now.Sub(r[0])
}

// fail records a failed sign-in from ip. The table is bounded: when it holds too many IPs,
// the ones without recent failures are dropped first.
func (l *limiter) fail(ip string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.fails) >= maxSessions {
		for k := range l.fails {
			l.recent(k, now)
		}
	}
	l.fails[ip] = append(l.recent(ip, now), now)
}

// reset forgets ip's failures after a successful sign-in.
func (l *limiter) reset(ip string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.fails, ip)
}

// clientIP is the connection's remote IP. Forwarding headers are ignored: they can be forged.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
