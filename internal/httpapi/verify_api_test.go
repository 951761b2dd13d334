package httpapi_test

import (
	"strings"
	"testing"
)

// TestVerifyEndpointRefusesSurroundingSpace: POST /v1/verify answers what
// MoEngage would, and MoEngage does not trim the token it is sent, so a
// token with spaces or a line break around it is DECRYPTION_FAILED, as the
// README's troubleshooting table says, not VALID.
func TestVerifyEndpointRefusesSurroundingSpace(t *testing.T) {
	h := newHarness(t, options{})
	tok := h.mintOK(t).Token
	for name, body := range map[string]string{
		"space before":      `{"token":" ` + tok + `"}`,
		"line break after":  `{"token":"` + tok + `\n"}`,
		"tab and CRLF":      `{"token":"\t` + tok + `\r\n"}`,
		"space at the dots": `{"token":"` + strings.Replace(tok, ".", " . ", 1) + `"}`,
	} {
		t.Run(name, func(t *testing.T) {
			var res struct {
				Valid         bool
				Code, Message string
			}
			decodeInto(t, h.do(t, call{method: "POST", path: "/v1/verify", auth: "Bearer " + h.issueSecret, contentType: "application/json", body: body}), 200, &res)
			if res.Valid || res.Code != "DECRYPTION_FAILED" || !strings.Contains(res.Message, "spaces") {
				t.Errorf("verdict = %+v, want DECRYPTION_FAILED saying the token holds spaces", res)
			}
		})
	}
	p := checkProblem(t, h.do(t, call{method: "POST", path: "/v1/verify", auth: "Bearer " + h.issueSecret, contentType: "application/json", body: `{"token":5}`}), 400, "invalid-field", "token")
	if p.Detail != "token must be a string, not a number" {
		t.Errorf("detail = %q, want the field and both types named", p.Detail)
	}
}
