package main

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/tokensvc/tokensvc/internal/server"
)

// syncBuffer is an io.Writer that tests can read while run writes to it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// instance is a tokensvc serve started as main would start it.
type instance struct {
	url      string
	adminURL string // the admin face's, or url when there is no admin address
	stderr   *syncBuffer
	stop     func() error // stops the service and returns what run returned
}

// start runs "tokensvc serve" with env and waits until it listens.
func start(t *testing.T, env map[string]string) *instance {
	t.Helper()
	inst, err := tryStart(t, env)
	if err != nil {
		t.Fatal(err)
	}
	return inst
}

// tryStart is start for a service that may refuse to start: it returns
// serve's error if serve ends before listening. The server tells its
// addresses; nothing is read from the log.
func tryStart(t *testing.T, env map[string]string) (*instance, error) {
	t.Helper()
	env = withDefaults(env)
	ctx, cancel := context.WithCancel(context.Background())
	stderr := &syncBuffer{}
	done := make(chan error, 1)
	started := make(chan *server.Server, 1)
	go func() {
		done <- serveWith(ctx, nil, func(k string) string { return env[k] }, io.Discard, stderr,
			func(s *server.Server) { started <- s })
	}()
	select {
	case srv := <-started:
		var once sync.Once
		var runErr error
		inst := &instance{url: "http://" + srv.Addr(), stderr: stderr, stop: func() error {
			once.Do(func() { cancel(); runErr = <-done })
			return runErr
		}}
		if env["TOKENSVC_TLS_CERT_FILE"] != "" {
			inst.url = "https://" + srv.Addr()
		}
		inst.adminURL = inst.url
		if a := srv.AdminAddr(); a != "" {
			inst.adminURL = "http://" + a
		}
		t.Cleanup(func() { inst.stop() })
		return inst, nil
	case err := <-done:
		cancel()
		if err == nil {
			err = errors.New("serve returned nil before serving")
		}
		return nil, fmt.Errorf("%w\nstderr:\n%s", err, stderr.String())
	case <-time.After(60 * time.Second):
		cancel()
		t.Fatalf("tokensvc did not start within 60 s; stderr:\n%s", stderr.String())
		return nil, nil
	}
}

func withDefaults(env map[string]string) map[string]string {
	// No drain delay: tests that stop a service do not wait for load
	// balancers; the drain tests set their own.
	out := map[string]string{"TOKENSVC_ADDR": "127.0.0.1:0", "TOKENSVC_LOG_LEVEL": "debug", "TOKENSVC_SHUTDOWN_DELAY": "0s"}
	for k, v := range env {
		out[k] = v
	}
	return out
}

var printedSecret = regexp.MustCompile(`will not be shown again:\s+(tks_\S+)`)

// bootstrapSecret returns the admin API key the instance printed, if any.
func (i *instance) bootstrapSecret() string {
	if m := printedSecret.FindStringSubmatch(i.stderr.String()); m != nil {
		return m[1]
	}
	return ""
}

func (i *instance) request(t *testing.T, method, path, apiKey, body string) (int, []byte) {
	t.Helper()
	status, _, b := i.requestWithHeader(t, method, path, apiKey, body)
	return status, b
}

// requestWithHeader is request, with the response's header too.
func (i *instance) requestWithHeader(t *testing.T, method, path, apiKey, body string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, i.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+apiKey)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}

type minted struct {
	Token     string    `json:"token"`
	TokenType string    `json:"token_type"`
	KID       string    `json:"kid"`
	Alg       string    `json:"alg"`
	ExpiresAt time.Time `json:"expires_at"`
	ExpiresIn int64     `json:"expires_in"`
}

