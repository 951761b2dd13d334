package httpapi

import (
	"net/http"
	"slices"
	"strings"
)

// A browser lets a page read tokensvc's answers only where CORS allows it:
// the public keys, which any page may read (JWT checkers fetch them), and
// refresh and logout, which the app's pages call with the refresh token
// from the origins TOKENSVC_CORS_ORIGINS lists. Every other endpoint is
// server-to-server and answers no CORS header. No answer ever allows
// credentials: tokensvc authenticates nothing by cookie, and a page sends
// the refresh token itself, in Authorization.

// corsPolicy is which pages may call a group of routes from a browser.
type corsPolicy struct {
	anyOrigin bool
	origins   []string // when not anyOrigin; lower case, as config.Load leaves them
	// headers are the request headers the routes read, which a preflight
	// allows; expose the response headers a page may read beyond the
	// safelisted ones.
	headers, expose string
}

// corsMaxAge is how long, in seconds, a browser may reuse a preflight's
// answer: an origin removed from TOKENSVC_CORS_ORIGINS is refused within
// ten minutes.
const corsMaxAge = "600"

// allows reports whether a page of origin may call the routes. Origins are
// compared whole, ignoring case, as scheme and host are.
func (c corsPolicy) allows(origin string) bool {
	return c.anyOrigin || slices.ContainsFunc(c.origins, func(o string) bool { return strings.EqualFold(o, origin) })
}

// allow answers the routes' requests with the CORS headers their origin
// earns.
func (c corsPolicy) allow(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		if c.anyOrigin {
			h.Set("Access-Control-Allow-Origin", "*")
			h.Set("Access-Control-Expose-Headers", c.expose)
		} else {
			// The answer depends on Origin whether or not it is allowed: a
			// cache must not serve one origin's answer to another.
			h.Add("Vary", "Origin")
			if origin := r.Header.Get("Origin"); origin != "" && c.allows(origin) {
				h.Set("Access-Control-Allow-Origin", origin)
				h.Set("Access-Control-Expose-Headers", c.expose)
			}
		}
		next.ServeHTTP(w, r)
	})
}

// preflight answers OPTIONS on the routes of c: 204 with Allow, and for a
// browser's preflight from an origin c allows, the methods and headers it
// may send. A preflight from any other origin gets 403 and a problem: the
// browser refuses either way, but the status says so in the developer's
// network panel and in the metrics, and the detail says what to change.
func (a *api) preflight(c corsPolicy) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		allowed := a.allowedMethods(r)
		h := w.Header()
		for _, m := range allowed {
			h.Add("Allow", m)
		}
		origin := r.Header.Get("Origin")
		if origin == "" || r.Header.Get("Access-Control-Request-Method") == "" {
			// Not a preflight: someone asking which methods the path serves.
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if !c.allows(origin) {
			writeProblem(w, newProblem(http.StatusForbidden, "forbidden", "Forbidden",
				"pages of origin "+origin+" may not call this endpoint: TOKENSVC_CORS_ORIGINS does not list it"))
			return
		}
		h.Set("Access-Control-Allow-Methods", strings.Join(slices.DeleteFunc(allowed, func(m string) bool { return m == http.MethodOptions }), ", "))
		h.Set("Access-Control-Allow-Headers", c.headers)
		h.Set("Access-Control-Max-Age", corsMaxAge)
		w.WriteHeader(http.StatusNoContent)
	}
}
