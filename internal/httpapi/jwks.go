package httpapi

import (
	"bytes"
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/tokensvc/tokensvc/internal/keys"
)

// publicKeyMaxAge is how long verifiers may cache public keys: they change
// only at rotation, which publishes a new key well before it signs.
const publicKeyMaxAge = int(keys.JWKSMaxAge / time.Second)

func (a *api) jwks(w http.ResponseWriter, r *http.Request) {
	snap := a.keys.Snapshot()
	servePublic(w, r, "application/jwk-set+json", snap.JWKSETag, snap.JWKS)
}

func (a *api) publicPEM(w http.ResponseWriter, r *http.Request) {
	k, err := a.keys.Snapshot().Key(chi.URLParam(r, "kid"))
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	servePublic(w, r, "application/x-pem-file", k.PEMETag, k.PublicPEM)
}

// servePublic serves bytes prepared when the keys last changed. ServeContent
// answers If-None-Match with 304, and HEAD and Range requests, by itself.
func servePublic(w http.ResponseWriter, r *http.Request, contentType, etag string, body []byte) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Cache-Control", "public, max-age="+strconv.Itoa(publicKeyMaxAge))
	h.Set("ETag", etag)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
}
