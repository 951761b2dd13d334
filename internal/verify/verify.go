// Package verify checks a token the way MoEngage (or Braze) will, and says
// what they would answer and what to fix. It is written against the JWS
// format and crypto/rsa directly, independently of the library tokensvc
// signs with, so that it can catch that library's mistakes too.
package verify

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/tokensvc/tokensvc/internal/profile"
	"github.com/tokensvc/tokensvc/internal/strictjson"
)

// MoEngage's error codes for SDK JWT authentication.
const (
	CodeValid                  = "VALID"
	CodeDecryptionFailed       = "DECRYPTION_FAILED"
	CodeHeaderTypeIncompatible = "HEADER_TYPE_INCOMPATIBLE"
	CodeInvalidSignature       = "INVALID_SIGNATURE"
	CodePayloadContentMissing  = "PAYLOAD_CONTENT_MISSING"
	CodeTimeConstraintFailure  = "TIME_CONSTRAINT_FAILURE"
	CodeIdentifierMismatch     = "IDENTIFIER_MISMATCH"
	// CodeUnknown is a failure MoEngage did not classify. Verify never
	// returns it (each failure it finds has a class), but an app can
	// report it, so the troubleshooting table (AdviceFor) covers it.
	CodeUnknown = "UNKNOWN"
)

// Braze's SDK Authentication error codes, by name; BrazeNumber gives the
// number Braze reports with each.
const (
	CodeBrazeExpirationRequired = "EXPIRATION_REQUIRED"
	CodeBrazeDecodingError      = "DECODING_ERROR"
	CodeBrazeSubjectMismatch    = "SUBJECT_MISMATCH"
	CodeBrazeExpired            = "EXPIRED"
	CodeBrazeInvalidPayload     = "INVALID_PAYLOAD"
	CodeBrazeIncorrectAlgorithm = "INCORRECT_ALGORITHM"
	CodeBrazeMissingToken       = "MISSING_TOKEN"
	CodeBrazeNoMatchingKeys     = "NO_MATCHING_PUBLIC_KEYS"
)

// brazeNumbers maps Braze's error code names to the numbers its SDK reports.
var brazeNumbers = map[string]int{
	CodeBrazeExpirationRequired: 10, CodeBrazeDecodingError: 20, CodeBrazeSubjectMismatch: 21,
	CodeBrazeExpired: 22, CodeBrazeInvalidPayload: 23, CodeBrazeIncorrectAlgorithm: 24,
	CodeBrazeMissingToken: 26, CodeBrazeNoMatchingKeys: 27,
}

// Key is a registered public key; Name says where it came from (a kid, a
// file) so that messages can point at it.
type Key struct {
	Name string
	Key  *rsa.PublicKey
}

// Verifier checks tokens against registered keys under one profile's rules.
type Verifier struct {
	Keys       []Key
	Profile    profile.Profile
	SubjectKey string        // MoEngage's User ID key, e.g. "uid"
	Leeway     time.Duration // allowed clock skew on exp, nbf and iat
	Now        func() time.Time
}

// Result is the verdict on one token.
type Result struct {
	Valid bool `json:"valid"`
	// Code is the vendor's error code, or VALID.
	Code string `json:"code"`
	// Message says what is wrong and what to fix.
	Message string `json:"message"`
	// Header and Claims are the token's header and payload, each when it
	// decodes as one JSON object, whatever the verdict: a refused token's
	// are shown, unverified, to help find what is wrong with it. So are
	// KID and ExpiresAt, which are read from them.
	Header map[string]any `json:"header,omitempty"`
	Claims map[string]any `json:"claims,omitempty"`
	// KID is the kid in the header.
	KID string `json:"kid,omitempty"`
	// Key names the registered key that verified the signature.
	Key string `json:"key,omitempty"`
	// ExpiresAt is the payload's exp when it is a NumericDate.
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
}

