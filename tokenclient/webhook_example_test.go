package tokenclient_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"time"

	"github.com/tokensvc/tokensvc/tokenclient"
)

// A webhook receiver checks each request's signature before it acts on the
// event, and skips an event id it has seen (delivery is at least once).
// The README's Go receiver is this example's handler.
func ExampleVerifyWebhookSignature() {
	secret := "the value of TOKENSVC_WEBHOOK_SECRET"
	seen := map[string]bool{}

	webhook := func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, "cannot read the body", http.StatusBadRequest)
			return
		}
		sig := r.Header.Get(tokenclient.WebhookSignatureHeader)
		if err := tokenclient.VerifyWebhookSignature(secret, sig, body, time.Now(), 5*time.Minute); err != nil {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var e struct{ ID, Type, Message string }
		if err := json.Unmarshal(body, &e); err != nil {
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		if !seen[e.ID] {
			seen[e.ID] = true
			fmt.Println(e.Type + ": " + e.Message)
		}
		w.WriteHeader(http.StatusNoContent)
	}

	// A request as tokensvc sends it, twice, and a forged one.
	body := `{"id":"evt_1","type":"apikey.revoked","created_at":"2026-12-01T08:00:00Z","message":"API key ak_1 was revoked."}`
	t := strconv.FormatInt(time.Now().Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(t + "." + body))
	genuine := "t=" + t + ",v1=" + hex.EncodeToString(mac.Sum(nil))
	for _, sig := range []string{genuine, genuine, "t=" + t + ",v1=00"} {
		req := httptest.NewRequest(http.MethodPost, "/tokensvc", strings.NewReader(body))
		req.Header.Set(tokenclient.WebhookSignatureHeader, sig)
		rec := httptest.NewRecorder()
		webhook(rec, req)
		fmt.Println(rec.Code)
	}
	// Output:
	// apikey.revoked: API key ak_1 was revoked.
	// 204
	// 204
	// 401
}
