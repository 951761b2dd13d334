package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/tokensvc/tokensvc/internal/session"
)

// Sessions creates, refreshes and ends login sessions.
type Sessions interface {
	Create(ctx context.Context, userID string) (session.Grant, error)
	Refresh(ctx context.Context, refreshToken string) (session.Grant, error)
	Logout(ctx context.Context, refreshToken string) error
	List(ctx context.Context, userID string) ([]session.Session, error)
	EndAll(ctx context.Context, userID string) (int, error)
	Expiry(session.Session) time.Time
}

type grantResponse struct {
	SessionID        string    `json:"session_id"`
	UserID           string    `json:"user_id"`
	RefreshToken     string    `json:"refresh_token"`
	RefreshExpiresAt time.Time `json:"refresh_expires_at"`
	mintResponse
}

func grantOf(g session.Grant) grantResponse {
	return grantResponse{
		SessionID:        g.Session.ID,
		UserID:           g.Session.UserID,
		RefreshToken:     g.RefreshToken,
		RefreshExpiresAt: g.RefreshExpiresAt,
		mintResponse:     mintResponseOf(g.Token),
	}
}

type createSessionRequest struct {
	UserID *string `json:"user_id"`
}

func (a *api) createSession(w http.ResponseWriter, r *http.Request) {
	var req createSessionRequest
	if err := decodeJSON(r, &req); err != nil {
		a.writeError(w, r, err)
		return
	}
	if req.UserID == nil {
		writeProblem(w, badField("user_id", "user_id is required"))
		return
	}
	if err := a.perUser.Take(*req.UserID); err != nil {
		a.writeError(w, r, err)
		return
	}
	g, err := a.sessions.Create(r.Context(), *req.UserID)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, grantOf(g))
}

// refreshToken returns the refresh token an app presents, or answers 401.
func refreshToken(w http.ResponseWriter, r *http.Request) (string, bool) {
	tok, ok := bearer(r.Header.Get("Authorization"))
	if !ok {
		writeProblem(w, newProblem(http.StatusUnauthorized, "unauthorized", "Unauthorized",
			"send the session's refresh token as: Authorization: Bearer <refresh_token>"))
	}
	return tok, ok
}

func (a *api) refreshSession(w http.ResponseWriter, r *http.Request) {
	tok, ok := refreshToken(w, r)
	if !ok {
		return
	}
	g, err := a.sessions.Refresh(r.Context(), tok)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, grantOf(g))
}

func (a *api) logout(w http.ResponseWriter, r *http.Request) {
	tok, ok := refreshToken(w, r)
	if !ok {
		return
	}
	if err := a.sessions.Logout(r.Context(), tok); err != nil {
		a.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// SessionView is a login session as operators see it: GET
// /v1/users/{user_id}/sessions answers with these, and the console's
// sessions page shows them. ExpiresAt is when the session ended, for an
// ended one, or else when it ends if it is not used again.
type SessionView struct {
	SessionID    string     `json:"session_id"`
	UserID       string     `json:"user_id"`
	CreatedAt    time.Time  `json:"created_at"`
	LastUsedAt   time.Time  `json:"last_used_at"`
	ExpiresAt    time.Time  `json:"expires_at"`
	RevokedAt    *time.Time `json:"revoked_at,omitempty"`
	RevokeReason string     `json:"revoke_reason,omitempty"`
}

func (a *api) listSessions(w http.ResponseWriter, r *http.Request) {
	ss, err := a.sessions.List(r.Context(), chi.URLParam(r, "user_id"))
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Sessions []SessionView `json:"sessions"`
	}{SessionViews(ss, a.sessions.Expiry)})
}

// SessionViews shows ss, expiry saying when a live session ends if it is
// not used again (session.Sessions.Expiry).
func SessionViews(ss []session.Session, expiry func(session.Session) time.Time) []SessionView {
	views := make([]SessionView, 0, len(ss))
	for _, s := range ss {
		v := SessionView{SessionID: s.ID, UserID: s.UserID, CreatedAt: s.CreatedAt, LastUsedAt: s.LastUsedAt,
			ExpiresAt: expiry(s), RevokeReason: s.RevokeReason}
		if !s.RevokedAt.IsZero() {
			at := s.RevokedAt
			v.RevokedAt, v.ExpiresAt = &at, at
		}
		views = append(views, v)
	}
	return views
}

func (a *api) endSessions(w http.ResponseWriter, r *http.Request) {
	n, err := a.sessions.EndAll(r.Context(), chi.URLParam(r, "user_id"))
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Ended int `json:"ended"`
	}{n})
}