// verdict is a failed check: the profile-neutral reason, turned into the
// vendor's code by the profile's table.
type verdict struct {
	reason  reason
	message string
}

type reason int

const (
	reasonMissing reason = iota
	reasonMalformed
	reasonHeader
	reasonSignature
	reasonPayload
	reasonNoExpiry
	reasonTime
	reasonIdentifier
)

var moengageCodes = map[reason]string{
	reasonMissing: CodeDecryptionFailed, reasonMalformed: CodeDecryptionFailed, reasonHeader: CodeHeaderTypeIncompatible,
	reasonSignature: CodeInvalidSignature, reasonPayload: CodePayloadContentMissing, reasonNoExpiry: CodePayloadContentMissing,
	reasonTime: CodeTimeConstraintFailure, reasonIdentifier: CodeIdentifierMismatch,
}

var brazeCodes = map[reason]string{
	reasonMissing: CodeBrazeMissingToken, reasonMalformed: CodeBrazeDecodingError, reasonHeader: CodeBrazeIncorrectAlgorithm,
	reasonSignature: CodeBrazeNoMatchingKeys, reasonPayload: CodeBrazeInvalidPayload, reasonNoExpiry: CodeBrazeExpirationRequired,
	reasonTime: CodeBrazeExpired, reasonIdentifier: CodeBrazeSubjectMismatch,
}

// Verify checks token; userID, if not empty, is the user the app says is
// logged in, which the token's subject must name.
func (v *Verifier) Verify(token, userID string) Result {
	var res Result
	if fail := v.check(token, userID, &res); fail != nil {
		codes := moengageCodes
		if v.Profile == profile.Braze {
			codes = brazeCodes
		}
		res.Code = codes[fail.reason]
		res.Message = fail.message
		if n, ok := brazeNumbers[res.Code]; ok && v.Profile == profile.Braze {
			res.Message += fmt.Sprintf(" (Braze error %d)", n)
		}
		return res
	}
	res.Valid, res.Code = true, CodeValid
	res.Message = fmt.Sprintf("the token is valid: signed by %s, expires %s", res.Key, res.ExpiresAt.Format(time.RFC3339))
	return res
}

func (v *Verifier) check(token, userID string, res *Result) *verdict {
	if token == "" {
		return &verdict{reasonMissing, "no token was given"}
	}
	parts := strings.Split(token, ".")
	header, headerErr := decodeObject(parts[0])
	var claims map[string]any
	var claimsErr error
	if len(parts) > 1 {
		claims, claimsErr = decodeObject(parts[1])
	}
	res.show(header, claims)
	// MoEngage gets the token as the app sends it and does not trim it.
	if strings.ContainsFunc(token, unicode.IsSpace) {
		return &verdict{reasonMalformed, "the token holds spaces or line breaks: pass the token field of the mint response as it is, with nothing around it"}
	}
	if len(parts) != 3 {
		return &verdict{reasonMalformed, fmt.Sprintf("a JWT has three base64url parts separated by dots; this has %d", len(parts))}
	}
	if headerErr != nil {
		return &verdict{reasonMalformed, "the header " + headerErr.Error()}
	}
	if claimsErr != nil {
		return &verdict{reasonMalformed, "the payload " + claimsErr.Error()}
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return &verdict{reasonMalformed, "the signature is not base64url without padding"}
	}

	hash, fail := v.checkHeader(header)
	if fail != nil {
		return fail
	}
	if fail := v.checkSignature(parts[0]+"."+parts[1], sig, hash, res); fail != nil {
		return fail
	}
	subject, fail := v.checkSubject(claims)
	if fail != nil {
		return fail
	}
	if fail := v.checkTimes(claims); fail != nil {
		return fail
	}
	if userID != "" && subject != userID {
		return &verdict{reasonIdentifier, fmt.Sprintf("the token is for user %q but the app's user is %q: mint a token for the logged-in user", subject, userID)}
	}
	return nil
}

