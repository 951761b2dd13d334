package console_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tokensvc/tokensvc/internal/browsertest"
)

// TestConsolePhone opens every page at 375 px, each with something to
// show: none is wider than the phone, and none records a fault. Each page
// is a subtest with a tab of its own, so one page's failure hides no
// other's.
func TestConsolePhone(t *testing.T) {
	svc := startService(t)
	ctx := t.Context()
	// A key to add, a user's session, a token to inspect.
	if _, err := svc.admin.CreateKey(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.backend.CreateSession(ctx, "team/alice"); err != nil {
		t.Fatal(err)
	}
	token, err := svc.backend.Mint(ctx, "team/alice", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	b := browsertest.Start(t)

	t.Run("signin", func(t *testing.T) {
		p := b.NewPage(t, browsertest.Phone)
		p.Go(svc.console + "/signin")
		fitsWidth(t, p, "signin")
		p.Screenshot("signin-375")
	})
	for _, page := range pages {
		t.Run(page, func(t *testing.T) {
			p := b.NewPage(t, browsertest.Phone)
			signIn(t, p, svc)
			switch page {
			case "inspect":
				p.Go(svc.console + "/inspect")
				p.Fill("#token", token.Token)
				p.Submit("#inspect-form")
			case "sessions":
				p.Go(svc.console + "/sessions?user_id=team%2Falice")
			default:
				p.Go(svc.console + "/" + page)
			}
			fitsWidth(t, p, page)
			p.Screenshot(page + "-375")
		})
	}
}

// fitsWidth checks that the page scrolls only down: nothing overflows the
// viewport's width. The layout viewport (the root's clientWidth) is the
// phone's width; window.innerWidth is not a measure here, since a phone
// (and Chromium's mobile emulation) widens it to take in what overflows.
func fitsWidth(t *testing.T, p *browsertest.Page, page string) {
	t.Helper()
	var w struct{ Scroll, Client, Inner int }
	p.Eval(`({Scroll: document.documentElement.scrollWidth, Client: document.documentElement.clientWidth, Inner: window.innerWidth})`, &w)
	if w.Scroll > w.Client || w.Inner > w.Client {
		t.Errorf("%s at %d px is %d px wide: it overflows", page, w.Client, w.Scroll)
	}
}

// TestConsoleKeyboard signs in, confirms a key and revokes another with
// the keyboard alone, and checks every control of every page has a name
// a screen reader reads.
func TestConsoleKeyboard(t *testing.T) {
	svc := startService(t)
	kid1 := svc.keyIDs(t)[0]
	next, err := svc.admin.CreateKey(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	p := browsertest.Start(t).NewPage(t, browsertest.Desktop)

	p.Go(svc.console + "/signin")
	labelled(t, p, "signin")
	// The key field has autofocus, which Chromium applies when it gets to
	// it: Tab reaches the field either way.
	tabTo(t, p, "#api_key")
	typeText(p, operatorKey)
	if status := p.WaitLoad(func() { p.Press("Enter") }); status != http.StatusOK {
		t.Fatalf("signing in with Enter: status %d", status)
	}
	if got := p.Location(); got != svc.console+"/keys" {
		t.Fatalf("signed in with the keyboard at %s, want %s/keys", got, svc.console)
	}

	// "I added it", reached with Tab, pressed with Enter.
	confirm := keyForm(kid1, "confirm") + " button"
	tabTo(t, p, confirm)
	var outline string
	p.Eval(`getComputedStyle(document.activeElement).outlineStyle`, &outline)
	if outline == "none" {
		t.Errorf("the focused button shows no outline")
	}
	p.WaitLoad(func() { p.Press("Enter") })
	if got := svc.keyOf(t, kid1).Dashboard; got != "keep" {
		t.Errorf("confirmed with the keyboard, key %s says dashboard %q, want keep", kid1, got)
	}

	// Revoke the pending key: its kid typed, then Tab to Revoke, Enter.
	revoke := keyForm(next.KID, "revoke")
	tabTo(t, p, revoke+` input[name="confirm_kid"]`)
	typeText(p, next.KID)
	tabTo(t, p, revoke+" button")
	p.WaitLoad(func() { p.Press("Enter") })
	if got := svc.keyOf(t, next.KID).State; got != "revoked" {
		t.Errorf("revoked with the keyboard, key %s is %s", next.KID, got)
	}

	for _, page := range pages {
		p.Go(svc.console + "/" + page)
		labelled(t, p, page)
	}
	// And the pages that answer a form: a verdict, a secret shown once.
	token, err := svc.backend.Mint(t.Context(), "team/alice", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	p.Go(svc.console + "/inspect")
	p.Fill("#token", token.Token)
	p.Submit("#inspect-form")
	labelled(t, p, "inspect (a verdict)")
	p.Go(svc.console + "/apikeys")
	p.Fill(`form[action="/console/apikeys"] input[name="name"]`, "ios backend")
	p.Submit(`form[action="/console/apikeys"]`)
	labelled(t, p, "apikeys (a new key's secret)")
}

// typeText types s key by key into the focused field.
func typeText(p *browsertest.Page, s string) {
	for _, r := range s {
		p.Press(string(r))
	}
}

// tabTo presses Tab until the element matching selector has the focus,
// failing the test when a round of the page's controls never reaches it.
func tabTo(t *testing.T, p *browsertest.Page, selector string) {
	t.Helper()
	for range 200 {
		var there bool
		p.Eval(`document.activeElement !== null && document.activeElement.matches(`+jsString(selector)+`)`, &there)
		if there {
			return
		}
		p.Tab()
	}
	t.Fatalf("Tab never reaches %s (focus is on %q)", selector, p.Focused())
}

// labelled checks that every control of the page has an accessible name:
// a <label>, aria-label or aria-labelledby, or, for a button, its text.
func labelled(t *testing.T, p *browsertest.Page, page string) {
	t.Helper()
	var unnamed []string
	p.Eval(`(() => {
		const text = (s) => (s || "").replace(/\s+/g, " ").trim();
		const bad = [];
		for (const el of document.querySelectorAll("input, select, textarea, button")) {
			if (el.type === "hidden") continue;
			const byIDs = (el.getAttribute("aria-labelledby") || "").split(/\s+/)
				.map((id) => document.getElementById(id)).filter(Boolean).map((l) => l.textContent).join(" ");
			const name = text(el.getAttribute("aria-label")) || text(byIDs) ||
				text([...(el.labels || [])].map((l) => l.textContent).join(" ")) ||
				(el.tagName === "BUTTON" ? text(el.textContent) : "") ||
				(["submit", "button", "reset"].includes(el.type) ? text(el.value) : "");
			if (!name) bad.push(el.outerHTML.slice(0, 160));
		}
		return bad;
	})()`, &unnamed)
	if len(unnamed) > 0 {
		t.Errorf("controls of %s without a name:\n\t%s", page, strings.Join(unnamed, "\n\t"))
	}
}
