// Package netguard keeps webhooks from reaching the network Herald runs in
// (server-side request forgery): a target URL may not name or resolve to a
// loopback, private, link-local, shared (CGNAT), multicast, reserved or
// unspecified address, in IPv4, IPv6 or IPv4-mapped form.
//
// The check runs twice: when a webhook is saved (CheckURL) and when a
// delivery connects (DialContext). The dialer resolves the name itself,
// checks every address, and connects to the address it checked, so a DNS
// answer that changes between the check and the connection (DNS
// rebinding) cannot slip through.
package netguard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"code.dny.dev/ssrf"

	"github.com/heraldhq/herald"
)

// ErrRefused is wrapped by every error about a refused target.
var ErrRefused = errors.New("target refused")

// Flag is the serve flag that lifts the guard; every refusal names it.
const Flag = "--allow-private-targets"

// Resolver looks up host names; *net.Resolver is one.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Guard vets webhook targets. The zero value is not usable; use New.
type Guard struct {
	allowPrivate bool
	resolver     Resolver
	ranges       *ssrf.Guardian
	dialer       *net.Dialer
}

// Options configure a Guard.
type Options struct {
	// AllowPrivate lifts the guard (development and tests): every address
	// is allowed.
	AllowPrivate bool
	// Resolver defaults to net.DefaultResolver.
	Resolver Resolver
	// Allow lists prefixes allowed despite the guard, e.g. one internal
	// service a deployment trusts.
	Allow []netip.Prefix
}

// New returns a Guard.
func New(o Options) *Guard {
	g := &Guard{allowPrivate: o.AllowPrivate, resolver: o.Resolver,
		dialer: &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}}
	if g.resolver == nil {
		g.resolver = net.DefaultResolver
	}
	var v4, v6 []netip.Prefix
	for _, p := range o.Allow {
		if p.Addr().Is4() {
			v4 = append(v4, p)
		} else {
			v6 = append(v6, p)
		}
	}
	// code.dny.dev/ssrf keeps the IANA special-purpose registries; Herald
	// allows any port, webhooks often listen on 8080 or 8443.
	g.ranges = ssrf.New(ssrf.WithAnyPort(), ssrf.WithAllowedV4Prefixes(v4...), ssrf.WithAllowedV6Prefixes(v6...))
	if !g.allowPrivate {
		// Belt and braces: even a connection made some other way than
		// through the checked address is vetted by the socket itself.
		g.dialer.Control = func(network, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("%w: cannot parse %s", ErrRefused, address)
			}
			return g.CheckAddr(ap.Addr())
		}
	}
	return g
}

// AllowsPrivate reports whether the guard is lifted.
func (g *Guard) AllowsPrivate() bool { return g.allowPrivate }

// CheckAddr refuses an address outside the public internet.
func (g *Guard) CheckAddr(ip netip.Addr) error {
	if g.allowPrivate {
		return nil
	}
	ip = ip.Unmap().WithZone("")
	if err := g.ranges.SafeAddr(ip); err != nil {
		return fmt.Errorf("%w: %s is %s; %s", ErrRefused, ip, kind(ip), advice)
	}
	return nil
}

const advice = "Herald only delivers to public addresses unless started with " + Flag

// kind names the range an address is refused for, for the error message.
func kind(ip netip.Addr) string {
	switch {
	case ip.IsLoopback():
		return "a loopback address"
	case ip.IsPrivate():
		return "a private address"
	case ip.IsLinkLocalUnicast(), ip.IsLinkLocalMulticast():
		return "a link-local address"
	case ip.IsMulticast(), ip.IsInterfaceLocalMulticast():
		return "a multicast address"
	case ip.IsUnspecified():
		return "the unspecified address"
	case ip.Is4() && netip.MustParsePrefix("100.64.0.0/10").Contains(ip):
		return "a shared (CGNAT) address"
	}
	return "a reserved address"
}

// CheckURL vets a webhook's target when it is saved: the host must be a
// plainly written public address, or a name all of whose addresses are
// public. The error is a herald EINVALID on the targetUrl field.
//
// A name that does not resolve now is accepted with a warning: its DNS
// may not be set up yet, and every delivery checks the addresses it
// dials, so it can never reach a private one.
func (g *Guard) CheckURL(ctx context.Context, raw string) (warning string, err error) {
	if g.allowPrivate {
		return "", nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", herald.FieldErrorf("targetUrl", "targetUrl is not a valid URL")
	}
	_, err = g.resolve(ctx, u.Hostname())
	var unresolved *unresolvedError
	switch {
	case errors.As(err, &unresolved):
		return fmt.Sprintf("%s; deliveries fail and are retried until it resolves", unresolved.Error()), nil
	case err != nil:
		return "", herald.FieldErrorf("targetUrl", "targetUrl refused: %s", strings.TrimPrefix(err.Error(), ErrRefused.Error()+": "))
	}
	return "", nil
}

