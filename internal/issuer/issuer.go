// Package issuer turns a user id into a signed JWT that the vendor's servers
// accept: it builds the claims of the configured profile and signs them with
// the active key.
package issuer

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/sync/singleflight"

	"github.com/tokensvc/tokensvc/internal/keys"
	"github.com/tokensvc/tokensvc/internal/profile"
)

// MaxUserIDLen is the longest user id accepted, in characters.
const MaxUserIDLen = 256

// reserved claims are set by the issuer alone: letting a caller set them
// would let it forge who or when a token is for. They are compared with
// simple case folding, as encoding/json matches struct fields: a verifier
// built on it reads "EXP" or "ſub" (long s) written after the real claims
// as exp or sub, the last one winning.
var reserved = [...]string{"sub", "exp", "iat", "nbf", "iss", "aud", "jti"}

// reservedAs returns the reserved claim that name folds to, if any.
func reservedAs(name string) (string, bool) {
	for _, r := range reserved {
		if strings.EqualFold(name, r) {
			return r, true
		}
	}
	return "", false
}

// Source gives the key to sign with.
type Source interface {
	Active() (*keys.Key, error)
}

// Settings fixes what every token carries.
type Settings struct {
	Profile    profile.Profile
	SubjectKey string // the key of MoEngage's sub object, e.g. "uid"
	Issuer     string // iss; empty: none
	Audience   string // aud; empty: none
	DefaultTTL time.Duration
	MaxTTL     time.Duration
	// MaxInFlight caps the signatures being made or waiting for a core at
	// once; beyond it Issue fails fast with ErrOverloaded, so overload
	// sheds load instead of queueing without bound. Zero: no cap.
	MaxInFlight int
}

// ErrOverloaded is returned when MaxInFlight signatures are under way.
var ErrOverloaded = errors.New("too many signatures in flight")

// Issuer mints tokens. It is safe for concurrent use.
type Issuer struct {
	keys     Source
	now      func() time.Time
	settings Settings
	// observeSign receives the duration of each signature, for metrics.
	observeSign func(time.Duration)
	// identical lets concurrent identical requests share one signature:
	// a signature is the whole cost of a mint, and a retry storm from one
	// user's devices would otherwise multiply it.
	identical singleflight.Group
	// inFlight holds a token per signature under way; nil: no cap.
	inFlight chan struct{}
	// header is the encoded JWS header of the key that signed last.
	header atomic.Pointer[signingHeader]
}

// New returns an Issuer signing with keys from src at the time now gives.
// observeSign, if not nil, is called with how long each signature took.
func New(src Source, now func() time.Time, s Settings, observeSign func(time.Duration)) *Issuer {
	if observeSign == nil {
		observeSign = func(time.Duration) {}
	}
	i := &Issuer{keys: src, now: now, settings: s, observeSign: observeSign}
	if s.MaxInFlight > 0 {
		i.inFlight = make(chan struct{}, s.MaxInFlight)
	}
	return i
}

// Request asks for a token.
type Request struct {
	UserID string
	TTL    time.Duration  // zero: the default
	Claims map[string]any // extra claims; may not use reserved names
}

// Token is a signed token and what a caller needs to know about it.
type Token struct {
	Token     string
	KID       string
	Alg       string
	IssuedAt  time.Time
	ExpiresAt time.Time
}

// FieldError says which field of a Request is wrong and why.
type FieldError struct {
	Field  string // the field's JSON name in the HTTP API
	Reason string
}

func (e *FieldError) Error() string { return e.Field + " " + e.Reason }

// Issue validates req and returns a token signed with the active key.
// Requests identical to one being signed at that moment get its token.
func (i *Issuer) Issue(req Request) (Token, error) {
	if err := i.validate(&req); err != nil {
		return Token{}, err
	}
	id, err := identity(req)
	if err != nil {
		return Token{}, err
	}
	tok, err, _ := i.identical.Do(id, func() (any, error) {
		if i.inFlight != nil {
			select {
			case i.inFlight <- struct{}{}:
				defer func() { <-i.inFlight }()
			default:
				return Token{}, ErrOverloaded
			}
		}
		return i.sign(req)
	})
	if err != nil {
		return Token{}, err
	}
	return tok.(Token), nil
}

// identity is what makes two requests identical: user, lifetime and claims.
func identity(req Request) (string, error) {
	// Built in one buffer: the common case, no claims, is one allocation.
	var buf [128]byte
	b := append(append(buf[:0], req.UserID...), 0)
	b = strconv.AppendInt(b, int64(req.TTL), 10)
	if len(req.Claims) == 0 {
		return string(b), nil
	}
	id := string(b)
	// encoding/json sorts map keys, so equal claims encode equally.
	claims, err := json.Marshal(req.Claims)
	if err != nil {
		return "", &FieldError{"claims", fmt.Sprintf("cannot be encoded as JSON: %v", err)}
	}
	return id + "\x00" + string(claims), nil
}

