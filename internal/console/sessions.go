package console

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/tokensvc/tokensvc/internal/httpapi"
	"github.com/tokensvc/tokensvc/internal/session"
)

// UserSessions lists and ends a user's login sessions;
// *session.Sessions implements it.
type UserSessions interface {
	List(ctx context.Context, userID string) ([]session.Session, error)
	EndAll(ctx context.Context, userID string) (int, error)
	Expiry(session.Session) time.Time
}

// sessionsPage is the sessions page's data: the user looked up, if any,
// and their sessions as the admin API shows them.
type sessionsPage struct {
	UserID string
	// Looked is whether a user was looked up (UserID may be "" only when
	// not).
	Looked   bool
	Sessions []sessionRow
	Live     int
}

// sessionRow is one session and its state in words.
type sessionRow struct {
	httpapi.SessionView
	// State is "active", "ended" or "expired" (ran out, not yet marked).
	State string
}

// sessionsOf looks up user_id from the query; an empty one shows the
// search form alone.
func (c *console) sessionsOf(w http.ResponseWriter, r *http.Request) {
	userID := r.URL.Query().Get("user_id")
	page := sessionsPage{UserID: userID}
	if strings.TrimSpace(userID) == "" {
		c.render(w, r, "sessions", http.StatusOK, sessionsPage{})
		return
	}
	ss, err := c.sessions.List(r.Context(), userID)
	if err != nil {
		c.renderError(w, r, "sessions", err, page)
		return
	}
	page.Looked = true
	now := c.now()
	for _, v := range httpapi.SessionViews(ss, c.sessions.Expiry) {
		row := sessionRow{SessionView: v, State: "active"}
		switch {
		case v.RevokedAt != nil:
			row.State = "ended"
		case !now.Before(v.ExpiresAt):
			row.State = "expired"
		default:
			page.Live++
		}
		page.Sessions = append(page.Sessions, row)
	}
	c.render(w, r, "sessions", http.StatusOK, page)
}

// endSessions ends every session of the posted user_id, as DELETE
// /v1/users/{user_id}/sessions does, and goes back to the user's page.
func (c *console) endSessions(w http.ResponseWriter, r *http.Request) {
	userID := r.PostFormValue("user_id")
	if strings.TrimSpace(userID) == "" {
		c.write(w, r, "sessions", http.StatusUnprocessableEntity, sessionsPage{}, &failure{
			Status: http.StatusUnprocessableEntity, Title: "No user",
			Detail: "Say whose sessions to end: look the user up first."})
		return
	}
	n, err := c.sessions.EndAll(r.Context(), userID)
	if err != nil {
		c.renderError(w, r, "sessions", err, sessionsPage{UserID: userID})
		return
	}
	c.redirect(w, r, sessionsPath(userID), fmt.Sprintf("Ended %d %s of %s.", n, plural(n, "session", "sessions"), userID))
}

// sessionsPath is the sessions page of userID, escaped for a URL: user ids
// may hold any character (team/alice, a b, ü).
func sessionsPath(userID string) string {
	return Prefix + "/sessions?" + url.Values{"user_id": {userID}}.Encode()
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