// show puts in res what the token's first two parts hold, whichever of
// them decoded (nil for one that did not), before any check: a person
// inspecting a refused token sees its header when only its payload is
// broken, and its claims and expiry when its signature is. It is the
// token's word, not a verified fact; the verdict comes from the checks.
func (res *Result) show(header, claims map[string]any) {
	res.Header, res.Claims = header, claims
	res.KID, _ = header["kid"].(string)
	if exp, _, ok := numericDate(claims, "exp"); ok {
		res.ExpiresAt = &exp
	}
}

func (v *Verifier) checkHeader(header map[string]any) (crypto.Hash, *verdict) {
	accepted := map[string]crypto.Hash{"RS256": crypto.SHA256, "RS512": crypto.SHA512}
	if v.Profile == profile.Braze {
		delete(accepted, "RS512")
	}
	alg, _ := header["alg"].(string)
	hash, ok := accepted[alg]
	if !ok {
		want := "RS256 or RS512"
		if v.Profile == profile.Braze {
			want = "RS256"
		}
		return 0, &verdict{reasonHeader, fmt.Sprintf("header alg is %q; only %s is accepted: sign with an RSA key", alg, want)}
	}
	switch typ, present := header["typ"]; {
	case !present:
		return 0, &verdict{reasonHeader, `the header has no typ; it must be "JWT"`}
	case typ != "JWT":
		is := jsonType(typ)
		if s, ok := typ.(string); ok {
			is = strconv.Quote(s)
		}
		return 0, &verdict{reasonHeader, fmt.Sprintf(`header typ is %s; it must be "JWT"`, is)}
	}
	if fail := checkExtensions(header); fail != nil {
		return 0, fail
	}
	return hash, nil
}

// checkExtensions refuses the header parameters that change how a token
// must be verified: this verifier implements no extension, and RFC 7515
// requires refusing a token whose crit names one the verifier does not
// implement; b64:false (RFC 7797) means the payload was signed unencoded.
func checkExtensions(header map[string]any) *verdict {
	if b64, present := header["b64"]; present && b64 != true {
		return &verdict{reasonHeader, fmt.Sprintf("header b64 is %s: an unencoded payload (RFC 7797) is not accepted; mint without b64", jsonType(b64))}
	}
	crit, present := header["crit"]
	if !present {
		return nil
	}
	names, _ := crit.([]any)
	quoted := make([]string, 0, len(names))
	for _, n := range names {
		s, ok := n.(string)
		if !ok {
			names = nil
			break
		}
		quoted = append(quoted, strconv.Quote(s))
	}
	if len(names) == 0 {
		return &verdict{reasonHeader, fmt.Sprintf("header crit is %s; RFC 7515 allows only a non-empty list of header names, and this verifier implements none: mint without crit", jsonType(crit))}
	}
	return &verdict{reasonHeader, fmt.Sprintf("header crit requires the extensions %s, which this verifier does not implement, so it must refuse the token (RFC 7515): mint without crit", strings.Join(quoted, ", "))}
}

func (v *Verifier) checkSignature(signingInput string, sig []byte, hash crypto.Hash, res *Result) *verdict {
	var digest []byte
	if hash == crypto.SHA512 {
		sum := sha512.Sum512([]byte(signingInput))
		digest = sum[:]
	} else {
		sum := sha256.Sum256([]byte(signingInput))
		digest = sum[:]
	}
	for _, k := range v.Keys {
		if rsa.VerifyPKCS1v15(k.Key, hash, digest, sig) == nil {
			res.Key = k.Name
			return nil
		}
	}
	msg := fmt.Sprintf("the signature does not verify against any of the %d registered public keys", len(v.Keys))
	if res.KID != "" {
		msg += fmt.Sprintf(": register the PEM of key %s (tokensvc keys pem %s), or the token was altered", res.KID, res.KID)
	}
	return &verdict{reasonSignature, msg}
}

