package httpapi

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"

	"github.com/tokensvc/tokensvc/internal/strictjson"
)

// MaxBodyBytes is the largest request body accepted.
const MaxBodyBytes = 64 << 10

// maxJSONDepth is the deepest nesting of objects and arrays accepted. No
// request needs more than a few levels; encoding/json alone would go to
// 10,000, recursing all the way.
const maxJSONDepth = 32

// decodeJSON reads one JSON object from r's body into dst. Unknown fields,
// values of the wrong type, repeated keys (top-level ones compared as
// encoding/json matches fields, by folding case), escaped lone surrogates,
// nesting deeper than maxJSONDepth, bytes that are not UTF-8, trailing data,
// a body over MaxBodyBytes and a non-JSON Content-Type are refused, each
// with the problem that says which.
func decodeJSON(r *http.Request, dst any) error { return readJSON(r, dst, false) }

// decodeSecretJSON is decodeJSON for a body that holds a secret (a private
// key): the buffer it was read into is cleared before it serves another
// request. What dst decodes the secret into is the caller's to clear.
func decodeSecretJSON(r *http.Request, dst any) error { return readJSON(r, dst, true) }

func readJSON(r *http.Request, dst any, secret bool) error {
	if !jsonContentType(r.Header.Get("Content-Type")) {
		return newProblem(http.StatusUnsupportedMediaType, "unsupported-media-type", "Unsupported media type",
			"send the body as JSON with the header Content-Type: application/json")
	}
	bp := bodyBuffers.Get().(*[]byte)
	defer func() {
		if secret {
			clear((*bp)[:cap(*bp)])
		}
		putBodyBuffer(bp)
	}()
	buf := (*bp)[:0]
	if secret && r.ContentLength > 0 && r.ContentLength <= MaxBodyBytes {
		// Room for the whole body at once: a buffer grown while reading
		// would leave a copy of the secret's start behind, uncleared.
		buf = slices.Grow(buf, int(r.ContentLength)+1)
	}
	body, err := readBody(r.Body, buf)
	*bp = body
	if err != nil {
		if errors.Is(err, errBodyTooLarge) {
			return newProblem(http.StatusRequestEntityTooLarge, "body-too-large", "Body too large",
				fmt.Sprintf("the request body must be at most %d bytes", MaxBodyBytes))
		}
		return newProblem(http.StatusBadRequest, "invalid-request", "Unreadable body", "the request body could not be read")
	}
	// What reads two ways is refused before encoding/json reads it once.
	// Request fields are matched by folding case, so at the top level
	// "user_id", "USER_ID" and "uſer_id" are one key.
	if err := strictjson.Check(body, strictjson.Options{MaxDepth: maxJSONDepth, FoldTopLevelKeys: true}); err != nil {
		return strictProblem(err)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(dst); err != nil {
		return jsonProblem(err)
	}
	return nil
}

// jsonContentType reports whether a Content-Type names JSON. The header
// every client sends is compared first: parsing it allocates the map of
// its parameters on every request.
func jsonContentType(ct string) bool {
	if ct == "application/json" {
		return true
	}
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && mt == "application/json"
}

// bodyBuffers hold request bodies while they are checked and decoded:
// what is decoded is copied out of them, so one serves request after
// request.
var bodyBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// putBodyBuffer returns a buffer to the pool unless a big body grew it.
func putBodyBuffer(bp *[]byte) {
	if cap(*bp) <= 16<<10 {
		bodyBuffers.Put(bp)
	}
}

var errBodyTooLarge = errors.New("request body too large")

// readBody appends body to buf, as io.ReadAll over http.MaxBytesReader
// would without their allocations: it reads at most MaxBodyBytes+1 bytes
// and refuses the body with errBodyTooLarge if there were more than
// MaxBodyBytes.
func readBody(body io.Reader, buf []byte) ([]byte, error) {
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		room := min(cap(buf), MaxBodyBytes+1)
		n, err := body.Read(buf[len(buf):room])
		buf = buf[:len(buf)+n]
		switch {
		case len(buf) > MaxBodyBytes:
			return buf, errBodyTooLarge
		case err == io.EOF:
			return buf, nil
		case err != nil:
			return buf, err
		}
	}
}

