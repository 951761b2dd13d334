package httpapi

import (
	"net/http"
	"strconv"
	"sync"
	"time"
)

// mintBuffers hold the mint answer while it is written: one per request in
// flight, reused, instead of an encoder and its state per mint.
var mintBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// writeMint answers a mint with resp, marked not to be stored, byte for
// byte as writeJSON would but without reflection: the answer is a mint's
// whole body, and encoding/json spent more time on it than the rest of the
// handler chain together.
// Strings that would need escaping (none do: tokens, kids and algorithm
// names are base64url and letters) and times encoding/json refuses go the
// general way.
func writeMint(w http.ResponseWriter, resp mintResponse) {
	y := resp.ExpiresAt.Year()
	if !plainJSON(resp.Token) || !plainJSON(resp.TokenType) || !plainJSON(resp.KID) || !plainJSON(resp.Alg) || y < 0 || y > 9999 {
		w.Header()["Cache-Control"] = noStoreValue
		writeJSON(w, http.StatusOK, resp)
		return
	}
	bp := mintBuffers.Get().(*[]byte)
	b := append((*bp)[:0], `{"token":"`...)
	b = append(b, resp.Token...)
	b = append(b, `","token_type":"`...)
	b = append(b, resp.TokenType...)
	b = append(b, `","kid":"`...)
	b = append(b, resp.KID...)
	b = append(b, `","alg":"`...)
	b = append(b, resp.Alg...)
	b = append(b, `","expires_at":"`...)
	b = resp.ExpiresAt.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","expires_in":`...)
	b = strconv.AppendInt(b, resp.ExpiresIn, 10)
	b = append(b, "}\n"...)
	h := w.Header()
	h["Content-Type"] = jsonContentTypeValue
	h["Cache-Control"] = noStoreValue
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
	*bp = b
	if cap(b) <= 16<<10 {
		mintBuffers.Put(bp)
	}
}

// The values of the mint answer's headers, shared by every answer: Header.Set
// would make a slice per response. net/http only reads them, and Add
// appends to a full slice, which copies it.
var (
	jsonContentTypeValue = []string{"application/json"}
	noStoreValue         = []string{"no-store"}
)

// plainJSON reports whether encoding/json writes s between quotes as it
// is: printable ASCII without the characters it escapes.
func plainJSON(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20 || c > 0x7e, c == '"', c == '\\', c == '<', c == '>', c == '&':
			return false
		}
	}
	return true
}
