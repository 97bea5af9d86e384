package netguard_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/netguard"
)

// resolver answers from a map; names not in it do not exist.
type resolver map[string][]string

func (r resolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	addrs, ok := r[host]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	var out []netip.Addr
	for _, a := range addrs {
		out = append(out, netip.MustParseAddr(a))
	}
	return out, nil
}

var names = resolver{
	"hooks.example.com":     {"93.184.216.34"},
	"v6.example.com":        {"2606:4700::1111"},
	"dual.example.com":      {"93.184.216.34", "2606:4700::1111"},
	"localhost.example.com": {"127.0.0.1"},
	"intranet.example.com":  {"10.1.2.3"},
	"mixed.example.com":     {"93.184.216.34", "192.168.1.10"},
	"metadata.example.com":  {"169.254.169.254"},
	"ula.example.com":       {"fd00::1"},
	"mapped.example.com":    {"::ffff:10.0.0.1"},
	"cgnat.example.com":     {"100.64.0.1"},
}

func TestCheckURL(t *testing.T) {
	g := netguard.New(netguard.Options{Resolver: names})
	refused := []string{
		// IPv4 literals
		"http://127.0.0.1/hook",
		"http://127.1.2.3:8080/hook",
		"http://10.0.0.1/",
		"http://172.16.5.4/",
		"http://192.168.0.1/",
		"http://169.254.169.254/latest/meta-data/",
		"http://100.64.0.1/",
		"http://0.0.0.0/",
		"http://224.0.0.1/",
		"http://255.255.255.255/",
		"http://192.0.2.1/",
		"http://127.0.0.1./trailing-dot",
		// IPv6 literals
		"http://[::1]/",
		"http://[::]/",
		"http://[fd00::1]/",
		"http://[fc00::abcd]:9000/",
		"http://[fe80::1%25eth0]/",
		"http://[ff02::1]/",
		"http://[::ffff:127.0.0.1]/",
		"http://[::ffff:7f00:1]/",
		"http://[::ffff:192.168.1.1]/",
		"http://[::127.0.0.1]/",
		"http://[64:ff9b::a00:1]/",
		// unusual IPv4 spellings (inet_aton)
		"http://2130706433/",
		"http://0x7f000001/",
		"http://017700000001/",
		"http://0177.0.0.1/",
		"http://0x7f.0.0.1/",
		"http://127.1/",
		"http://0x08.0x08.0x08.0x08/", // public, but ambiguous: refused
		// names
		"http://localhost.example.com/",
		"http://intranet.example.com/",
		"http://mixed.example.com/",
		"http://metadata.example.com/",
		"http://ula.example.com/",
		"http://mapped.example.com/",
		"http://cgnat.example.com/",
	}
	for _, u := range refused {
		_, err := g.CheckURL(context.Background(), u)
		if err == nil {
			t.Errorf("CheckURL(%q) allowed", u)
			continue
		}
		if !strings.Contains(err.Error(), "targetUrl refused") {
			t.Errorf("CheckURL(%q) = %q, want a targetUrl refusal", u, err)
		}
	}
	allowed := []string{
		"https://93.184.216.34/hook",
		"http://8.8.8.8:8080/",
		"https://[2606:4700::1111]/",
		"https://[::ffff:8.8.8.8]/",
		"https://hooks.example.com/herald",
		"https://v6.example.com/",
		"https://dual.example.com:8443/x?y=1",
		"https://hooks.example.com./trailing-dot",
	}
	for _, u := range allowed {
		if warning, err := g.CheckURL(context.Background(), u); err != nil || warning != "" {
			t.Errorf("CheckURL(%q): %q, %v", u, warning, err)
		}
	}
	if len(refused) < 25 {
		t.Fatalf("only %d refused cases", len(refused))
	}
}

// TestUnresolvedNamesAreAcceptedWithAWarning: a name that does not
// resolve yet is saved with a warning that never names the resolver
// (tenants must not learn Herald's network), and a dial to it fails the
// same way.
func TestUnresolvedNamesAreAcceptedWithAWarning(t *testing.T) {
	t.Parallel()
	leaky := resolverFunc(func(host string) ([]netip.Addr, error) {
		return nil, &net.DNSError{Err: "no such host", Name: host, Server: "10.9.8.7:53", IsNotFound: true}
	})
	slow := resolverFunc(func(host string) ([]netip.Addr, error) {
		return nil, &net.DNSError{Err: "i/o timeout", Name: host, Server: "10.9.8.7:53", IsTimeout: true}
	})
	for _, tc := range []struct {
		name     string
		resolver netguard.Resolver
		why      string
	}{
		{"no such host", leaky, "no such host"},
		{"a lookup that times out", slow, "timed out"},
		{"no addresses", resolver{"empty.example.com": nil}, "no addresses"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := netguard.New(netguard.Options{Resolver: tc.resolver})
			host := "not-yet.example.com"
			if tc.name == "no addresses" {
				host = "empty.example.com"
			}
			warning, err := g.CheckURL(context.Background(), "https://"+host+"/hook")
			if err != nil || !strings.Contains(warning, host) || !strings.Contains(warning, tc.why) || strings.Contains(warning, "10.9.8.7") {
				t.Fatalf("CheckURL = %q, %v", warning, err)
			}
			_, err = g.DialContext(context.Background(), "tcp", host+":443")
			if err == nil || !strings.Contains(err.Error(), tc.why) || strings.Contains(err.Error(), "10.9.8.7") {
				t.Fatalf("dial = %v", err)
			}
		})
	}
}

