package browsertest

import (
	"context"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// Cookie is a cookie the browser holds for the page, with the flags a
// test asserts (the console's session cookie must be HttpOnly,
// SameSite=Strict, and Secure under TLS).
type Cookie struct {
	Name, Value  string
	Domain, Path string
	HTTPOnly     bool
	Secure       bool
	SameSite     string // "Strict", "Lax", "None", or "" when not set
	Session      bool   // no Expires or Max-Age: gone when the browser closes
}

// Cookies returns the cookies the browser would send to the page's URL.
func (p *Page) Cookies() []Cookie {
	p.t.Helper()
	res := run(p, "read cookies", func(ctx context.Context, t *chromedp.Target) (network.GetCookiesResult, error) {
		return cdp.Call(ctx, t, network.GetCookies, network.GetCookiesParams{})
	})
	cookies := make([]Cookie, len(res.Cookies))
	for i, c := range res.Cookies {
		cookies[i] = Cookie{
			Name: c.Name, Value: c.Value, Domain: c.Domain, Path: c.Path,
			HTTPOnly: c.HTTPOnly, Secure: c.Secure, SameSite: string(c.SameSite), Session: c.Session,
		}
	}
	return cookies
}

// Cookie returns the cookie named name that the browser would send to the
// page's URL, and whether there is one.
func (p *Page) Cookie(name string) (Cookie, bool) {
	p.t.Helper()
	for _, c := range p.Cookies() {
		if c.Name == name {
			return c, true
		}
	}
	return Cookie{}, false
}
