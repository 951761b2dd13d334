// Package console is tokensvc's operator console: server-rendered HTML
// pages under /console for the people who register keys in the MoEngage
// dashboard, debug tokens and read the audit log, without curl.
//
// Everything it serves is embedded in the binary (templates/*.html,
// static/*): no external request, no build step, no inline script or
// style, so that a strict Content-Security-Policy holds (headers.go). An
// operator signs in with an admin API key, exchanged once for a
// server-side console session whose cookie the browser keeps
// (signin.go); every form carries the session's CSRF token, and every
// change runs as the API key, so the audit log names it as it names the
// admin API's callers.
//
// Page handlers are short: read the form, call the domain, then
// c.redirect with a flash message (303 See Other, after a change),
// c.render (a page), or c.renderError (the page again, with the error in
// the words and status the API gives it).
package console

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"html/template"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/tokensvc/tokensvc/internal/apikey"
	"github.com/tokensvc/tokensvc/internal/httpapi"
	"github.com/tokensvc/tokensvc/internal/ratelimit"
)

// Prefix is where the console is mounted: the handler New returns serves
// the paths below it, and every link, redirect and cookie it makes names
// it.
const Prefix = "/console"

// SignIns exchanges admin API keys for console sessions and finds a
// session again from its cookie; *apikey.Registry implements it.
type SignIns interface {
	// StartConsole signs in with an API key's secret; the cookie is the
	// session's secret, which only the browser keeps.
	StartConsole(ctx context.Context, secret string) (apikey.ConsoleSession, string, error)
	// ResumeConsole returns the live session of a cookie and its API key.
	ResumeConsole(ctx context.Context, cookie string) (apikey.ConsoleSession, apikey.Key, error)
	// EndConsole signs the session out.
	EndConsole(ctx context.Context, s apikey.ConsoleSession) error
}

// Deps is what the console needs from the rest of tokensvc. Each page
// adds the small interface it calls.
type Deps struct {
	SignIns SignIns
	// KeyAdmin lists and changes the signing keys for the keys page: the
	// admin API's, so that both change a key the same way.
	KeyAdmin httpapi.KeyAdmin
	// Verifier checks the inspector's tokens, as POST /v1/verify does.
	Verifier TokenVerifier
	// Sessions lists and ends users' login sessions.
	Sessions UserSessions
	// APIKeys lists, creates and revokes API keys.
	APIKeys APIKeyAdmin
	// Logger logs what fails on tokensvc's side, once per request.
	Logger *slog.Logger
	// Now tells the time; nil means time.Now.
	Now func() time.Time
	// Secure marks the session cookie Secure: the address serving the
	// console has TLS.
	Secure bool
	// TrustedProxies are the peers whose X-Forwarded-For names the client
	// address, as for the API (httpapi.Deps.TrustedProxies): failed
	// sign-ins are counted per client address.
	TrustedProxies []netip.Prefix
	// Audit reads the audit log for the audit page.
	Audit AuditLog
	// Health is what the audit page's health panel reads.
	Health Health
}

// console serves the pages; its methods are the handlers.
type console struct {
	signIns        SignIns
	keyAdmin       httpapi.KeyAdmin
	verifier       TokenVerifier
	sessions       UserSessions
	apiKeyAdmin    APIKeyAdmin
	log            *slog.Logger
	now            func() time.Time
	secure         bool
	trustedProxies []netip.Prefix
	// signInTries bounds the sign-in attempts of each client address.
	signInTries *ratelimit.Keyed
	// crossOrigin refuses a form posted from another site's page: with
	// the CSRF token for signed-in forms, and alone for the sign-in form,
	// whose cookie does not exist yet.
	crossOrigin *http.CrossOriginProtection
	pages       map[string]*template.Template
	auditLog    AuditLog
	checks      Health
}

