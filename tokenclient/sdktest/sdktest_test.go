package sdktest_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/tokensvc/tokensvc/internal/jwtforge"
	"github.com/tokensvc/tokensvc/tokenclient"
	"github.com/tokensvc/tokensvc/tokenclient/sdktest"
)

type fixture struct {
	ing    *sdktest.Ingestion
	sdk    *sdktest.SDK
	key    *rsa.PrivateKey
	mu     sync.Mutex
	errors []tokenclient.AuthError
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{ing: sdktest.NewIngestion("uid"), key: key}
	t.Cleanup(f.ing.Close)
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err := f.ing.Register("k1", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})); err != nil {
		t.Fatal(err)
	}
	f.sdk = sdktest.NewSDK(f.ing.URL())
	f.sdk.RegisterAuthenticationListener(func(e tokenclient.AuthError) {
		f.mu.Lock()
		f.errors = append(f.errors, e)
		f.mu.Unlock()
	})
	return f
}

func (f *fixture) token(t *testing.T, user string, exp time.Duration) string {
	t.Helper()
	tok, err := jwtforge.Sign(map[string]any{"alg": "RS256", "typ": "JWT"},
		map[string]any{"sub": map[string]any{"key": "uid", "value": user}, "exp": time.Now().Add(exp).Unix(), "jti": rand.Text()}, f.key)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func (f *fixture) errorCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.errors)
}

func TestFailedBatchWaitsForNewToken(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.sdk.PassAuthenticationDetails(f.token(t, "u", -time.Minute), "u") // expired
	f.sdk.Track("opened")
	for range 3 {
		if err := f.sdk.Sync(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.sdk.Requests(); n != 1 {
		t.Fatalf("sent %d requests with the refused token, want 1: no retry until a new token", n)
	}
	if f.errorCount() != 1 || f.errors[0].Code != tokenclient.CodeTimeConstraintFailure {
		t.Fatalf("listener got %+v", f.errors)
	}
	f.sdk.PassAuthenticationDetails(f.token(t, "u", time.Hour), "u")
	if err := f.sdk.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if f.sdk.Pending() != 0 || len(f.ing.Accepted()) != 1 {
		t.Fatalf("after a new token: %d pending, %d accepted", f.sdk.Pending(), len(f.ing.Accepted()))
	}
}

func TestStopsAfterTenFailuresAndSuccessResets(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.sdk.Track("e")
	fail := func(n int) {
		for range n {
			f.sdk.PassAuthenticationDetails(f.token(t, "someone-else", time.Hour), "u")
			if err := f.sdk.Sync(ctx); err != nil && !errors.Is(err, sdktest.ErrStopped) {
				t.Fatal(err)
			}
		}
	}
	fail(9)
	f.sdk.PassAuthenticationDetails(f.token(t, "u", time.Hour), "u")
	if err := f.sdk.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	f.sdk.Track("e2")
	fail(9)
	if err := f.sdk.Sync(ctx); errors.Is(err, sdktest.ErrStopped) {
		t.Fatal("stopped after 9 failures following a success")
	}
	fail(1)
	before := f.sdk.Requests()
	if err := f.sdk.Sync(ctx); !errors.Is(err, sdktest.ErrStopped) {
		t.Fatalf("after 10 failures in a row: err = %v, want ErrStopped", err)
	}
	f.sdk.PassAuthenticationDetails(f.token(t, "u", time.Hour), "u")
	if err := f.sdk.Sync(ctx); !errors.Is(err, sdktest.ErrStopped) || f.sdk.Requests() != before {
		t.Fatal("a stopped SDK sent data in the same session")
	}
	f.sdk.NewSession()
	if err := f.sdk.Sync(ctx); err != nil || f.sdk.Pending() != 0 {
		t.Fatalf("a new session: err %v, %d pending", err, f.sdk.Pending())
	}
}

func TestLogoutDeletesJWTFailedData(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.sdk.PassAuthenticationDetails("garbage", "u")
	f.sdk.Track("refused")
	if err := f.sdk.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	f.sdk.Track("not yet sent")
	f.sdk.Logout()
	if n := f.sdk.Pending(); n != 1 {
		t.Fatalf("%d events pending after logout, want only the 1 never refused", n)
	}
	if refused := f.ing.Refused(); refused[tokenclient.CodeDecryptionFailed] != 1 {
		t.Errorf("refusals = %v", refused)
	}
}
