package console

import "testing"

func TestCodeSpans(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"plain", "fetch a new token", "fetch a new token"},
		{"spans", "register the PEM of the token's `kid` (`tokensvc keys pem KID`)",
			"register the PEM of the token&#39;s <code>kid</code> (<code>tokensvc keys pem KID</code>)"},
		{"escaped in and out", "<b>`<i>&`</b>", "&lt;b&gt;<code>&lt;i&gt;&amp;</code>&lt;/b&gt;"},
		{"unpaired backtick is text", "a `b` c ` d", "a <code>b</code> c ` d"},
		{"a lone backtick", "it`s", "it`s"},
		{"empty span", "``x", "<code></code>x"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(codeSpans(tc.in)); got != tc.want {
				t.Errorf("codeSpans(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}