// New returns the console's handler, to be mounted at Prefix (httpapi
// does, on the admin face or the one address).
func New(d Deps) http.Handler {
	c := &console{
		signIns:        d.SignIns,
		keyAdmin:       d.KeyAdmin,
		verifier:       d.Verifier,
		sessions:       d.Sessions,
		apiKeyAdmin:    d.APIKeys,
		log:            d.Logger,
		now:            d.Now,
		secure:         d.Secure,
		trustedProxies: d.TrustedProxies,
		crossOrigin:    http.NewCrossOriginProtection(),
		pages:          parsePages(),
		auditLog:       d.Audit,
		checks:         d.Health,
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.signInTries = ratelimit.NewKeyed("client address", signInRate, c.now)
	return c.routes()
}

// routes declares every page of the console, relative to Prefix, with the
// middleware each group needs.
func (c *console) routes() chi.Router {
	r := chi.NewRouter()
	r.Use(securityHeaders, middleware.GetHead, c.sameOrigin)
	r.NotFound(c.notFound)
	r.MethodNotAllowed(c.methodNotAllowed)

	r.Get("/static/{name}", c.serveStatic)
	r.Get("/", c.home)
	r.Get("/signin", c.signInForm)
	r.Post("/signin", c.signIn)

	r.Group(func(r chi.Router) {
		r.Use(c.requireSession) // and the CSRF token of every POST
		r.Post("/signout", c.signOut)

		r.Get("/keys", c.showKeys)
		r.Post("/keys", c.createKey)
		r.Post("/keys/{kid}/confirm", c.confirmKey)
		r.Post("/keys/{kid}/activate", c.activateKey)
		r.Post("/keys/{kid}/revoke", c.revokeKey)

		r.Get("/inspect", c.inspectForm)
		r.Post("/inspect", c.inspect)

		r.Get("/sessions", c.sessionsOf)
		r.Post("/sessions/end", c.endSessions)

		r.Get("/apikeys", c.apiKeys)
		r.Post("/apikeys", c.createAPIKey)
		r.Post("/apikeys/{id}/revoke", c.revokeAPIKey)

		r.Get("/audit", c.audit)
	})
	return r
}

// home sends /console to /console/, and /console/ to the keys page or the
// sign-in form.
func (c *console) home(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == Prefix {
		http.Redirect(w, r, Prefix+"/", http.StatusMovedPermanently)
		return
	}
	if _, _, ok := c.resume(r); ok {
		http.Redirect(w, r, Prefix+"/keys", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, Prefix+"/signin", http.StatusSeeOther)
}

// pathParam returns the path parameter name of r's route, decoded. The
// console routes on the escaped path (see httpapi's routeEscapedPath), so
// chi gives its parameters escaped.
func pathParam(r *http.Request, name string) string {
	v := chi.URLParam(r, name)
	if d, err := url.PathUnescape(v); err == nil {
		return d
	}
	return v
}

// navItem is one entry of the header's navigation.
type navItem struct {
	Page, Label string
	Current     bool
}

// Path is where the item leads.
func (n navItem) Path() string { return Prefix + "/" + n.Page }

// nav lists the pages a signed-in operator can go to, current marking the
// one shown.
func nav(current string) []navItem {
	items := []navItem{
		{Page: "keys", Label: "Keys"},
		{Page: "inspect", Label: "Inspector"},
		{Page: "sessions", Label: "Sessions"},
		{Page: "apikeys", Label: "API keys"},
		{Page: "audit", Label: "Audit"},
	}
	for i := range items {
		items[i].Current = items[i].Page == current
	}
	return items
}

// view is what every template is executed with: the page's own data in
// Page, and what the layout shows around it.
type view struct {
	// Nav is the navigation, empty when nobody is signed in.
	Nav []navItem
	// KeyID and KeyName name the signed-in API key.
	KeyID, KeyName string
	// CSRF is the value of every form's hidden csrf field; inside a
	// range, templates write it $.CSRF.
	CSRF string
	// Flash is the message a change left for this page, or "".
	Flash string
	// Error is the failure the page shows above its content, or nil.
	Error *failure
	Page  any
}

// failure is an error as a page shows it: the status the page answers
// with, and plain words.
type failure struct {
	Status        int
	Title, Detail string
	retryAfter    time.Duration
}

//go:embed templates/*.html
var templateFiles embed.FS

// pageNames are the page templates, each parsed with layout.html.
var pageNames = []string{"signin", "error", "keys", "inspect", "sessions", "apikeys", "audit"}

// parsePages parses each page with the layout. They are embedded, so a
// page that does not parse is a bug every test finds.
func parsePages() map[string]*template.Template {
	pages := make(map[string]*template.Template, len(pageNames))
	for _, name := range pageNames {
		pages[name] = template.Must(template.New(name).Funcs(templateFuncs()).
			ParseFS(templateFiles, "templates/layout.html", "templates/"+name+".html"))
	}
	return pages
}

// templateFuncs are the functions templates may call.
func templateFuncs() template.FuncMap {
	return template.FuncMap{
		"when":    when,
		"whenSet": whenSet,
		// codeSpans shows the README's troubleshooting cells: backtick
		// runs as <code>, the rest as text, all escaped.
		"codeSpans": codeSpans,
	}
}

// when writes a time for people, in UTC, to the second; "—" when zero.
func when(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// whenSet is when for an optional time of the API's view.
func whenSet(t *time.Time) string {
	if t == nil {
		return "—"
	}
	return when(*t)
}

// render answers with page (templates/<page>.html in the layout) at
// status, data being what the page's template reads as .Page.
func (c *console) render(w http.ResponseWriter, r *http.Request, page string, status int, data any) {
	c.write(w, r, page, status, data, nil)
}

// renderError answers with page again, the failure err is shown above
// it, in the status and words the API gives err (httpapi.Explain): 409 for
// a key in the wrong state, 404 for an unknown one, 503 when the store is
// down. Errors on tokensvc's side are logged here, once.
func (c *console) renderError(w http.ResponseWriter, r *http.Request, page string, err error, data any) {
	e := httpapi.Explain(err)
	if e.Status >= http.StatusInternalServerError {
		route := ""
		if rc := chi.RouteContext(r.Context()); rc != nil {
			route = rc.RoutePattern()
		}
		c.log.ErrorContext(r.Context(), "console request failed", slog.String("method", r.Method),
			slog.String("route", route), slog.Int("status", e.Status), slog.Any("err", err))
	}
	f := &failure{Status: e.Status, Title: e.Title, Detail: e.Detail, retryAfter: e.RetryAfter}
	c.write(w, r, page, e.Status, data, f)
}

// errorPage answers with a page that shows only the failure err is: for
// a request that has no page of its own to show it on.
func (c *console) errorPage(w http.ResponseWriter, r *http.Request, err error) {
	c.renderError(w, r, "error", err, nil)
}

// refuse answers with a page that shows only f: a refusal that is the
// console's own (a missing CSRF token), not the domain's.
func (c *console) refuse(w http.ResponseWriter, r *http.Request, f *failure) {
	c.write(w, r, "error", f.Status, nil, f)
}

func (c *console) notFound(w http.ResponseWriter, r *http.Request) {
	c.refuse(w, r, &failure{Status: http.StatusNotFound, Title: "Not found",
		Detail: "The console has no page at " + r.URL.Path + "."})
}

func (c *console) methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	c.refuse(w, r, &failure{Status: http.StatusMethodNotAllowed, Title: "Method not allowed",
		Detail: r.Method + " is not allowed on " + r.URL.Path + "."})
}

// write executes the page into a buffer first, so that a template that
// fails answers a clean 500 instead of half a page.
func (c *console) write(w http.ResponseWriter, r *http.Request, page string, status int, data any, f *failure) {
	v := view{Error: f, Page: data}
	if page == "error" {
		// The error page is the failure alone, as its heading.
		v.Error, v.Page = nil, f
	}
	if s, ok := signedInFrom(r.Context()); ok {
		v.Nav = nav(page)
		v.KeyID, v.KeyName, v.CSRF = s.key.ID, s.key.Name, s.session.CSRF
		v.Flash = c.takeFlash(w, r, s.session)
	}
	var buf bytes.Buffer
	t, ok := c.pages[page]
	if !ok {
		c.log.ErrorContext(r.Context(), "console page has no template", slog.String("page", page))
		http.Error(w, "The console failed to show this page; the service log has the cause.", http.StatusInternalServerError)
		return
	}
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		c.log.ErrorContext(r.Context(), "console page failed to render", slog.String("page", page), slog.Any("err", err))
		http.Error(w, "The console failed to show this page; the service log has the cause.", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	if f != nil && f.retryAfter > 0 {
		h.Set("Retry-After", httpapi.RetryAfterSeconds(f.retryAfter))
	}
	h.Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

// The flash: a one-line message a change leaves for the page it redirects
// to ("Key … revoked."), in a cookie that lives a minute and is deleted
// by the page that shows it. It is signed with the session's CSRF token,
// so that only this console, for this session, can leave one: neither a
// crafted link (it is not in the URL) nor another session's cookie puts
// words on a page. A flash holds no secret: a secret shown once (a new
// API key) is rendered on the answer to the POST instead.
const (
	flashCookie = "tokensvc_flash"
	flashMaxAge = 60 // seconds
)

// redirect answers 303 See Other to path (under Prefix), leaving flash
// for that page when not "". A signed-in change ends with it, so that
// reloading the page does not post the form again.
func (c *console) redirect(w http.ResponseWriter, r *http.Request, path, flash string) {
	if s, ok := signedInFrom(r.Context()); ok && flash != "" {
		http.SetCookie(w, c.cookie(flashCookie, signFlash(s.session, flash), flashMaxAge))
	}
	http.Redirect(w, r, path, http.StatusSeeOther)
}

// takeFlash returns the flash left for s, deleting it, or "".
func (c *console) takeFlash(w http.ResponseWriter, r *http.Request, s apikey.ConsoleSession) string {
	ck, err := r.Cookie(flashCookie)
	if err != nil {
		return ""
	}
	http.SetCookie(w, c.cookie(flashCookie, "", -1))
	msg, ok := openFlash(s, ck.Value)
	if !ok {
		return ""
	}
	return msg
}

func signFlash(s apikey.ConsoleSession, msg string) string {
	text := base64.RawURLEncoding.EncodeToString([]byte(msg))
	return text + "." + base64.RawURLEncoding.EncodeToString(flashMAC(s, text))
}

func openFlash(s apikey.ConsoleSession, value string) (string, bool) {
	text, mac, ok := strings.Cut(value, ".")
	if !ok {
		return "", false
	}
	got, err := base64.RawURLEncoding.DecodeString(mac)
	if err != nil || !hmac.Equal(got, flashMAC(s, text)) {
		return "", false
	}
	msg, err := base64.RawURLEncoding.DecodeString(text)
	if err != nil {
		return "", false
	}
	return string(msg), true
}

func flashMAC(s apikey.ConsoleSession, text string) []byte {
	m := hmac.New(sha256.New, []byte("tokensvc console flash\x00"+s.CSRF))
	m.Write([]byte(text))
	return m.Sum(nil)
}

// cookie is a console cookie: sent only to the console, never to scripts
// nor with a request another site starts. maxAge 0 makes a browser-session
// cookie, below 0 deletes it.
func (c *console) cookie(name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name:     name,
		Value:    value,
		Path:     Prefix,
		MaxAge:   maxAge,
		HttpOnly: true,
		SameSite: http.SameSiteStrictMode,
		Secure:   c.secure,
	}
}
