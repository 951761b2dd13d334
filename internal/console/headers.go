package console

import (
	"embed"
	"io/fs"
	"net/http"
	"path"
)

// contentSecurityPolicy lets a console page load only the console's own
// files: no inline script or style, no other site's, and no framing (a
// page in someone's frame could be clicked through). Forms post only to
// the console; a <base> cannot redirect its links.
const contentSecurityPolicy = "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"

// securityHeaders sets the headers every console response carries. Pages
// show keys, tokens and API key secrets: nothing is cached unless it is
// one of the static files (serveStatic), and no URL leaves in a Referer.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

// sameOrigin refuses a POST that a page of another site made (as
// net/http's CrossOriginProtection tells from Sec-Fetch-Site or Origin).
// SameSite=Strict already keeps the session cookie off such a request,
// and the CSRF token checks signed-in forms; the sign-in form, made
// before any session, has only this.
func (c *console) sameOrigin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := c.crossOrigin.Check(r); err != nil {
			c.refuse(w, r, &failure{Status: http.StatusForbidden, Title: "Refused",
				Detail: "This form was sent from a page of another site; the console accepts forms from its own pages only."})
			return
		}
		next.ServeHTTP(w, r)
	})
}

//go:embed static
var staticFiles embed.FS

// serveStatic serves the embedded stylesheet, script and icon. They change
// only with the binary: an hour in a cache is harmless.
func (c *console) serveStatic(w http.ResponseWriter, r *http.Request) {
	name := path.Join("static", pathParam(r, "name"))
	if fi, err := fs.Stat(staticFiles, name); err != nil || !fi.Mode().IsRegular() {
		c.notFound(w, r)
		return
	}
	w.Header().Set("Cache-Control", "public, max-age=3600")
	http.ServeFileFS(w, r, staticFiles, name)
}