func (i *instance) mint(t *testing.T, apiKey, body string) minted {
	t.Helper()
	status, b := i.request(t, "POST", "/v1/tokens", apiKey, body)
	if status != http.StatusOK {
		t.Fatalf("mint: %d %s", status, b)
	}
	var m minted
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// jwksKeys fetches the JWKS and decodes each RSA key by hand from n and e,
// independently of the library that built the set.
func (i *instance) jwksKeys(t *testing.T) map[string]*rsa.PublicKey {
	t.Helper()
	status, b := i.request(t, "GET", "/.well-known/jwks.json", "", "")
	if status != 200 {
		t.Fatalf("jwks: %d %s", status, b)
	}
	var set struct {
		Keys []struct{ Kty, Kid, Alg, Use, N, E string } `json:"keys"`
	}
	if err := json.Unmarshal(b, &set); err != nil {
		t.Fatal(err)
	}
	out := map[string]*rsa.PublicKey{}
	for _, k := range set.Keys {
		if k.Kty != "RSA" || k.Use != "sig" || k.Alg == "" {
			t.Errorf("JWK %+v: want kty RSA, use sig and alg", k)
		}
		n, err1 := base64.RawURLEncoding.DecodeString(k.N)
		e, err2 := base64.RawURLEncoding.DecodeString(k.E)
		if err1 != nil || err2 != nil {
			t.Fatalf("JWK %s: bad n or e", k.Kid)
		}
		out[k.Kid] = &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
	}
	return out
}

func (i *instance) pemKey(t *testing.T, kid string) *rsa.PublicKey {
	t.Helper()
	status, b := i.request(t, "GET", "/v1/keys/"+kid+"/public.pem", "", "")
	if status != 200 {
		t.Fatalf("pem: %d %s", status, b)
	}
	block, rest := pem.Decode(b)
	if block == nil || block.Type != "PUBLIC KEY" || len(bytes.TrimSpace(rest)) != 0 {
		t.Fatalf("PEM is not one PUBLIC KEY block: %s", b)
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	rsaPub, ok := pub.(*rsa.PublicKey)
	if !ok || rsaPub.N.BitLen() < 2048 {
		t.Fatalf("PEM key %T of %d bits: want RSA ≥ 2048", pub, rsaPub.N.BitLen())
	}
	return rsaPub
}

// verifyMoEngageToken checks tok as MoEngage would, with golang-jwt (not the
// library that signed it), against pub, and checks header and payload exactly.
func verifyMoEngageToken(t *testing.T, m minted, pub *rsa.PublicKey, userID string, ttl time.Duration) {
	t.Helper()
	parsed, err := jwt.Parse(m.Token, func(*jwt.Token) (any, error) { return pub, nil },
		jwt.WithValidMethods([]string{"RS256", "RS512"}), jwt.WithExpirationRequired())
	if err != nil {
		t.Fatalf("independent verification failed: %v", err)
	}
	if h := parsed.Header; len(h) != 3 || h["alg"] != "RS256" || h["typ"] != "JWT" || h["kid"] != m.KID {
		t.Errorf("header = %v, want exactly alg RS256, typ JWT, kid %s", h, m.KID)
	}
	claims := parsed.Claims.(jwt.MapClaims)
	sub, _ := claims["sub"].(map[string]any)
	if len(sub) != 2 || sub["key"] != "uid" || sub["value"] != userID {
		t.Errorf("sub = %#v, want {key: uid, value: %s}", claims["sub"], userID)
	}
	iat, _ := claims["iat"].(float64)
	exp, _ := claims["exp"].(float64)
	if time.Duration(exp-iat)*time.Second != ttl || int64(exp) != m.ExpiresAt.Unix() || m.ExpiresIn != int64(ttl/time.Second) {
		t.Errorf("iat %v exp %v expires_at %s expires_in %d: want a %s lifetime", iat, exp, m.ExpiresAt, m.ExpiresIn, ttl)
	}
	if jti, _ := claims["jti"].(string); jti == "" {
		t.Error("no jti")
	}
	if len(claims) != 4 {
		t.Errorf("claims = %v, want exactly sub, iat, exp, jti", claims)
	}
}