// sign builds and signs the token for a validated request. The header
// comes encoded from the key's cache; payload and token are written into
// pooled buffers, so the only allocations left are the signature's own and
// the token's string.
func (i *Issuer) sign(req Request) (Token, error) {
	key, err := i.keys.Active()
	if err != nil {
		return Token{}, fmt.Errorf("issue token: %w", err)
	}
	if key.Signer == nil {
		return Token{}, fmt.Errorf("issue token: key %s has no private half to sign with", key.KID)
	}
	hdr, err := i.headerFor(key)
	if err != nil {
		return Token{}, fmt.Errorf("issue token: %w", err)
	}
	// NumericDate has whole seconds; truncating first makes expires_at in
	// the response match exp in the token exactly.
	now := i.now().UTC().Truncate(time.Second)
	exp := now.Add(req.TTL)
	s := scratches.Get().(*scratch)
	defer putScratch(s)
	if s.payload, err = i.appendPayload(s.payload[:0], req, now, exp); err != nil {
		return Token{}, fmt.Errorf("issue token: %w", err)
	}
	tok := append(s.token[:0], hdr.prefix...)
	tok = b64.AppendEncode(tok, s.payload)
	start := time.Now()
	sig, err := signInput(key.Signer, hdr.hash, tok, &s.digest)
	i.observeSign(time.Since(start))
	if err != nil {
		return Token{}, fmt.Errorf("issue token: sign with %s: %w", key.KID, err)
	}
	tok = append(tok, '.')
	tok = b64.AppendEncode(tok, sig)
	s.token = tok
	return Token{
		Token:     string(tok),
		KID:       key.KID,
		Alg:       key.Alg.String(),
		IssuedAt:  now,
		ExpiresAt: exp,
	}, nil
}

func (i *Issuer) validate(req *Request) error {
	switch id := req.UserID; {
	case id == "":
		return &FieldError{"user_id", "is required"}
	case !utf8.ValidString(id):
		return &FieldError{"user_id", "must be valid UTF-8"}
	case utf8.RuneCountInString(id) > MaxUserIDLen:
		return &FieldError{"user_id", fmt.Sprintf("must be at most %d characters", MaxUserIDLen)}
	case strings.IndexFunc(id, unicode.IsControl) >= 0:
		return &FieldError{"user_id", "must not contain control characters"}
	}
	switch {
	case req.TTL == 0:
		req.TTL = i.settings.DefaultTTL
	case req.TTL < time.Second:
		return &FieldError{"ttl_seconds", "must be at least 1"}
	case req.TTL > i.settings.MaxTTL:
		return &FieldError{"ttl_seconds", fmt.Sprintf("must be at most %d (TOKENSVC_MAX_TOKEN_TTL)", int64(i.settings.MaxTTL/time.Second))}
	}
	for name := range req.Claims {
		if r, ok := reservedAs(name); ok {
			why := "it is reserved"
			if r != name {
				why = fmt.Sprintf("it is %q in other letters, which is reserved", r)
			}
			return &FieldError{"claims", fmt.Sprintf("may not set %q: %s (reserved, in any case: %s)", name, why, strings.Join(reserved[:], ", "))}
		}
		if name == "" || !utf8.ValidString(name) || strings.IndexFunc(name, unicode.IsControl) >= 0 {
			return &FieldError{"claims", fmt.Sprintf("claim name %q must be non-empty valid UTF-8 without control characters", name)}
		}
	}
	return nil
}

// appendPayload appends the claims to buf in a fixed order: sub, iat, exp,
// jti, iss, aud, then the caller's extra claims by name. Strings are
// written as encoding/json writes them; only the extra claims' values,
// which may be anything, go through encoding/json.
func (i *Issuer) appendPayload(buf []byte, req Request, iat, exp time.Time) ([]byte, error) {
	var jti [16]byte // 128 random bits: two tokens never share an id
	if _, err := rand.Read(jti[:]); err != nil {
		return nil, fmt.Errorf("jti: %w", err)
	}
	buf = append(buf, `{"sub":`...)
	if i.settings.Profile == profile.Braze {
		buf = appendJSONString(buf, req.UserID)
	} else {
		buf = append(buf, `{"key":`...)
		buf = appendJSONString(buf, i.settings.SubjectKey)
		buf = append(buf, `,"value":`...)
		buf = appendJSONString(buf, req.UserID)
		buf = append(buf, '}')
	}
	buf = append(buf, `,"iat":`...)
	buf = strconv.AppendInt(buf, iat.Unix(), 10)
	buf = append(buf, `,"exp":`...)
	buf = strconv.AppendInt(buf, exp.Unix(), 10)
	buf = append(buf, `,"jti":"`...)
	buf = b64.AppendEncode(buf, jti[:])
	buf = append(buf, '"')
	if i.settings.Issuer != "" {
		buf = append(buf, `,"iss":`...)
		buf = appendJSONString(buf, i.settings.Issuer)
	}
	if i.settings.Audience != "" {
		buf = append(buf, `,"aud":`...)
		buf = appendJSONString(buf, i.settings.Audience)
	}
	if len(req.Claims) == 0 {
		return append(buf, '}'), nil
	}
	names := make([]string, 0, len(req.Claims))
	for name := range req.Claims {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		v, err := json.Marshal(req.Claims[name])
		if err != nil {
			return nil, &FieldError{"claims", fmt.Sprintf("claim %q cannot be encoded as JSON: %v", name, err)}
		}
		buf = append(buf, ',')
		buf = appendJSONString(buf, name)
		buf = append(buf, ':')
		buf = append(buf, v...)
	}
	return append(buf, '}'), nil
}
