package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"unicode/utf8"

	"github.com/tokensvc/tokensvc/internal/keys"
)

// KeyImporter brings in a private key made elsewhere; *keys.Rotator is
// one. It is an optional side of KeyAdmin, asked for with a type
// assertion: the console shares KeyAdmin and does not import, so its
// KeyAdmins (the stand-ins of its tests too) need not grow the method.
// Without it POST /v1/keys/import answers 404.
type KeyImporter interface {
	// Import adds the RSA private key in pemData as the pending key; a
	// non-empty registeredBy records it as confirmed in the dashboard.
	Import(ctx context.Context, pemData []byte, registeredBy string) (keys.Record, error)
}

// importRequest is the body of POST /v1/keys/import.
type importRequest struct {
	// PEM is the private key, PKCS #1 or PKCS #8.
	PEM secretText `json:"pem"`
	// Registered says the key is in the MoEngage dashboard already, as a
	// confirmation at the import would.
	Registered bool `json:"registered"`
}

// importKey adds an existing private key as the pending key. The body is
// the private key: it is never logged (the access log logs no body), and
// the buffers that held it are cleared once it is sealed.
func (a *api) importKey(w http.ResponseWriter, r *http.Request) {
	importer, ok := a.keyAdmin.(KeyImporter)
	if !ok {
		a.notFound(w, r)
		return
	}
	var req importRequest
	defer func() { clear(req.PEM) }()
	if err := decodeSecretJSON(r, &req); err != nil {
		a.writeError(w, r, err)
		return
	}
	if len(req.PEM) == 0 {
		a.writeError(w, r, badField("pem", "pem is required: the RSA private key to import, in PEM (PKCS #1 or PKCS #8)"))
		return
	}
	by := ""
	if req.Registered {
		by = callerLabel(r)
	}
	rec, err := importer.Import(r.Context(), req.PEM, by)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.log.InfoContext(r.Context(), "signing key imported by operator", "kid", rec.KID, "by", callerID(r),
		"registered", rec.Registered(), "dashboard", keys.Dashboard(rec, a.now()))
	w.Header().Set("Location", Directions{}.PEMPath(rec.KID))
	writeJSON(w, http.StatusCreated, KeyView(rec, a.now()))
}

// secretText is a JSON string decoded into bytes the handler can clear,
// where a Go string would stay in memory, unchangeable, until collected.
type secretText []byte

// UnmarshalJSON takes a JSON string, which strictjson.Check has already
// found well formed, and refuses every other value as encoding/json
// refuses a wrong type.
func (s *secretText) UnmarshalJSON(b []byte) error {
	switch given := jsonKind(b); {
	case given == "null": // leaves it empty, as encoding/json does
		return nil
	case given != "string" || len(b) < 2:
		return &json.UnmarshalTypeError{Value: given, Type: reflect.TypeFor[string]()}
	}
	out := make([]byte, 0, len(b)-2)
	for i := 1; i < len(b)-1; i++ {
		c := b[i]
		if c != '\\' {
			out = append(out, c)
			continue
		}
		i++
		switch b[i] {
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'u':
			// A PEM is ASCII; anything else only has to stay wrong.
			var r rune
			for _, h := range b[i+1 : i+5] {
				r = r<<4 | rune(hexValue(h))
			}
			out = utf8.AppendRune(out, r)
			i += 4
		default: // " \ /
			out = append(out, b[i])
		}
	}
	*s = out
	return nil
}

// hexValue is the value of the hexadecimal digit h.
func hexValue(h byte) byte {
	switch {
	case h >= 'a':
		return h - 'a' + 10
	case h >= 'A':
		return h - 'A' + 10
	}
	return h - '0'
}
