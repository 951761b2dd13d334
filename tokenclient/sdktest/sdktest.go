// Package sdktest emulates MoEngage for tests of an app's token handling: an
// ingestion server that verifies tokens as MoEngage does (registered PEMs,
// RS256/RS512, typ JWT, the sub object naming the user, exp) and answers
// with MoEngage's error codes, and a fake SDK that follows MoEngage's rules
// for JWT authentication.
package sdktest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/tokensvc/tokensvc/internal/profile"
	"github.com/tokensvc/tokensvc/internal/verify"
)

// Ingestion is a fake MoEngage data endpoint. It is safe for concurrent use.
type Ingestion struct {
	srv        *httptest.Server
	subjectKey string

	mu       sync.Mutex
	keys     []verify.Key
	accepted []Batch
	refused  map[string]int // by error code
}

// Batch is data one SDK request carried.
type Batch struct {
	UserID string   `json:"user_id"`
	Events []string `json:"events"`
	// Token is the JWT the request was authenticated with.
	Token string `json:"-"`
}

// NewIngestion starts a fake MoEngage whose dashboard's User ID key is
// subjectKey. Close it when done.
func NewIngestion(subjectKey string) *Ingestion {
	i := &Ingestion{subjectKey: subjectKey, refused: map[string]int{}}
	i.srv = httptest.NewServer(http.HandlerFunc(i.serve))
	return i
}

// URL is where SDKs send data.
func (i *Ingestion) URL() string { return i.srv.URL }

// Close stops the server.
func (i *Ingestion) Close() { i.srv.Close() }

// Register adds the public keys in pemData, as an operator pasting them into
// the dashboard, under name.
func (i *Ingestion) Register(name string, pemData []byte) error {
	ks, err := verify.ParsePEM(pemData, name)
	if err != nil {
		return err
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	i.keys = append(i.keys, ks...)
	return nil
}

// Unregister removes the keys registered under name.
func (i *Ingestion) Unregister(name string) {
	i.mu.Lock()
	defer i.mu.Unlock()
	kept := i.keys[:0]
	for _, k := range i.keys {
		if k.Name != name && !strings.HasPrefix(k.Name, name+"#") {
			kept = append(kept, k)
		}
	}
	i.keys = kept
}

// Accepted returns the batches accepted so far.
func (i *Ingestion) Accepted() []Batch {
	i.mu.Lock()
	defer i.mu.Unlock()
	return append([]Batch(nil), i.accepted...)
}

// Refused returns how many requests were refused with each error code.
func (i *Ingestion) Refused() map[string]int {
	i.mu.Lock()
	defer i.mu.Unlock()
	out := map[string]int{}
	for k, v := range i.refused {
		out[k] = v
	}
	return out
}

// serve accepts POST /v1/data with the token as a bearer credential.
func (i *Ingestion) serve(w http.ResponseWriter, r *http.Request) {
	var b Batch
	if err := json.NewDecoder(r.Body).Decode(&b); err != nil {
		http.Error(w, "bad batch", http.StatusBadRequest)
		return
	}
	b.Token = strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	i.mu.Lock()
	defer i.mu.Unlock()
	v := verify.Verifier{Keys: i.keys, Profile: profile.MoEngage, SubjectKey: i.subjectKey, Now: time.Now}
	res := v.Verify(b.Token, b.UserID)
	if !res.Valid {
		i.refused[res.Code]++
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_ = json.NewEncoder(w).Encode(map[string]string{"code": res.Code, "message": res.Message})
		return
	}
	i.accepted = append(i.accepted, b)
	w.WriteHeader(http.StatusOK)
}