// resolverFunc answers every lookup with a function.
type resolverFunc func(host string) ([]netip.Addr, error)

func (f resolverFunc) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	return f(host)
}

func TestRefusalNamesTheFlag(t *testing.T) {
	g := netguard.New(netguard.Options{Resolver: names})
	for _, u := range []string{"http://127.0.0.1/", "http://intranet.example.com/"} {
		_, err := g.CheckURL(context.Background(), u)
		if err == nil || !strings.Contains(err.Error(), netguard.Flag) {
			t.Errorf("CheckURL(%q) = %v, want it to name %s", u, err, netguard.Flag)
		}
	}
	_, err := g.CheckURL(context.Background(), "http://intranet.example.com/")
	if !strings.Contains(err.Error(), "intranet.example.com resolves to 10.1.2.3") {
		t.Errorf("error %q does not say what the name resolves to", err)
	}
}

func TestAllowPrivate(t *testing.T) {
	g := netguard.New(netguard.Options{AllowPrivate: true, Resolver: names})
	for _, u := range []string{"http://127.0.0.1/", "http://[::1]:8080/", "http://intranet.example.com/"} {
		if _, err := g.CheckURL(context.Background(), u); err != nil {
			t.Errorf("CheckURL(%q) with private targets allowed: %v", u, err)
		}
	}
}

func TestAllowPrefix(t *testing.T) {
	g := netguard.New(netguard.Options{Resolver: names, Allow: []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16")}})
	if _, err := g.CheckURL(context.Background(), "http://intranet.example.com/"); err != nil {
		t.Errorf("allowed prefix refused: %v", err)
	}
	if _, err := g.CheckURL(context.Background(), "http://10.2.0.1/"); err == nil {
		t.Error("address outside the allowed prefix was allowed")
	}
}

// TestDialRefusesPrivate checks the dial-time guard, with a resolver that
// answers a public address first and a private one afterwards (DNS
// rebinding): the save-time check passes, the connection is refused and
// never reaches the loopback server.
func TestDialRefusesPrivate(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())

	r := &rebinding{first: "93.184.216.34", then: "127.0.0.1"}
	g := netguard.New(netguard.Options{Resolver: r})
	target := fmt.Sprintf("http://rebind.example.com:%s/", port)
	if _, err := g.CheckURL(context.Background(), target); err != nil {
		t.Fatalf("save-time check: %v", err)
	}
	client := &http.Client{Transport: &http.Transport{DialContext: g.DialContext}}
	_, err := client.Post(target, "application/json", strings.NewReader("{}"))
	if !errors.Is(err, netguard.ErrRefused) {
		t.Fatalf("post after rebinding = %v, want ErrRefused", err)
	}
	for _, addr := range []string{srv.Listener.Addr().String(), "[::1]:" + port} {
		if _, err := g.DialContext(context.Background(), "tcp", addr); !errors.Is(err, netguard.ErrRefused) {
			t.Errorf("dial %s = %v, want ErrRefused", addr, err)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the loopback server got %d requests", n)
	}

	open := netguard.New(netguard.Options{AllowPrivate: true})
	client = &http.Client{Transport: &http.Transport{DialContext: open.DialContext}}
	resp, err := client.Post(srv.URL, "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatalf("with private targets allowed: %v", err)
	}
	resp.Body.Close()
	if hits.Load() != 1 {
		t.Fatal("with private targets allowed the request did not arrive")
	}
}

type rebinding struct {
	calls       atomic.Int32
	first, then string
}

func (r *rebinding) LookupNetIP(context.Context, string, string) ([]netip.Addr, error) {
	if r.calls.Add(1) == 1 {
		return []netip.Addr{netip.MustParseAddr(r.first)}, nil
	}
	return []netip.Addr{netip.MustParseAddr(r.then)}, nil
}

func FuzzCheckURL(f *testing.F) {
	for _, s := range []string{"http://127.0.0.1/", "http://[::ffff:127.0.0.1]/", "http://0x7f.1/", "https://hooks.example.com/", "http://intranet.example.com/",
		"http://[fe80::1%25eth0]/", "http://2130706433/", "https://not-yet.example.com/"} {
		f.Add(s)
	}
	g := netguard.New(netguard.Options{Resolver: names})
	f.Fuzz(func(t *testing.T, raw string) {
		warning, err := g.CheckURL(context.Background(), raw)
		if err != nil {
			if e, ok := err.(*herald.Error); !ok || e.Code != herald.EINVALID || e.Field != "targetUrl" {
				t.Fatalf("error %v, want EINVALID on targetUrl", err)
			}
			return
		}
		u, perr := url.Parse(raw)
		if perr != nil || warning != "" {
			return
		}
		// Accepted without a warning: every address the host means is public.
		host := strings.TrimSuffix(u.Hostname(), ".")
		if ip, err := netip.ParseAddr(host); err == nil && g.CheckAddr(ip) != nil {
			t.Fatalf("accepted %q, a literal private address", raw)
		}
		for _, a := range names[host] {
			if g.CheckAddr(netip.MustParseAddr(a)) != nil {
				t.Fatalf("accepted %q, whose name resolves to %s", raw, a)
			}
		}
	})
}
