package console

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tokensvc/tokensvc/internal/apikey"
	"github.com/tokensvc/tokensvc/internal/httpapi"
	"github.com/tokensvc/tokensvc/internal/journal"
	"github.com/tokensvc/tokensvc/internal/ratelimit"
)

// sessionCookie holds a console session's secret. It has no Expires: the
// browser forgets it when it closes, and the server ends the session
// after apikey.ConsoleIdle unused or apikey.ConsoleMaxAge in all.
const sessionCookie = "tokensvc_console"

// signInRate bounds the sign-in attempts from each client address. Every
// attempt counts, not only failed ones: counting after the answer would
// let a burst of guesses sent at once all be tried before any is counted.
// An operator who mistypes ten times waits a few seconds.
var signInRate = ratelimit.Rate{N: 10, Per: time.Minute}

// maxFormBytes bounds a console form: the largest field is a pasted token.
const maxFormBytes = 64 << 10

// signedIn is the session a request was made in, and its API key.
type signedIn struct {
	session apikey.ConsoleSession
	key     apikey.Key
}

type signedInKey struct{}

// signedInFrom returns the session of a request that requireSession let
// through, and the API key signed in with; false outside requireSession.
// The actor of the request's changes, journal.ActorFrom(ctx), is that key.
func signedInFrom(ctx context.Context) (signedIn, bool) {
	s, ok := ctx.Value(signedInKey{}).(signedIn)
	return s, ok
}

// signInPage is the sign-in form's data.
type signInPage struct {
	// Notice says why the operator is here: signed out, or the session
	// ended.
	Notice string
}

// Why a request was sent to the sign-in form, as its query says: a fixed
// word, so that nobody can write on the page with a crafted link.
var signInNotices = map[string]string{
	"signedout": "You are signed out.",
	"revoked":   "You revoked the API key you were signed in with, so your console session ended. Sign in with another admin API key.",
	"ended":     "Your console session ended: it was idle for an hour, is 12 hours old, or its API key was revoked. Sign in again.",
}

func (c *console) signInForm(w http.ResponseWriter, r *http.Request) {
	if _, _, ok := c.resume(r); ok {
		http.Redirect(w, r, Prefix+"/keys", http.StatusSeeOther)
		return
	}
	c.render(w, r, "signin", http.StatusOK, signInPage{Notice: signInNotices[r.URL.Query().Get("from")]})
}

