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
)

// MaxBodyBytes is the largest request body accepted.
const MaxBodyBytes = 64 << 10

// decodeJSON reads one JSON object from r's body into dst. Unknown fields,
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
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(dst); err != nil {
		return jsonProblem(err)
	}
	if dec.More() {
		return newProblem(http.StatusBadRequest, "invalid-request", "Invalid JSON", "the body must hold exactly one JSON object")
	}
	return nil
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
