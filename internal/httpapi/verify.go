package httpapi

import (
	"net/http"
	"time"

	"github.com/tokensvc/tokensvc/internal/verify"
)

// PublishedVerifier checks tokens under Rules' profile against the keys
// Keys publishes at the moment of each call, as MoEngage would: POST
// /v1/verify and the console's token inspector both answer with it, so
// that the two never disagree.
type PublishedVerifier struct {
	// Rules holds the profile rules; its Keys and Now are replaced.
	Rules verify.Verifier
	Keys  KeySet
	Now   func() time.Time
}

// Verify checks token; userID, if not empty, is the user the app says is
// logged in.
func (p PublishedVerifier) Verify(token, userID string) verify.Result {
	snap := p.Keys.Snapshot()
	v := p.Rules
	v.Keys = make([]verify.Key, 0, len(snap.Published))
	for _, k := range snap.Published {
		v.Keys = append(v.Keys, verify.Key{Name: k.KID, Key: k.Public})
	}
	v.Now = p.Now
	return v.Verify(token, userID)
}

type verifyRequest struct {
	Token  *string `json:"token"`
	UserID string  `json:"user_id"`
}

// verifyToken checks a token against the keys this service publishes, as
// MoEngage would: a backend developer learns what MoEngage will answer
// before MoEngage answers it.
func (a *api) verifyToken(w http.ResponseWriter, r *http.Request) {
	var req verifyRequest
	if err := decodeJSON(r, &req); err != nil {
		a.writeError(w, r, err)
		return
	}
	if req.Token == nil {
		writeProblem(w, badField("token", "token is required"))
		return
	}
	v := PublishedVerifier{Rules: a.verifier, Keys: a.keys, Now: a.now}
	writeJSON(w, http.StatusOK, v.Verify(*req.Token, req.UserID))
}
