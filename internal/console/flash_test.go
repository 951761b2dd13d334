package console

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tokensvc/tokensvc/internal/apikey"
)

// inSession returns a request made in a session whose CSRF token is csrf,
// carrying cookies.
func inSession(method, path, csrf string, cookies ...*http.Cookie) *http.Request {
	s := signedIn{session: apikey.ConsoleSession{ID: "cs_1", CSRF: csrf}, key: apikey.Key{ID: "ak_1", Name: "ops"}}
	r := httptest.NewRequest(method, path, nil)
	for _, ck := range cookies {
		r.AddCookie(ck)
	}
	return r.WithContext(context.WithValue(r.Context(), signedInKey{}, s))
}

func flashCookieOf(t *testing.T, h http.Header) *http.Cookie {
	t.Helper()
	for _, ck := range (&http.Response{Header: h}).Cookies() {
		if ck.Name == flashCookie {
			return ck
		}
	}
	return nil
}

// TestFlashAfterRedirect follows a change's 303 to the page it names: the
// page shows the flash once, in the session that left it only.
func TestFlashAfterRedirect(t *testing.T) {
	c := &console{pages: parsePages(), log: slog.New(slog.DiscardHandler)}
	const msg = "Key k1 revoked."
	w := httptest.NewRecorder()
	c.redirect(w, inSession("POST", "/console/keys/k1/revoke", "token-1"), "/console/keys", msg)
	left := flashCookieOf(t, w.Header())
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/console/keys" || left == nil {
		t.Fatalf("redirect: %d to %q, flash cookie %v", w.Code, w.Header().Get("Location"), left)
	}
	if left.Path != "/console" || !left.HttpOnly || left.SameSite != http.SameSiteStrictMode || left.MaxAge <= 0 {
		t.Errorf("flash cookie %s: want Path=/console, HttpOnly, SameSite=Strict, a Max-Age", left)
	}
	if strings.Contains(w.Header().Get("Location"), "revoked") {
		t.Error("the flash is in the URL")
	}

	tests := []struct {
		name, csrf string
		shown      bool
	}{
		{"same session", "token-1", true},
		{"another session", "token-2", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			c.render(w, inSession("GET", "/console/keys", tc.csrf, left), "keys", http.StatusOK, nil)
			if got := strings.Contains(w.Body.String(), msg); got != tc.shown {
				t.Errorf("flash shown %v, want %v\n%s", got, tc.shown, w.Body)
			}
			if gone := flashCookieOf(t, w.Header()); gone == nil || gone.MaxAge >= 0 {
				t.Errorf("the flash cookie was not deleted: %v", gone)
			}
		})
	}
}

// TestTemplateFailureIsAClean500 checks that a page whose template fails
// answers 500 with nothing of the page.
func TestTemplateFailureIsAClean500(t *testing.T) {
	c := &console{pages: parsePages(), log: slog.New(slog.DiscardHandler)}
	w := httptest.NewRecorder()
	// The error page reads .Page.Title: a string has none.
	c.render(w, inSession("GET", "/console/x", "t"), "error", http.StatusOK, nil)
	if w.Code != http.StatusInternalServerError || strings.Contains(w.Body.String(), "<html") {
		t.Errorf("%d\n%s", w.Code, w.Body)
	}
}
