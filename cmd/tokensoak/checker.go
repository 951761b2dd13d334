package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tokensvc/tokensvc/internal/profile"
	"github.com/tokensvc/tokensvc/internal/verify"
)

// checker verifies minted tokens as a verifier that fetches a replica's
// JWKS would: with internal/verify, which works from crypto/rsa and the JWS
// format directly, not through the library tokensvc signs with. Each
// replica's key set is cached and fetched again when a token names a kid
// the cache lacks, as MoEngage-side verifiers do.
type checker struct {
	http       *http.Client
	subjectKey string
	ttl        time.Duration // the lifetime every token must have
	now        func() time.Time

	mu   sync.Mutex
	sets map[string]map[string]verify.Key // base URL → kid → key
}

func newChecker(client *http.Client, subjectKey string, ttl time.Duration) *checker {
	return &checker{http: client, subjectKey: subjectKey, ttl: ttl, now: time.Now,
		sets: make(map[string]map[string]verify.Key)}
}

// errJWKSUnreachable means the key set could not be fetched, so the token
// was not checked (its replica was restarting): not a verification failure.
var errJWKSUnreachable = errors.New("JWKS unreachable")

// failure is a token that does not verify; Kind groups failures in the report.
type failure struct {
	Kind   string `json:"kind"`
	Detail string `json:"detail"`
}

func (f *failure) Error() string { return f.Kind + ": " + f.Detail }

// check verifies token, minted for userID with the key wantKID, against
// the JWKS published at base. It returns nil when the token is good, a
// *failure when it is not, and errJWKSUnreachable when it cannot tell.
func (c *checker) check(ctx context.Context, base, token, userID, wantKID string) error {
	kid, err := headerKID(token)
	if err != nil {
		return &failure{"malformed", err.Error()}
	}
	if kid != wantKID {
		return &failure{"kid mismatch", fmt.Sprintf("the response says kid %s, the token's header %s", wantKID, kid)}
	}
	key, err := c.key(ctx, base, kid)
	if err != nil {
		return err
	}
	v := verify.Verifier{Keys: []verify.Key{key}, Profile: profile.MoEngage, SubjectKey: c.subjectKey, Now: c.now}
	res := v.Verify(token, userID)
	if !res.Valid {
		return &failure{res.Code, res.Message}
	}
	iat, ok := res.Claims["iat"].(json.Number)
	if !ok {
		return &failure{"no iat", "the token has no iat"}
	}
	sec, err := iat.Int64()
	if err != nil {
		return &failure{"no iat", "iat is not whole seconds"}
	}
	if lifetime := res.ExpiresAt.Sub(time.Unix(sec, 0)); lifetime != c.ttl {
		return &failure{"lifetime", fmt.Sprintf("exp − iat is %s, want %s", lifetime, c.ttl)}
	}
	return nil
}

// key returns the key kid from base's JWKS, fetching the set again when
// the cached one lacks kid.
func (c *checker) key(ctx context.Context, base, kid string) (verify.Key, error) {
	c.mu.Lock()
	k, ok := c.sets[base][kid]
	c.mu.Unlock()
	if ok {
		return k, nil
	}
	set, err := c.fetch(ctx, base)
	if err != nil {
		return verify.Key{}, err
	}
	if k, ok := set[kid]; ok {
		return k, nil
	}
	return verify.Key{}, &failure{"kid not published", fmt.Sprintf("%s/.well-known/jwks.json does not hold kid %s", base, kid)}
}

// forget drops the cached key sets, so the next check fetches them anew.
func (c *checker) forget() {
	c.mu.Lock()
	clear(c.sets)
	c.mu.Unlock()
}

func (c *checker) fetch(ctx context.Context, base string) (map[string]verify.Key, error) {
	body, err := c.jwks(ctx, base)
	if err != nil {
		return nil, err
	}
	keys, err := verify.ParseJWKS(body)
	if err != nil {
		return nil, &failure{"bad JWKS", fmt.Sprintf("%s: %v", base, err)}
	}
	set := make(map[string]verify.Key, len(keys))
	for _, k := range keys {
		set[k.Name] = k
	}
	c.mu.Lock()
	c.sets[base] = set
	c.mu.Unlock()
	return set, nil
}

// kids returns the kids base publishes now, sorted.
func (c *checker) kids(ctx context.Context, base string) ([]string, error) {
	set, err := c.fetch(ctx, base)
	if err != nil {
		return nil, err
	}
	return slices.Sorted(maps.Keys(set)), nil
}

func (c *checker) jwks(ctx context.Context, base string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/.well-known/jwks.json", nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errJWKSUnreachable, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errJWKSUnreachable, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, &failure{"bad JWKS", fmt.Sprintf("%s answered %d to the JWKS request", base, resp.StatusCode)}
	}
	return body, nil
}

// headerKID reads the kid of a JWS compact token's header.
func headerKID(token string) (string, error) {
	head, _, ok := strings.Cut(token, ".")
	if !ok {
		return "", errors.New("not a JWS compact token")
	}
	raw, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		return "", errors.New("the header is not base64url")
	}
	var h struct {
		KID string `json:"kid"`
	}
	if err := json.Unmarshal(raw, &h); err != nil {
		return "", errors.New("the header is not JSON")
	}
	if h.KID == "" {
		return "", errors.New("the header has no kid")
	}
	return h.KID, nil
}
