package providers

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
)

// Resolver looks up the addresses of a host; *net.Resolver satisfies it.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// SafeDialer dials only addresses that are safe to reach from the server
// side (SSRF protection). Every resolved address is checked at dial time and
// the checked address itself is dialled, so a second lookup (DNS rebinding)
// cannot slip through. Refused unless inside Allow: loopback, private (RFC
// 1918, ULA fc00::/7), unspecified/"this network" 0.0.0.0/8, CGNAT
// 100.64.0.0/10, the IPv4 embedded in IPv4-mapped or NAT64 addresses, and
// all of IPv4-compatible ::/96 and 6to4 2002::/16 (both can reach any IPv4).
// Always refused, even inside Allow: link-local (169.254.0.0/16, fe80::/10),
// cloud metadata addresses, multicast and broadcast, also when embedded in
// an IPv4-compatible or 6to4 address.
//
// The zero value is usable: it resolves with net.DefaultResolver, dials with
// a net.Dialer and allows only public addresses.
type SafeDialer struct {
	// Allow lists extra ranges to permit (the server's --allow-forge-net).
	Allow []netip.Prefix
	// Resolver resolves host names; nil means net.DefaultResolver.
	Resolver Resolver
	// Dial opens the connection to an already checked "ip:port"; nil uses a
	// net.Dialer. Tests inject a hook here.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

// ErrAddressRefused is returned (wrapped) when every address of a host is
// refused by SafeDialer.
var ErrAddressRefused = errors.New("address refused by the SSRF policy")

// alwaysRefused lists ranges never dialled, whatever Allow says (a function,
// so the table cannot be mutated).
func alwaysRefused() []netip.Prefix {
	return []netip.Prefix{
		netip.MustParsePrefix("169.254.0.0/16"),     // link-local, incl. 169.254.169.254 metadata
		netip.MustParsePrefix("fe80::/10"),          // IPv6 link-local
		netip.MustParsePrefix("fd00:ec2::254/128"),  // AWS IPv6 metadata
		netip.MustParsePrefix("100.100.100.200/32"), // Alibaba Cloud metadata
		netip.MustParsePrefix("168.63.129.16/32"),   // Azure platform (wireserver)
		netip.MustParsePrefix("192.0.0.192/32"),     // Oracle Cloud metadata
		netip.MustParsePrefix("224.0.0.0/4"),        // multicast
		netip.MustParsePrefix("ff00::/8"),           // IPv6 multicast
		netip.MustParsePrefix("255.255.255.255/32"), // broadcast
	}
}

// refusedUnlessAllowed lists ranges dialled only when inside Allow.
func refusedUnlessAllowed() []netip.Prefix {
	return []netip.Prefix{
		netip.MustParsePrefix("0.0.0.0/8"),      // "this network", incl. 0.0.0.0
		netip.MustParsePrefix("10.0.0.0/8"),     // RFC 1918
		netip.MustParsePrefix("100.64.0.0/10"),  // CGNAT
		netip.MustParsePrefix("127.0.0.0/8"),    // loopback
		netip.MustParsePrefix("172.16.0.0/12"),  // RFC 1918
		netip.MustParsePrefix("192.0.0.0/24"),   // IETF protocol assignments
		netip.MustParsePrefix("192.168.0.0/16"), // RFC 1918
		netip.MustParsePrefix("198.18.0.0/15"),  // benchmarking
		netip.MustParsePrefix("240.0.0.0/4"),    // reserved
		netip.MustParsePrefix("::/128"),         // unspecified
		netip.MustParsePrefix("::1/128"),        // loopback
		netip.MustParsePrefix("::/96"),          // deprecated IPv4-compatible IPv6: may reach any IPv4
		netip.MustParsePrefix("2002::/16"),      // 6to4: relays reach the embedded IPv4
		netip.MustParsePrefix("fc00::/7"),       // ULA
	}
}

// embeddedIPv4 returns the IPv4 address inside an IPv4-compatible (::a.b.c.d) or 6to4
// (2002:aabb:ccdd::/48) address.
func embeddedIPv4(ip netip.Addr) (netip.Addr, bool) {
	if !ip.Is6() {
		return netip.Addr{}, false
	}
	b := ip.As16()
	switch {
	case netip.MustParsePrefix("::/96").Contains(ip):
		return netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}), true
	case netip.MustParsePrefix("2002::/16").Contains(ip):
		return netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]}), true
	}
	return netip.Addr{}, false
}

// Check reports why ip must not be dialled, or nil when it may be.
func (d *SafeDialer) Check(ip netip.Addr) error {
	ip = ip.WithZone("").Unmap()
	if netip.MustParsePrefix("64:ff9b::/96").Contains(ip) { // NAT64: last 32 bits are IPv4
		b := ip.As16()
		ip = netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})
	}
	v4, hasV4 := embeddedIPv4(ip)
	for _, p := range alwaysRefused() {
		if p.Contains(ip) || hasV4 && p.Contains(v4) {
			return fmt.Errorf("%w: %s is link-local, metadata, multicast or broadcast", ErrAddressRefused, ip)
		}
	}
	for _, p := range d.Allow {
		if p.Contains(ip) {
			return nil
		}
	}
	for _, p := range refusedUnlessAllowed() {
		if p.Contains(ip) {
			return fmt.Errorf("%w: %s is loopback, private or reserved (allow it with --allow-forge-net %s)", ErrAddressRefused, ip, p)
		}
	}
	if !ip.IsValid() || ip.IsUnspecified() {
		return fmt.Errorf("%w: invalid address", ErrAddressRefused)
	}
	return nil
}

// DialContext resolves addr's host, refuses it when any resolved address is
// refused (mixing a public and a private answer is an attack, not a
// configuration), and dials the checked addresses in order until one
// connects.
func (d *SafeDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("dial %q: %w", addr, err)
	}
	var ips []netip.Addr
	if ip, err := netip.ParseAddr(host); err == nil {
		ips = []netip.Addr{ip}
	} else {
		r := d.Resolver
		if r == nil {
			r = net.DefaultResolver
		}
		lookup := "ip"
		switch network {
		case "tcp4", "udp4":
			lookup = "ip4"
		case "tcp6", "udp6":
			lookup = "ip6"
		}
		ips, err = r.LookupNetIP(ctx, lookup, host)
		if err != nil {
			return nil, fmt.Errorf("resolve %s: %w", host, err)
		}
		if len(ips) == 0 {
			return nil, fmt.Errorf("resolve %s: no addresses", host)
		}
	}
	for _, ip := range ips {
		if err := d.Check(ip); err != nil {
			return nil, fmt.Errorf("dial %s: %w", host, err)
		}
	}
	dial := d.Dial
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	var errs []error
	for _, ip := range ips {
		c, err := dial(ctx, network, net.JoinHostPort(ip.Unmap().String(), port))
		if err == nil {
			return c, nil
		}
		errs = append(errs, err)
	}
	return nil, errors.Join(errs...)
}
