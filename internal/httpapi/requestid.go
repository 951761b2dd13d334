package httpapi

import (
	"crypto/rand"
	"net/http"
)

// requestIDHeader carries a request's id: a caller's own, to find its
// request in the service log and its change in the audit log, or the one
// tokensvc made.
const requestIDHeader = "X-Request-Id"

// maxRequestIDLen bounds a caller's request id: logs and the audit log
// store it.
const maxRequestIDLen = 128

// requestID is the id of r: the caller's X-Request-Id when it is sane, so
// that a proxy's or a tracer's id follows the request, and a new one
// otherwise.
func requestID(r *http.Request) string {
	if id := r.Header.Get(requestIDHeader); saneRequestID(id) {
		return id
	}
	return newRequestID()
}

// saneRequestID admits ids of letters, digits and -_.:/+= only, as request
// ids of proxies and tracing systems are: nothing that would need escaping
// in a log line or a terminal.
func saneRequestID(id string) bool {
	if id == "" || len(id) > maxRequestIDLen {
		return false
	}
	for _, c := range []byte(id) {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '-' || c == '_' || c == '.' || c == ':' || c == '/' || c == '+' || c == '=':
		default:
			return false
		}
	}
	return true
}

// newRequestID returns "req_" and 26 random base32 characters (130 bits),
// as "req_"+rand.Text() would, in the one allocation of the string: every
// request without an id of its own, mints included, gets one.
func newRequestID() string {
	const prefix, alphabet = "req_", "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	var b [len(prefix) + 26]byte
	copy(b[:], prefix)
	rand.Read(b[len(prefix):])
	for i := len(prefix); i < len(b); i++ {
		b[i] = alphabet[b[i]%32]
	}
	return string(b[:])
}
