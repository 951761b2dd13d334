package console

import (
	"encoding/json"
	"html/template"
	"net/http"
	"strings"

	"github.com/tokensvc/tokensvc/internal/verify"
)

// TokenVerifier checks a token as POST /v1/verify does, against the keys
// published at the moment; httpapi.PublishedVerifier implements it.
type TokenVerifier interface {
	Verify(token, userID string) verify.Result
}

// inspectPage is the token inspector's data: the form's fields and, after
// a POST, the verdict.
type inspectPage struct {
	Token, UserID string
	Verdict       *verdictView
}

// verdictView is a verdict as the inspector shows it.
type verdictView struct {
	Result verify.Result
	// Advice is the README's troubleshooting row of the verdict's code;
	// nil for VALID, and for a Braze code, whose row would be another
	// code's (see inspect).
	Advice *verify.Advice
	// NoAdvice says why a refused token has no row, or "".
	NoAdvice        string
	Header, Payload string // pretty JSON, "" when the part did not decode
	Expiry          string
}

// inspectForm shows the empty inspector.
func (c *console) inspectForm(w http.ResponseWriter, r *http.Request) {
	c.render(w, r, "inspect", http.StatusOK, inspectPage{})
}

// inspect checks the pasted token and shows the verdict on the answer to
// the POST: never a redirect, so the token is in no URL, no flash and no
// store. Nothing here logs, and nothing here makes an error of the token:
// Verify answers with a Result, whose parts are only shown. The page is
// no-store, like every console page.
func (c *console) inspect(w http.ResponseWriter, r *http.Request) {
	// requireSession already parsed the form (and capped it).
	// Neither is trimmed: MoEngage compares what the app sends, as
	// POST /v1/verify does.
	token := r.PostFormValue("token")
	userID := r.PostFormValue("user_id")
	res := c.verifier.Verify(token, userID)
	v := &verdictView{
		Result:  res,
		Header:  prettyJSON(res.Header),
		Payload: prettyJSON(res.Claims),
		Expiry:  res.ExpiryInWords(c.now()),
	}
	if !res.Valid {
		// Under the braze profile AdviceFor gives MoEngage's row of the
		// same failure, whose fix can be wrong for Braze (INVALID_PAYLOAD
		// would be told to keep the moengage profile): the verdict's
		// message, which is profile-exact, stands alone.
		switch adv, ok := verify.AdviceFor(res.Code); {
		case ok && adv.Code == res.Code:
			v.Advice = &adv
		case ok:
			v.NoAdvice = "The README's troubleshooting table lists MoEngage's codes; for " + res.Code + " the message above says what to fix."
		default:
			v.NoAdvice = "The README's troubleshooting table has no row for " + res.Code + "."
		}
	}
	c.render(w, r, "inspect", http.StatusOK, inspectPage{Token: token, UserID: userID, Verdict: v})
}

// prettyJSON indents a decoded header or payload for reading, keys in
// order; "" for nil (the part did not decode). The values are the
// token's own (json.Number keeps numbers as written).
func prettyJSON(m map[string]any) string {
	if m == nil {
		return ""
	}
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false) // the template escapes; keep < and & readable
	if err := enc.Encode(m); err != nil {
		return "" // a decoded object always encodes; nothing to show otherwise
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// codeSpans renders text whose only markup is code spans, as the README's
// troubleshooting cells are: each backtick-quoted run becomes <code>, and
// everything is escaped. An unpaired backtick is kept as text.
func codeSpans(text string) template.HTML {
	parts := strings.Split(text, "`")
	if len(parts)%2 == 0 {
		// An odd number of backticks: the last one opens nothing.
		last := len(parts) - 1
		parts[last-1] += "`" + parts[last]
		parts = parts[:last]
	}
	var b strings.Builder
	for i, p := range parts {
		if i%2 == 1 {
			b.WriteString("<code>" + template.HTMLEscapeString(p) + "</code>")
			continue
		}
		b.WriteString(template.HTMLEscapeString(p))
	}
	return template.HTML(b.String())
}
