package verify

import "slices"

// Advice is one row of the README's "Troubleshooting by MoEngage error
// code" table: what MoEngage saw when it gave Code, and what to do. The
// console's token inspector shows it under a verdict.
//
// Seen and Fix are the README's cells as written, so that a test can keep
// the two equal: Markdown whose only markup is code spans (text between
// backticks, such as `kid`). A page shows each backtick-quoted run as code
// and the rest as plain text.
type Advice struct {
	Code string // MoEngage's error code
	Seen string // what MoEngage saw
	Fix  string // what to do
}

// troubleshooting is the README's table, row by row, in its order;
// TestReadmeTroubleshootingMatchesAdvice keeps the two equal.
var troubleshooting = []Advice{
	{CodeDecryptionFailed,
		"not a JWT: not three base64url parts; spaces or line breaks around or in the token; or a header or payload that is not exactly one JSON object read one way (a key twice, anything after the closing brace, an escaped lone surrogate such as `\\ud800`)",
		"pass the `token` field of the mint response as it is, with no quotes, spaces or `Bearer ` prefix"},
	{CodeHeaderTypeIncompatible,
		"`alg` not RS256/RS512, `typ` missing or not `JWT`, any `crit` (no extension is implemented, so RFC 7515 requires refusal), or `b64` other than `true`",
		"mint with tokensvc (it always sets `alg` and `typ`, never `crit` or `b64`); an HS256 token from elsewhere is refused"},
	{CodeInvalidSignature,
		"no registered public key verifies the signature",
		"register the PEM of the token's `kid` (`tokensvc keys pem KID`); after a rotation, check the new key was added before activation"},
	{CodePayloadContentMissing,
		"`sub` is not an object `{\"key\",\"value\"}`, or `exp` is missing",
		"keep `TOKENSVC_PROFILE=moengage`; `braze` makes `sub` a string"},
	{CodeTimeConstraintFailure,
		"`exp` has passed, or `iat`/`nbf` is in the future",
		"fetch a new token (the app should on every launch); check the server's clock"},
	{CodeIdentifierMismatch,
		"the token is for another user, or `sub.key` is not the dashboard's User ID key",
		"mint for the user the SDK knows; set `TOKENSVC_SUBJECT_KEY` to the dashboard's key"},
	{CodeUnknown,
		"a failure MoEngage did not classify",
		"the app fetches one new token, as for an expired one (`tokenclient.CodeUnknown`); if it persists, check the token with `tokensvc verify` and the dashboard's JWT settings"},
}

// Troubleshooting returns every row of the troubleshooting table, in the
// README's order: a page can show the whole table.
func Troubleshooting() []Advice {
	return slices.Clone(troubleshooting)
}

// AdviceFor returns the troubleshooting row for a code Verify returned or
// an app reported; false for VALID and for codes nobody documents.
//
// The README has no Braze table, so a Braze code gets the row of the
// MoEngage code that the same failure has under the moengage profile
// (EXPIRED gets TIME_CONSTRAINT_FAILURE's): the returned Advice's Code is
// that MoEngage code, so a page can say whose advice it shows. Some of
// those rows speak of MoEngage's claim layout (PAYLOAD_CONTENT_MISSING's
// for INVALID_PAYLOAD and EXPIRATION_REQUIRED); the verdict's Message is
// the profile-exact account.
func AdviceFor(code string) (Advice, bool) {
	for r, c := range brazeCodes {
		if c == code {
			code = moengageCodes[r]
			break
		}
	}
	i := slices.IndexFunc(troubleshooting, func(a Advice) bool { return a.Code == code })
	if i < 0 {
		return Advice{}, false
	}
	return troubleshooting[i], true
}
