package panel

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// A flood of failed sign-ins from ever new addresses keeps the table at its cap, and the
// limit still blocks the addresses that keep failing.
func TestFailedSignInTableIsBounded(t *testing.T) {
	l := newLimiter(DefaultMaxFailedSignIns, DefaultFailedSignInWindow)
	now := time.Date(2026, 11, 28, 1, 0, 0, 0, time.UTC)
	for i := range 2 * maxFailKeys {
		l.fail(fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255), now)
		l.fail(fmt.Sprintf("2001:db8:%x::1", i), now) // a new /64 each time
	}
	if len(l.fails) > maxFailKeys || l.order.Len() != len(l.fails) {
		t.Fatalf("table holds %d keys (%d in order), cap %d", len(l.fails), l.order.Len(), maxFailKeys)
	}
	attacker := "192.0.2.7"
	for range DefaultMaxFailedSignIns {
		l.fail(attacker, now)
	}
	if blocked, _ := l.blocked(attacker, now); !blocked {
		t.Errorf("after %d failures during a flood, %s is not blocked", DefaultMaxFailedSignIns, attacker)
	}
	if n := len(l.fails[attacker].Value.(*failEntry).times); n != DefaultMaxFailedSignIns {
		t.Errorf("%s has %d failures stored, want %d", attacker, n, DefaultMaxFailedSignIns)
	}
}

// The limit counts IPv6 clients by /64, IPv4 (also IPv4-mapped) by address; when the table is
// full the key with the oldest last failure goes first.
func TestFailedSignInLimit(t *testing.T) {
	now := time.Date(2026, 11, 28, 1, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		cap     int
		fails   []string // one failure each, one second apart
		check   []string
		blocked []bool
		keys    []string // the table afterwards, oldest last failure first
	}{
		{"ipv6 rotating inside a /64", 100,
			[]string{"2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:ffff::3", "2001:db8:1:2::4%eth0", "2001:db8:1:2:abcd::5"},
			[]string{"2001:db8:1:2::99", "2001:db8:1:3::1", "2001:db8:1:2::1"}, []bool{true, false, true},
			[]string{"2001:db8:1:2::/64"}},
		{"ipv4 counts per address", 100,
			[]string{"192.0.2.1", "192.0.2.1", "192.0.2.1", "::ffff:192.0.2.1", "192.0.2.1"},
			[]string{"192.0.2.1", "192.0.2.2"}, []bool{true, false},
			[]string{"192.0.2.1"}},
		{"oldest last failure is evicted first", 2,
			[]string{"192.0.2.1", "192.0.2.1", "192.0.2.1", "192.0.2.1", "192.0.2.2", "192.0.2.1", "192.0.2.3"},
			[]string{"192.0.2.1", "192.0.2.2", "192.0.2.3"}, []bool{true, false, false},
			[]string{"192.0.2.1", "192.0.2.3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLimiter(5, time.Hour)
			l.cap = tt.cap
			at := now
			for _, ip := range tt.fails {
				at = at.Add(time.Second)
				l.fail(ip, at)
			}
			var got []bool
			for _, ip := range tt.check {
				b, _ := l.blocked(ip, at)
				got = append(got, b)
			}
			if diff := cmp.Diff(tt.blocked, got); diff != "" {
				t.Errorf("blocked %v (-want +got):\n%s", tt.check, diff)
			}
			var keys []string
			for el := l.order.Front(); el != nil; el = el.Next() {
				keys = append(keys, el.Value.(*failEntry).key)
			}
			if diff := cmp.Diff(tt.keys, keys); diff != "" || len(l.fails) != len(keys) {
				t.Errorf("table (%d keys) (-want +got):\n%s", len(l.fails), diff)
			}
		})
	}
}

func TestLimitKey(t *testing.T) {
	tests := []struct{ ip, want string }{
		{"192.0.2.1", "192.0.2.1"},
		{"::ffff:192.0.2.1", "192.0.2.1"},
		{"2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"},
		{"fe80::1%eth0", "fe80::/64"},
		{"not an ip", "not an ip"},
	}
	for _, tt := range tests {
		if got := limitKey(tt.ip); got != tt.want {
			t.Errorf("limitKey(%q) = %q, want %q", tt.ip, got, tt.want)
		}
	}
}

// TestSessionsCappedPerToken: signing in again and again with one token ends only that token's
// own oldest sessions; everyone else stays signed in (issue 14 F2).
func TestSessionsCappedPerToken(t *testing.T) {
	s := newSessions(time.Hour)
	now := time.Date(2026, 11, 28, 1, 0, 0, 0, time.UTC)
	alice := s.create(Principal{Name: "alice", Credential: "tfk_alice"}, now)
	bob := s.create(Principal{Name: "bob", Credential: "tfk_bob"}, now)
	var mallory []*session
	for i := 0; i < 3*maxSessionsPerToken; i++ {
		now = now.Add(time.Second)
		mallory = append(mallory, s.create(Principal{Name: "ci", Credential: "tfk_viewer_in_ci"}, now))
	}
	for _, who := range []*session{alice, bob} {
		if _, ok := s.get(who.id, now); !ok {
			t.Errorf("%s was signed out by another token's sign-ins", who.p.Name)
		}
	}
	live := 0
	for i, m := range mallory {
		if _, ok := s.get(m.id, now); ok {
			live++
			if i < len(mallory)-maxSessionsPerToken {
				t.Errorf("session %d of the repeating token survived; its oldest should have gone", i)
			}
		}
	}
	if live != maxSessionsPerToken {
		t.Errorf("the repeating token holds %d sessions, want %d", live, maxSessionsPerToken)
	}
}
