// Package profile names the claim layouts tokensvc mints and checks. It is a
// leaf: the issuer, which signs with jwx, and the verifier, which must not
// depend on jwx (it stands in for the vendor's own checks), both import it.
package profile

// Profile selects the claim layout a vendor's SDK expects.
type Profile string

// The supported profiles.
const (
	// MoEngage puts the user in sub as {"key": SubjectKey, "value": id}.
	MoEngage Profile = "moengage"
	// Braze puts the user id in sub as a plain string (Braze SDK Authentication).
	Braze Profile = "braze"
)
