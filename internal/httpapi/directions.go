package httpapi

import (
	"net/url"

	"github.com/tokensvc/tokensvc/internal/keys"
)

// Directions is keys.Directions in the service's own words: the route that
// serves a key's public PEM and the CLI command that takes a step on a key.
// It lives here, beside the routes, so that the messages keys writes into
// events and logs name them without keys knowing either.
type Directions struct{}

// PEMPath is the route of kid's public PEM: the one place it is spelled
// (the router's pattern aside), for answers, logs, events and webhooks.
func (Directions) PEMPath(kid string) string {
	return "/v1/keys/" + url.PathEscape(kid) + "/public.pem"
}

// Command is the tokensvc command line that runs step on kid.
func (Directions) Command(step, kid string) string { return "tokensvc keys " + step + " " + kid }

// DashboardPlace is where MoEngage's dashboard keeps the public keys an
// operator pastes: the one spelling of it in the service's messages.
const DashboardPlace = "Settings › Account › Security › SDK Authentication"

// DashboardStep says in plain words what the operator does in the MoEngage
// dashboard about a key whose GET /v1/keys dashboard value is a: the one
// wording of each value, for the console and whoever else shows it.
func (Directions) DashboardStep(a keys.DashboardAction) string {
	switch a {
	case keys.DashboardAdd:
		return "Add this key in MoEngage: " + DashboardPlace
	case keys.DashboardKeep:
		return "Keep this key in MoEngage: it signs, is about to, or tokens it signed are still live"
	case keys.DashboardRemove:
		return "Remove this key from MoEngage (" + DashboardPlace + ") if it is still there: no token it signed is live any more, or it was revoked"
	case keys.DashboardNone:
		return "Nothing to do in MoEngage: nobody confirmed this key there, and it is no longer published"
	}
	return "Dashboard: " + string(a)
}
