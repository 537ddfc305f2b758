package providers

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
)

// staticResolver answers every lookup from a table.
type staticResolver map[string][]netip.Addr

func (r staticResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	if a, ok := r[host]; ok {
		return a, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

// rebindingResolver answers a public address first, then loopback: a DNS
// rebinding attack against a check-then-dial-by-name dialer.
type rebindingResolver struct {
	mu    sync.Mutex
	calls int
}

func (r *rebindingResolver) LookupNetIP(context.Context, string, string) ([]netip.Addr, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	if r.calls == 1 {
		return []netip.Addr{netip.MustParseAddr("93.184.216.34")}, nil
	}
	return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
}

// recordingDial never connects: it records the address it was asked for.
type recordingDial struct {
	mu    sync.Mutex
	addrs []string
}

func (d *recordingDial) dial(_ context.Context, _, addr string) (net.Conn, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.addrs = append(d.addrs, addr)
	c1, c2 := net.Pipe()
	c2.Close()
	return c1, nil
}

func TestSafeDialerCheck(t *testing.T) {
	allow := []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16"), netip.MustParsePrefix("127.0.0.0/8"),
		netip.MustParsePrefix("169.254.0.0/16"), netip.MustParsePrefix("fd00::/8"),
		netip.MustParsePrefix("2002:5db8:d822::/48"), netip.MustParsePrefix("2002:a9fe:a9fe::/48"), netip.MustParsePrefix("::a9fe:a9fe/128")}
	tests := []struct {
		ip          string
		wantDefault bool // allowed with no Allow list
		wantAllowed bool // allowed with the Allow list above
	}{
		{"93.184.216.34", true, true},
		{"2606:2800:220:1:248:1893:25c8:1946", true, true},
		{"127.0.0.1", false, true},
		{"127.8.9.10", false, true},
		{"::1", false, false},
		{"10.0.0.1", false, false},
		{"10.1.2.3", false, true},
		{"172.16.0.1", false, false},
		{"192.168.1.1", false, false},
		{"100.64.0.1", false, false},
		{"0.0.0.0", false, false},
		{"::", false, false},
		{"fc00::1", false, false},
		{"fd00::1", false, true},
		{"::ffff:127.0.0.1", false, true},
		{"::ffff:10.0.0.1", false, false},
		{"::ffff:169.254.169.254", false, false},
		{"64:ff9b::7f00:1", false, true},
		{"64:ff9b::a00:1", false, false},
		{"169.254.169.254", false, false},
		{"169.254.1.1", false, false},
		{"fe80::1", false, false},
		{"fd00:ec2::254", false, false},
		{"100.100.100.200", false, false},
		{"168.63.129.16", false, false},
		{"192.0.0.192", false, false},
		{"224.0.0.1", false, false},
		{"255.255.255.255", false, false},
		{"ff02::1", false, false},
		// IPv4-compatible (::a.b.c.d, deprecated) and 6to4 (2002:aabb:ccdd::/48) reach the
		// embedded IPv4: refused unless allowed, and never when it is link-local or metadata.
		{"::7f00:1", false, false},
		{"::5db8:d822", false, false},
		{"::a00:1", false, false},
		{"::a9fe:a9fe", false, false},
		{"2002:7f00:1::1", false, false},
		{"2002:a00:1::1", false, false},
		{"2002:5db8:d822::1", false, true},
		{"2002:a9fe:a9fe::1", false, false},
		{"2002:6464:64c8::1", false, false}, // Alibaba metadata 100.100.100.200
	}
	for _, tt := range tests {
		ip := netip.MustParseAddr(tt.ip)
		if got := (&SafeDialer{}).Check(ip) == nil; got != tt.wantDefault {
			t.Errorf("default Check(%s) allowed = %v, want %v", tt.ip, got, tt.wantDefault)
		}
		err := (&SafeDialer{Allow: allow}).Check(ip)
		if got := err == nil; got != tt.wantAllowed {
			t.Errorf("Check(%s) with Allow allowed = %v, want %v (%v)", tt.ip, got, tt.wantAllowed, err)
		}
		if err != nil && !errors.Is(err, ErrAddressRefused) {
			t.Errorf("Check(%s) error %v does not wrap ErrAddressRefused", tt.ip, err)
		}
	}
}

func TestSafeDialerDial(t *testing.T) {
	tests := []struct {
		name     string
		resolver Resolver
		addr     string
		allow    []netip.Prefix
		wantDial []string // addresses actually dialled
		wantErr  bool
	}{
		{name: "public name dials the checked IP", resolver: staticResolver{"forge.example": {netip.MustParseAddr("93.184.216.34")}},
			addr: "forge.example:443", wantDial: []string{"93.184.216.34:443"}},
		{name: "name resolving to loopback is refused", resolver: staticResolver{"evil.example": {netip.MustParseAddr("127.0.0.1")}},
			addr: "evil.example:80", wantErr: true},
		{name: "mixed public and private answers are refused", resolver: staticResolver{"mixed.example": {netip.MustParseAddr("93.184.216.34"), netip.MustParseAddr("10.0.0.5")}},
			addr: "mixed.example:443", wantErr: true},
		{name: "metadata address refused even when allowed", resolver: staticResolver{},
			addr: "169.254.169.254:80", allow: []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0")}, wantErr: true},
		{name: "IPv4-mapped loopback literal refused", resolver: staticResolver{}, addr: "[::ffff:127.0.0.1]:80", wantErr: true},
		{name: "allowed private forge", resolver: staticResolver{"gitea.lan": {netip.MustParseAddr("192.168.1.10")}},
			addr: "gitea.lan:3000", allow: []netip.Prefix{netip.MustParsePrefix("192.168.1.0/24")}, wantDial: []string{"192.168.1.10:3000"}},
		{name: "unknown host", resolver: staticResolver{}, addr: "nx.example:443", wantErr: true},
		{name: "rebinding: second lookup never happens", resolver: &rebindingResolver{}, addr: "rebind.example:443", wantDial: []string{"93.184.216.34:443"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recordingDial{}
			d := &SafeDialer{Allow: tt.allow, Resolver: tt.resolver, Dial: rec.dial}
			c, err := d.DialContext(context.Background(), "tcp", tt.addr)
			if c != nil {
				c.Close()
			}
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if strings.Join(rec.addrs, ",") != strings.Join(tt.wantDial, ",") {
				t.Errorf("dialled %v, want %v", rec.addrs, tt.wantDial)
			}
		})
	}
}

// TestSafeDialerThroughHTTPClient: the shared client with the safe dialer
// refuses a loopback forge unless it is allowed, before any connection.
func TestSafeDialerThroughHTTPClient(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }))
	defer srv.Close()
	for _, tc := range []struct {
		allow  []netip.Prefix
		wantOK bool
	}{
		{nil, false},
		{[]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, true},
	} {
		cfg := testHTTPConfig(nil)
		cfg.Retries = -1
		cfg.DialContext = (&SafeDialer{Allow: tc.allow, Resolver: staticResolver{}}).DialContext
		resp, err := NewHTTPClient(cfg).Get(srv.URL)
		if tc.wantOK {
			if err != nil {
				t.Fatalf("allowed loopback: %v", err)
			}
			resp.Body.Close()
			continue
		}
		if !errors.Is(err, ErrAddressRefused) {
			t.Errorf("loopback without allow: err = %v, want ErrAddressRefused", err)
		}
	}
}

// countingResolver counts lookups, i.e. dial attempts through the SafeDialer.
type countingResolver struct {
	mu sync.Mutex
	n  int
}

func (r *countingResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.n++
	return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
}

// TestRefusedAddressIsNotRetried: a policy refusal is final, so a GET with retries enabled makes
// one attempt and fails at once instead of backing off.
func TestRefusedAddressIsNotRetried(t *testing.T) {
	res := &countingResolver{}
	cfg := testHTTPConfig(nil)
	cfg.Retries = 3
	cfg.DialContext = (&SafeDialer{Resolver: res}).DialContext
	_, err := NewHTTPClient(cfg).Get("http://forge.example.test/")
	if !errors.Is(err, ErrAddressRefused) {
		t.Fatalf("err = %v, want ErrAddressRefused", err)
	}
	if res.n != 1 {
		t.Errorf("%d dial attempts, want 1", res.n)
	}
}
