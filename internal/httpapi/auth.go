package httpapi

import (
	"net/http"
	"strings"

	"github.com/tokensvc/tokensvc/internal/apikey"
	"github.com/tokensvc/tokensvc/internal/journal"
)

// requireScope admits requests whose bearer API key has scope need.
func (a *api) requireScope(need apikey.Scope) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			secret, ok := bearer(r.Header.Get("Authorization"))
			if !ok {
				writeProblem(w, newProblem(http.StatusUnauthorized, "unauthorized", "Unauthorized",
					"send an API key as: Authorization: Bearer <api key>"))
				return
			}
			k, err := a.apiKeys.Verify(secret)
			if err != nil {
				writeProblem(w, newProblem(http.StatusUnauthorized, "unauthorized", "Unauthorized",
					"the API key is unknown or revoked"))
				return
			}
			if err := a.perKey.Take(k.ID); err != nil {
				a.writeError(w, r, err)
				return
			}
			if !k.Scope.Allows(need) {
				writeProblem(w, newProblem(http.StatusForbidden, "forbidden", "Forbidden",
					"this API key has scope "+string(k.Scope)+"; this endpoint needs scope "+string(need)))
				return
			}
			// The actor of every change this request makes: the audit log
			// names it. One context value, as the caller's id was before.
			actor := journal.Actor{Kind: journal.ActorAPIKey, ID: k.ID, Name: k.Name}
			next.ServeHTTP(w, r.WithContext(journal.WithActor(r.Context(), actor)))
		})
	}
}

// bearer extracts the credential of an "Authorization: Bearer <credential>"
// header. The scheme is case-insensitive (RFC 9110); the credential is not.
func bearer(header string) (string, bool) {
	scheme, cred, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	cred = strings.TrimSpace(cred)
	if cred == "" || strings.ContainsAny(cred, " \t") {
		return "", false
	}
	return cred, true
}

// callerID returns the id of the API key that authenticated r, for logs.
func callerID(r *http.Request) string {
	return journal.ActorFrom(r.Context()).ID
}

// callerLabel names the API key that authenticated r for the record, as
// "apikey:<id> (<name>)": the id is what to revoke, the name who holds it.
func callerLabel(r *http.Request) string {
	return ConfirmedBy(journal.ActorFrom(r.Context()))
}

// ConfirmedBy is how a key's registered_by names the API key a that
// confirmed it, from the API or the console alike.
func ConfirmedBy(a journal.Actor) string {
	return "apikey:" + a.ID + " (" + a.Name + ")"
}
