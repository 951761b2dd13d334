package httpapi

import (
	"net/http"
	"net/netip"
	"strings"
)

// limitPerClient bounds the requests of each client address on the routes
// anyone may call without an API key but that reach the store (refresh and
// logout), so that one client guessing refresh tokens cannot keep the
// database busy. It runs before anything else is looked at.
func (a *api) limitPerClient(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := a.perClient.Take(ClientBucket(r, a.trustedProxies)); err != nil {
			a.writeError(w, r, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// ClientBucket names the client r comes from, for a rate limit per client
// address: its address (its /64 for IPv6, see clientKey), found behind
// the trusted proxies as clientAddr says. The operator console counts
// failed sign-ins by it.
func ClientBucket(r *http.Request, trusted []netip.Prefix) string {
	if addr, ok := clientAddr(r, trusted); ok {
		return clientKey(addr)
	}
	return r.RemoteAddr // not from net/http's server; nothing better is known
}

// clientKey names the bucket of a client address. An IPv6 client is
// counted by its /64, the least a network is given: one host may use every
// address in it, and would otherwise have 2^64 budgets.
func clientKey(addr netip.Addr) string {
	if addr.Is6() {
		return netip.PrefixFrom(addr, 64).Masked().String()
	}
	return addr.String()
}

// clientAddr returns the address r comes from: the peer's, or, when the
// peer is a trusted proxy, the right-most X-Forwarded-For address that no
// trusted proxy added. Addresses left of it are whatever the client sent,
// and a client choosing its own address would choose a fresh budget each
// time.
func clientAddr(r *http.Request, trusted []netip.Prefix) (netip.Addr, bool) {
	peer, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}, false
	}
	addr := peer.Addr().Unmap()
	if !isTrusted(addr, trusted) {
		return addr, true
	}
	hops := r.Header.Values("X-Forwarded-For")
	for i := len(hops) - 1; i >= 0; i-- {
		list := hops[i]
		for list != "" {
			var hop string
			if j := strings.LastIndexByte(list, ','); j >= 0 {
				list, hop = list[:j], list[j+1:]
			} else {
				list, hop = "", list
			}
			next, ok := parseHop(strings.TrimSpace(hop))
			if !ok {
				// A trusted proxy passed on something that is no address:
				// the last address it vouched for is all that is known.
				return addr, true
			}
			addr = next
			if !isTrusted(addr, trusted) {
				return addr, true
			}
		}
	}
	return addr, true // every hop is a trusted proxy
}

// parseHop reads one X-Forwarded-For entry, an address with or without a
// port.
func parseHop(s string) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap(), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap(), true
	}
	return netip.Addr{}, false
}

func isTrusted(addr netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}
