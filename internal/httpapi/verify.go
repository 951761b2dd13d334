package httpapi

import (
	"net/http"

	"github.com/tokensvc/tokensvc/internal/verify"
)

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
	snap := a.keys.Snapshot()
	v := a.verifier
	v.Keys = make([]verify.Key, 0, len(snap.Published))
	for _, k := range snap.Published {
		v.Keys = append(v.Keys, verify.Key{Name: k.KID, Key: k.Public})
	}
	v.Now = a.now
	writeJSON(w, http.StatusOK, v.Verify(*req.Token, req.UserID))
}
