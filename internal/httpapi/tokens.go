package httpapi

import (
	"errors"
	"net/http"
	"time"

	"github.com/tokensvc/tokensvc/internal/issuer"
)

type mintRequest struct {
	UserID     *string        `json:"user_id"`
	TTLSeconds *number        `json:"ttl_seconds"`
	Claims     map[string]any `json:"claims"`
}

type mintResponse struct {
	Token     string    `json:"token"`
	TokenType string    `json:"token_type"`
	KID       string    `json:"kid"`
	Alg       string    `json:"alg"`
	ExpiresAt time.Time `json:"expires_at"`
	ExpiresIn int64     `json:"expires_in"`
}

// maxTTLSeconds keeps ttl_seconds from overflowing a Duration; the issuer
// enforces the configured maximum, which is far lower.
const maxTTLSeconds = int64(1<<63-1) / int64(time.Second)

func (a *api) mintToken(w http.ResponseWriter, r *http.Request) {
	var req mintRequest
	if err := decodeJSON(r, &req); err != nil {
		a.metrics.tokenIssued("invalid")
		a.writeError(w, r, err)
		return
	}
	ir := issuer.Request{Claims: req.Claims}
	if req.UserID == nil {
		a.metrics.tokenIssued("invalid")
		writeProblem(w, badField("user_id", "user_id is required"))
		return
	}
	ir.UserID = *req.UserID
	if err := a.perUser.Take(ir.UserID); err != nil {
		a.metrics.tokenIssued("limited")
		a.writeError(w, r, err)
		return
	}
	if req.TTLSeconds != nil {
		n, err := req.TTLSeconds.Int64()
		if err != nil || n < 1 || n > maxTTLSeconds {
			a.metrics.tokenIssued("invalid")
			writeProblem(w, badField("ttl_seconds", "ttl_seconds must be a whole number of seconds, at least 1"))
			return
		}
		ir.TTL = time.Duration(n) * time.Second
	}
	tok, err := a.minter.Issue(ir)
	if err != nil {
		a.metrics.tokenIssued(resultOf(err))
		a.writeError(w, r, err)
		return
	}
	a.metrics.tokenIssued("ok")
	writeMint(w, mintResponseOf(tok))
}

func mintResponseOf(tok issuer.Token) mintResponse {
	return mintResponse{
		Token:     tok.Token,
		TokenType: "JWT",
		KID:       tok.KID,
		Alg:       tok.Alg,
		ExpiresAt: tok.ExpiresAt,
		ExpiresIn: int64(tok.ExpiresAt.Sub(tok.IssuedAt) / time.Second),
	}
}

// resultOf names the outcome of a failed mint for the tokens-issued metric.
func resultOf(err error) string {
	if errors.Is(err, issuer.ErrOverloaded) {
		return "overloaded"
	}
	if problemFor(err).Status < 500 {
		return "invalid"
	}
	return "error"
}