// checkSubject returns the user the token is for.
func (v *Verifier) checkSubject(claims map[string]any) (string, *verdict) {
	sub, present := claims["sub"]
	if !present {
		return "", &verdict{reasonPayload, "the payload has no sub: it must name the user"}
	}
	if v.Profile == profile.Braze {
		s, ok := sub.(string)
		if !ok || s == "" {
			return "", &verdict{reasonPayload, "sub must be the user id as a non-empty string"}
		}
		return s, nil
	}
	obj, ok := sub.(map[string]any)
	if !ok {
		return "", &verdict{reasonPayload, fmt.Sprintf(`sub must be an object {"key": %q, "value": "<user id>"}, not %s (is TOKENSVC_PROFILE braze?)`, v.SubjectKey, jsonType(sub))}
	}
	key, _ := obj["key"].(string)
	value, _ := obj["value"].(string)
	switch {
	case key == "" || value == "":
		return "", &verdict{reasonPayload, fmt.Sprintf(`sub must have a string "key" (%q) and a non-empty string "value" (the user id)`, v.SubjectKey)}
	case key != v.SubjectKey:
		return "", &verdict{reasonIdentifier, fmt.Sprintf("sub.key is %q but MoEngage identifies users by %q: set TOKENSVC_SUBJECT_KEY to the dashboard's User ID key", key, v.SubjectKey)}
	}
	return value, nil
}

func (v *Verifier) checkTimes(claims map[string]any) *verdict {
	now := v.Now()
	exp, present, ok := numericDate(claims, "exp")
	switch {
	case !present:
		return &verdict{reasonNoExpiry, "the payload has no exp: every token must expire"}
	case !ok:
		return &verdict{reasonPayload, "exp must be a NumericDate: seconds since 1970 as a number"}
	}
	if !now.Before(exp.Add(v.Leeway)) {
		return &verdict{reasonTime, fmt.Sprintf("the token expired at %s (now %s, leeway %s): fetch a new one", exp.Format(time.RFC3339), now.UTC().Format(time.RFC3339), v.Leeway)}
	}
	for _, name := range []string{"nbf", "iat"} {
		t, present, ok := numericDate(claims, name)
		if present && !ok {
			return &verdict{reasonPayload, name + " must be a NumericDate: seconds since 1970 as a number"}
		}
		if present && t.After(now.Add(v.Leeway)) {
			return &verdict{reasonTime, fmt.Sprintf("%s is %s, in the future (now %s): check the clock of the server that minted it", name, t.Format(time.RFC3339), now.UTC().Format(time.RFC3339))}
		}
	}
	return nil
}

func numericDate(claims map[string]any, name string) (t time.Time, present, ok bool) {
	raw, present := claims[name]
	if !present {
		return time.Time{}, false, false
	}
	n, ok := raw.(json.Number)
	if !ok {
		return time.Time{}, true, false
	}
	f, err := n.Float64()
	if err != nil || math.IsInf(f, 0) || f < 0 || f > 1e11 {
		return time.Time{}, true, false
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC(), true, true
}

// decodeObject decodes one base64url segment holding a JSON object. What
// parsers read differently (a key twice, data after the object, an
// escaped lone surrogate) is refused: the verdict would not be MoEngage's.
func decodeObject(segment string) (map[string]any, error) {
	b, err := base64.RawURLEncoding.DecodeString(segment)
	if err != nil {
		return nil, errors.New("is not base64url without padding")
	}
	if err := strictjson.Check(b, strictjson.Options{}); err != nil {
		return nil, fmt.Errorf("is not one JSON object that reads one way: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil || m == nil {
		return nil, errors.New("is not a JSON object")
	}
	return m, nil
}

// jsonType names the JSON type of a decoded value, with its article.
func jsonType(v any) string {
	switch v := v.(type) {
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return strconv.FormatBool(v)
	case []any:
		return "an array"
	case nil:
		return "null"
	}
	return "an object"
}