// signIn exchanges the admin API key posted in api_key for a console
// session, whose cookie the answer sets. The form has no CSRF token (there
// is no session yet): sameOrigin refuses it posted from another site.
func (c *console) signIn(w http.ResponseWriter, r *http.Request) {
	if ok, retry := c.signInTries.Allow(httpapi.ClientBucket(r, c.trustedProxies)); !ok {
		c.write(w, r, "signin", http.StatusTooManyRequests, signInPage{}, &failure{
			Status: http.StatusTooManyRequests, Title: "Too many sign-in attempts",
			Detail:     fmt.Sprintf("This address may try to sign in %d times a minute. Try again in %s seconds.", signInRate.N, httpapi.RetryAfterSeconds(retry)),
			retryAfter: retry,
		})
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	secret := strings.TrimSpace(r.PostFormValue("api_key"))
	// The registry audits the sign-in, refused or not.
	_, cookie, err := c.signIns.StartConsole(r.Context(), secret)
	if err != nil {
		c.signInRefused(w, r, secret, err)
		return
	}
	http.SetCookie(w, c.cookie(sessionCookie, cookie, 0))
	http.Redirect(w, r, Prefix+"/keys", http.StatusSeeOther)
}

// signInRefused answers a sign-in that StartConsole refused: the form
// again, saying why.
func (c *console) signInRefused(w http.ResponseWriter, r *http.Request, secret string, err error) {
	if secret == "" || errors.Is(err, apikey.ErrUnknownKey) {
		c.write(w, r, "signin", http.StatusUnauthorized, signInPage{}, &failure{
			Status: http.StatusUnauthorized, Title: "Not signed in",
			Detail: "This API key is unknown or revoked. Paste an admin API key (tks_…).",
		})
		return
	}
	if errors.Is(err, apikey.ErrConsoleNeedsAdmin) {
		c.write(w, r, "signin", http.StatusForbidden, signInPage{}, &failure{
			Status: http.StatusForbidden, Title: "Not an admin API key",
			Detail: "This API key has scope issue; the console needs an API key of scope admin.",
		})
		return
	}
	c.renderError(w, r, "signin", err, signInPage{})
}

// signOut ends the session (requireSession checked its CSRF token).
func (c *console) signOut(w http.ResponseWriter, r *http.Request) {
	s, _ := signedInFrom(r.Context())
	if err := c.signIns.EndConsole(r.Context(), s.session); err != nil {
		c.errorPage(w, r, err)
		return
	}
	http.SetCookie(w, c.cookie(sessionCookie, "", -1))
	http.Redirect(w, r, Prefix+"/signin?from=signedout", http.StatusSeeOther)
}

// resume returns the live session r's cookie names, if any.
func (c *console) resume(r *http.Request) (apikey.ConsoleSession, apikey.Key, bool) {
	ck, err := r.Cookie(sessionCookie)
	if err != nil || ck.Value == "" {
		return apikey.ConsoleSession{}, apikey.Key{}, false
	}
	s, k, err := c.signIns.ResumeConsole(r.Context(), ck.Value)
	return s, k, err == nil
}

// requireSession admits requests made in a live console session, and of
// those a POST only with the session's CSRF token in its csrf field.
// Others go to the sign-in form. The request then runs as the session's
// API key: what it changes, the audit log says that key did.
func (c *console) requireSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ck, err := r.Cookie(sessionCookie)
		if err != nil || ck.Value == "" {
			http.Redirect(w, r, Prefix+"/signin", http.StatusSeeOther)
			return
		}
		s, k, err := c.signIns.ResumeConsole(r.Context(), ck.Value)
		switch {
		case errors.Is(err, apikey.ErrConsoleSessionEnded), errors.Is(err, apikey.ErrUnknownKey), errors.Is(err, apikey.ErrNotFound):
			http.SetCookie(w, c.cookie(sessionCookie, "", -1))
			http.Redirect(w, r, Prefix+"/signin?from=ended", http.StatusSeeOther)
			return
		case err != nil:
			c.errorPage(w, r, err)
			return
		}
		ctx := context.WithValue(r.Context(), signedInKey{}, signedIn{session: s, key: k})
		ctx = journal.WithActor(ctx, journal.Actor{Kind: journal.ActorAPIKey, ID: k.ID, Name: k.Name})
		r = r.WithContext(ctx)
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
			if err := r.ParseForm(); err != nil {
				c.refuseForm(w, r, err)
				return
			}
			if !validCSRF(r.PostFormValue("csrf"), s.CSRF) {
				c.refuse(w, r, &failure{Status: http.StatusForbidden, Title: "Form expired",
					Detail: "This form does not carry the token of your console session (it was opened in an earlier session, or on another site), so nothing was changed. Open the page again and resubmit."})
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// validCSRF compares a posted token with the session's in constant time.
func validCSRF(posted, want string) bool {
	return want != "" && subtle.ConstantTimeCompare([]byte(posted), []byte(want)) == 1
}

// refuseForm answers a form that could not be read: too large (a pasted
// log file instead of a token) or not a form at all. Nothing was changed.
func (c *console) refuseForm(w http.ResponseWriter, r *http.Request, err error) {
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		c.refuse(w, r, &failure{Status: http.StatusRequestEntityTooLarge, Title: "Form too large",
			Detail: "This form is too large to read (over " + strconv.Itoa(maxFormBytes>>10) + " KiB), so nothing was changed. A token is a few hundred bytes: paste the token alone."})
		return
	}
	c.refuse(w, r, &failure{Status: http.StatusBadRequest, Title: "Unreadable form",
		Detail: "This request is not a form the console can read, so nothing was changed. Open the page again and resubmit."})
}
