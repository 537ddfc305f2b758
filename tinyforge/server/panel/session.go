package panel

import (
	"container/list"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net"
	"net/http"
	"net/netip"
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

// create opens a session for p at now, dropping expired sessions. A token that already holds
// maxSessionsPerToken sessions loses its own longest-idle one, so signing in again and again
// with one token (even a viewer's from CI secrets) never signs anyone else out; only a full
// store, which takes hundreds of distinct valid tokens, drops the longest-idle session of all.
func (s *sessions) create(p Principal, now time.Time) *session {
	s.mu.Lock()
	defer s.mu.Unlock()
	var oldest, oldestOwn *session
	own := 0
	for id, ss := range s.byID {
		if now.Sub(ss.lastSeen) > s.idle {
			delete(s.byID, id)
			continue
		}
		if oldest == nil || ss.lastSeen.Before(oldest.lastSeen) {
			oldest = ss
		}
		if sameToken(ss.p.Credential, p.Credential) {
			own++
			if oldestOwn == nil || ss.lastSeen.Before(oldestOwn.lastSeen) {
				oldestOwn = ss
			}
		}
	}
	switch {
	case own >= maxSessionsPerToken:
		delete(s.byID, oldestOwn.id)
	case len(s.byID) >= maxSessions && oldest != nil:
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

// limiter counts failed sign-ins per client key (see limitKey) in a sliding window. Its table
// holds at most maxFailKeys keys: a new key beyond that evicts the key whose last failure is
// oldest, in O(1), so a flood of source addresses costs bounded memory and time.
type limiter struct {
	mu     sync.Mutex
	max    int
	window time.Duration
	cap    int
	fails  map[string]*list.Element // of *failEntry; its place in order
	order  *list.List               // oldest last failure at the front
}

// failEntry is one key's recent failures, oldest first, at most limiter.max of them.
type failEntry struct {
	key   string
	times []time.Time
}

func newLimiter(max int, window time.Duration) *limiter {
	return &limiter{max: max, window: window, cap: maxFailKeys, fails: map[string]*list.Element{}, order: list.New()}
}

// recent returns ip's failures within the window at now, dropping its entry when none is left.
func (l *limiter) recent(ip string, now time.Time) []time.Time {
	el, ok := l.fails[limitKey(ip)]
	if !ok {
		return nil
	}
	e := el.Value.(*failEntry)
	kept := e.times[:0]
	for _, t := range e.times {
		if now.Sub(t) < l.window {
			kept = append(kept, t)
		}
	}
	if len(kept) == 0 {
		l.order.Remove(el)
		delete(l.fails, e.key)
		return nil
	}
	e.times = kept
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

// fail records a failed sign-in from ip.
func (l *limiter) fail(ip string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	key := limitKey(ip)
	times := l.recent(ip, now)
	if el, ok := l.fails[key]; ok {
		e := el.Value.(*failEntry)
		e.times = append(times, now)
		if len(e.times) > l.max {
			e.times = e.times[len(e.times)-l.max:]
		}
		l.order.MoveToBack(el)
		return
	}
	for l.order.Len() >= l.cap {
		oldest := l.order.Front()
		l.order.Remove(oldest)
		delete(l.fails, oldest.Value.(*failEntry).key)
	}
	l.fails[key] = l.order.PushBack(&failEntry{key: key, times: []time.Time{now}})
}

// limitKey is the limiter's key of a client IP: an IPv4 address as is, an IPv6 address by its
// /64 (one subscriber usually holds a whole /64, so rotating inside it gains nothing). Anything
// unparsable is its own key.
func limitKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.WithZone("").Unmap()
	if a.Is4() {
		return a.String()
	}
	p, _ := a.Prefix(64)
	return p.String()
}

// clientIP is the connection's remote IP. Forwarding headers are ignored: they can be forged.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