// unresolvedError is a name that resolved to nothing. Its message says
// why in the resolver's words but never names the resolver: tenants must
// not learn the network Herald runs in.
type unresolvedError struct {
	host, why string
}

func (e *unresolvedError) Error() string {
	return "the host " + e.host + " does not resolve now (" + e.why + ")"
}

// unresolved describes a failed lookup of host.
func unresolved(host string, err error) *unresolvedError {
	why := "the lookup failed"
	var dnsErr *net.DNSError
	switch {
	case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
		why = "no such host"
	case errors.As(err, &dnsErr) && dnsErr.IsTimeout, errors.Is(err, context.DeadlineExceeded):
		why = "the lookup timed out"
	case errors.As(err, &dnsErr) && dnsErr.IsTemporary:
		why = "a temporary failure of the lookup"
	}
	return &unresolvedError{host: host, why: why}
}

// resolve returns the addresses of host, all checked; any refused address
// refuses the host, so that a name cannot mix a public and a private answer.
func (g *Guard) resolve(ctx context.Context, host string) ([]netip.Addr, error) {
	host = strings.TrimSuffix(host, ".")
	if host == "" {
		return nil, fmt.Errorf("%w: no host", ErrRefused)
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		if err := g.CheckAddr(ip); err != nil {
			return nil, err
		}
		return []netip.Addr{ip}, nil
	}
	// 2130706433, 0x7f.1 and 0177.0.0.1 are 127.0.0.1 to some resolvers
	// (inet_aton) and a DNS name to others: refuse the ambiguity.
	if ip, ok := parseLegacyIPv4(host); ok {
		if g.CheckAddr(ip) != nil {
			return nil, fmt.Errorf("%w: %q is an unusual spelling of %s, %s; %s", ErrRefused, host, ip, kind(ip), advice)
		}
		return nil, fmt.Errorf("%w: %q is an unusual spelling of the IPv4 address %s; write addresses as four decimal numbers", ErrRefused, host, ip)
	}
	ips, err := g.resolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil, unresolved(host, err)
	}
	if len(ips) == 0 {
		return nil, &unresolvedError{host: host, why: "it has no addresses"}
	}
	for _, ip := range ips {
		if err := g.CheckAddr(ip); err != nil {
			ip = ip.Unmap().WithZone("")
			return nil, fmt.Errorf("%w: %s resolves to %s, %s; %s", ErrRefused, host, ip, kind(ip), advice)
		}
	}
	return ips, nil
}

// DialContext connects like net.Dialer.DialContext, to a checked address.
func (g *Guard) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	if g.allowPrivate {
		return g.dialer.DialContext(ctx, network, addr)
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	ips, err := g.resolve(ctx, host)
	if err != nil {
		return nil, &net.OpError{Op: "dial", Net: network, Err: err}
	}
	var firstErr error
	for _, ip := range ips {
		conn, err := g.dialer.DialContext(ctx, network, net.JoinHostPort(ip.String(), port))
		if err == nil {
			return conn, nil
		}
		if firstErr == nil {
			firstErr = err
		}
		if ctx.Err() != nil {
			break
		}
	}
	return nil, firstErr
}

// parseLegacyIPv4 parses the inet_aton forms of an IPv4 address: one to
// four parts, each decimal, octal (leading 0) or hex (0x), the last part
// filling the remaining bytes.
func parseLegacyIPv4(s string) (netip.Addr, bool) {
	parts := strings.Split(s, ".")
	if len(parts) > 4 {
		return netip.Addr{}, false
	}
	var vals []uint64
	for _, p := range parts {
		base, digits := 10, p
		switch {
		case len(p) > 1 && (p[:2] == "0x" || p[:2] == "0X"):
			base, digits = 16, p[2:]
			if digits == "" {
				digits = "0"
			}
		case len(p) > 1 && p[0] == '0':
			base, digits = 8, p[1:]
		}
		v, err := strconv.ParseUint(digits, base, 32)
		if err != nil || digits == "" || strings.ContainsAny(digits, "+-_") {
			return netip.Addr{}, false
		}
		vals = append(vals, v)
	}
	var n uint64
	for i, v := range vals[:len(vals)-1] {
		if v > 255 {
			return netip.Addr{}, false
		}
		n |= v << (24 - 8*i)
	}
	last := vals[len(vals)-1]
	if last >= 1<<(32-8*(len(vals)-1)) {
		return netip.Addr{}, false
	}
	n |= last
	return netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}), true
}