// decodeOptionalJSON is decodeJSON for a body the client may leave out:
// with no body at all, dst is left as it is.
func decodeOptionalJSON(r *http.Request, dst any) error {
	body := bufio.NewReader(r.Body)
	if _, err := body.Peek(1); errors.Is(err, io.EOF) {
		return nil
	}
	r.Body = struct {
		io.Reader
		io.Closer
	}{body, r.Body}
	return decodeJSON(r, dst)
}

// strictProblem says what strictjson.Check refused, in the request's terms.
func strictProblem(err error) *problem {
	invalid := func(detail string) *problem {
		return newProblem(http.StatusBadRequest, "invalid-request", "Invalid JSON", detail)
	}
	var e *strictjson.Error
	if !errors.As(err, &e) {
		return invalid("the request body is not valid JSON: " + err.Error())
	}
	switch e.Kind {
	case strictjson.Empty:
		return invalid("the request body is empty; send a JSON object")
	case strictjson.InvalidUTF8:
		// encoding/json would turn it into U+FFFD: two different byte
		// strings would then name one user.
		return invalid("the request body is not valid UTF-8: " + err.Error())
	case strictjson.DuplicateKey:
		// The last would win, so a proxy that reads the first and tokensvc
		// would disagree on whose token it is.
		return badField(e.Key, err.Error())
	case strictjson.TooDeep:
		return invalid(fmt.Sprintf("the request body nests objects and arrays more than %d deep", maxJSONDepth))
	case strictjson.TrailingData:
		return invalid("the body must hold exactly one JSON object, with nothing after it: " + err.Error())
	case strictjson.LoneSurrogate:
		// encoding/json would read every lone surrogate as U+FFFD, so
		// "u\ud800" and "u\udfff" would be one user.
		return invalid("the request body has an invalid string: " + err.Error())
	}
	return invalid("the request body is not valid JSON: " + err.Error())
}

// jsonProblem turns an error of encoding/json on a body strictjson.Check
// passed (so valid JSON) into a problem that names the field at fault.
func jsonProblem(err error) *problem {
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &typ):
		if typ.Field == "" {
			return newProblem(http.StatusBadRequest, "invalid-request", "Invalid JSON", "the request body must be a JSON object")
		}
		return badField(typ.Field, fmt.Sprintf("%s must be %s, not %s", typ.Field, expectedKind(typ.Type), givenKind(typ.Value)))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return badField(name, fmt.Sprintf("unknown field %q", name))
	default:
		return newProblem(http.StatusBadRequest, "invalid-request", "Invalid JSON", err.Error())
	}
}

// expectedKind names the JSON type that decodes into t.
func expectedKind(t reflect.Type) string {
	if t == reflect.TypeFor[number]() {
		return "a number"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice, reflect.Array:
		return "an array"
	}
	return t.String()
}

// givenKind names the JSON type that encoding/json's UnmarshalTypeError
// reports as value ("string", "bool", "number 1.5", ...).
func givenKind(value string) string {
	switch kind, _, _ := strings.Cut(value, " "); kind {
	case "string":
		return "a string"
	case "number":
		return "a number"
	case "bool":
		return "a boolean"
	case "object":
		return "an object"
	case "array":
		return "an array"
	}
	return value
}

// number is a JSON number kept as its text, like json.Number, but only a
// number: json.Number also takes a string that holds one, so "60" would
// pass for 60.
type number string

// UnmarshalJSON takes a number literal and refuses every other JSON value
// with the *json.UnmarshalTypeError encoding/json gives for a wrong type.
func (n *number) UnmarshalJSON(b []byte) error {
	switch given := jsonKind(b); given {
	case "number":
		*n = number(b)
		return nil
	case "null": // leaves the value as it is, as encoding/json does
		return nil
	case "":
		given = "string"
		fallthrough
	default:
		return &json.UnmarshalTypeError{Value: given, Type: reflect.TypeFor[number]()}
	}
}

// jsonKind names the JSON type of b, a value strictjson.Check has found
// well formed, by its first byte, in the words of encoding/json's type
// errors: "string", "number", "bool", "object", "array", "null"; "" when b
// is empty.
func jsonKind(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	switch b[0] {
	case '"':
		return "string"
	case 't', 'f':
		return "bool"
	case '{':
		return "object"
	case '[':
		return "array"
	case 'n':
		return "null"
	}
	return "number"
}

// Int64 is the number as an int64, if it is a whole one in range.
func (n number) Int64() (int64, error) { return json.Number(n).Int64() }
