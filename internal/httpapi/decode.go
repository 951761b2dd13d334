package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"unicode/utf8"
)

// MaxBodyBytes is the largest request body accepted.
const MaxBodyBytes = 64 << 10

// maxJSONDepth is the deepest nesting of objects and arrays accepted. No
// request needs more than a few levels; encoding/json alone would go to
// 10,000, recursing all the way.
const maxJSONDepth = 32

// decodeJSON reads one JSON object from r's body into dst. Unknown fields,
// repeated keys, nesting deeper than maxJSONDepth, bytes that are not UTF-8,
// trailing data, a body over MaxBodyBytes and a non-JSON Content-Type are
// refused, each with the problem that says which.
func decodeJSON(r *http.Request, dst any) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return newProblem(http.StatusUnsupportedMediaType, "unsupported-media-type", "Unsupported media type",
			"send the body as JSON with the header Content-Type: application/json")
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return newProblem(http.StatusRequestEntityTooLarge, "body-too-large", "Body too large",
				fmt.Sprintf("the request body must be at most %d bytes", MaxBodyBytes))
		}
		return newProblem(http.StatusBadRequest, "invalid-request", "Unreadable body", "the request body could not be read")
	}
	// encoding/json would turn invalid UTF-8 into U+FFFD: two different
	// byte strings would then name one user.
	if !utf8.Valid(body) {
		return newProblem(http.StatusBadRequest, "invalid-request", "Invalid JSON", "the request body is not valid UTF-8")
	}
	if err := checkShape(body); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(dst); err != nil {
		return jsonProblem(err)
	}
	// Anything but white space after the object is refused; dec.More
	// would let a stray closing bracket through.
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return newProblem(http.StatusBadRequest, "invalid-request", "Invalid JSON", "the body must hold exactly one JSON object")
	}
	return nil
}

// checkShape refuses what encoding/json would accept without a word: a key
// given twice in one object, where the last would win (so a proxy that
// reads the first and tokensvc would disagree on whose token it is), and
// nesting deeper than maxJSONDepth. Field names of the request itself are
// matched case-insensitively by encoding/json, so at the top level "user_id"
// and "USER_ID" are the same key too. Syntax errors are left to the
// decoder, which reports them with their position.
func checkShape(body []byte) error {
	type container struct {
		object    bool
		expectKey bool
		keys      map[string]struct{}
	}
	var open []container
	// valueDone marks the end of a value inside the innermost container:
	// in an object, a key comes next.
	valueDone := func() {
		if n := len(open); n > 0 && open[n-1].object {
			open[n-1].expectKey = true
		}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil // io.EOF, or a syntax error the decoder will report
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{', '[':
				if len(open) == maxJSONDepth {
					return newProblem(http.StatusBadRequest, "invalid-request", "Invalid JSON",
						fmt.Sprintf("the request body nests objects and arrays more than %d deep", maxJSONDepth))
				}
				open = append(open, container{object: t == '{', expectKey: t == '{'})
			default:
				open = open[:len(open)-1]
				valueDone()
			}
		case string:
			top := len(open) - 1
			if top < 0 || !open[top].expectKey {
				valueDone()
				continue
			}
			key := t
			if top == 0 {
				key = strings.ToLower(key)
			}
			if _, dup := open[top].keys[key]; dup {
				return badField(t, fmt.Sprintf("%q is given more than once", t))
			}
			if open[top].keys == nil {
				open[top].keys = map[string]struct{}{}
			}
			open[top].keys[key] = struct{}{}
			open[top].expectKey = false
		default:
			valueDone()
		}
	}
}

// jsonProblem turns a decoding error into a problem that names the field at
// fault when there is one.
func jsonProblem(err error) *problem {
	var (
		syntax *json.SyntaxError
		typ    *json.UnmarshalTypeError
	)
	switch {
	case errors.Is(err, io.EOF):
		return newProblem(http.StatusBadRequest, "invalid-request", "Invalid JSON", "the request body is empty; send a JSON object")
	case errors.As(err, &syntax), errors.Is(err, io.ErrUnexpectedEOF):
		return newProblem(http.StatusBadRequest, "invalid-request", "Invalid JSON", "the request body is not valid JSON: "+err.Error())
	case errors.As(err, &typ):
		if typ.Field == "" {
			return newProblem(http.StatusBadRequest, "invalid-request", "Invalid JSON", "the request body must be a JSON object")
		}
		return badField(typ.Field, fmt.Sprintf("%s must be %s, not %s", typ.Field, jsonKind(typ.Type.Kind().String()), typ.Value))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return badField(name, fmt.Sprintf("unknown field %q", name))
	default:
		return newProblem(http.StatusBadRequest, "invalid-request", "Invalid JSON", err.Error())
	}
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "int", "int64", "int32", "uint", "uint64", "float64":
		return "a number"
	case "map", "struct":
		return "an object"
	case "bool":
		return "a boolean"
	case "slice", "array":
		return "an array"
	}
	return goKind
}
