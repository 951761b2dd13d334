package browsertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
)

// Viewport is the size of a page's window in CSS pixels, and whether it
// is a phone's (mobile emulation: the page's <meta name="viewport"> is
// honoured, as on a phone, and a page without one is laid out 980 px wide
// and shrunk, which its screenshot shows).
type Viewport struct {
	Width, Height int
	Mobile        bool
}

// The two viewports the console is tested at: the issue asks for pages
// readable at 375 px.
var (
	Desktop = Viewport{Width: 1280, Height: 800}
	Phone   = Viewport{Width: 375, Height: 812, Mobile: true}
)

// ActionTimeout bounds each of a Page's actions (a navigation, a click, a
// wait for a selector), so that a hung page or a missing element fails the
// test in seconds, naming what it waited for, not at go test's timeout.
const ActionTimeout = 10 * time.Second

// Page is one browser tab of a test, with its own cookies (a fresh
// browser context) and viewport. Its helpers fail the test (t.Fatal) when
// an action fails, so call them from the test's goroutine, and open a page
// in each subtest that uses one. It records the page's faults (Event) from
// the moment it opens; CheckClean reports them, and runs by itself when
// the test ends unless DisableAutoCheck was called.
type Page struct {
	t         testing.TB
	ctx       context.Context
	recorder  *recorder
	autoCheck bool
}

// NewPage opens a tab of the viewport v. It is closed when t ends, after
// CheckClean (unless disabled).
func (b *Browser) NewPage(t testing.TB, v Viewport) *Page {
	t.Helper()
	rec := newRecorder()
	ctx, cancel := chromedp.NewContext(b.ctx,
		chromedp.WithNewBrowserContext(),
		chromedp.WithListener(rec.record),
	)
	p := &Page{t: t, ctx: ctx, recorder: rec, autoCheck: true}
	t.Cleanup(func() {
		if p.autoCheck {
			p.CheckClean(t)
		}
		cancel()
	})
	// The tab's first action attaches it, and chromedp reads the tab's
	// messages for as long as that action's context lives: so it runs on
	// the page's own context, not on one with a timeout, and the timeout
	// is kept here instead.
	opened := make(chan error, 1)
	go func() { opened <- chromedp.Do(ctx) }()
	select {
	case err := <-opened:
		if err != nil {
			t.Fatalf("browsertest: open a page: %v", err)
		}
	case <-time.After(ActionTimeout):
		t.Fatalf("browsertest: open a page: no tab after %v", ActionTimeout)
	}
	opts := []chromedp.EmulateViewportOption{chromedp.EmulateScale(1)}
	if v.Mobile {
		opts = append(opts, chromedp.EmulateMobile, chromedp.EmulatePortrait)
	}
	p.do(fmt.Sprintf("set the viewport to %dx%d", v.Width, v.Height),
		chromedp.EmulateViewport(int64(v.Width), int64(v.Height), opts...))
	return p
}

// DisableAutoCheck stops the CheckClean that runs when the test ends: for
// a test that expects faults and reads them with Events.
func (p *Page) DisableAutoCheck() { p.autoCheck = false }

// do runs the steps within ActionTimeout, failing the test with what
// when they fail.
func (p *Page) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, ActionTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		p.fail(what, err)
	}
}

// run is do for an action with a value.
func run[T any](p *Page, what string, a chromedp.Action[T]) T {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, ActionTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		p.fail(what, err)
	}
	return v
}

func (p *Page) fail(what string, err error) {
	p.t.Helper()
	if errors.Is(err, context.DeadlineExceeded) {
		p.t.Fatalf("browsertest: %s: nothing after %v (%v)", what, ActionTimeout, err)
	}
	p.t.Fatalf("browsertest: %s: %v", what, err)
}

// Go loads url and waits for its load event; it returns the HTTP status
// of the document (after redirects).
func (p *Page) Go(url string) int {
	p.t.Helper()
	resp := run(p, "go to "+url, chromedp.NavigateResponse(url))
	if resp == nil {
		return 0
	}
	return int(resp.Status)
}

// Click clicks the centre of the first visible element matching the CSS
// selector, with the mouse, as a user would. It does not wait for a
// navigation the click starts: wrap it in WaitLoad, or use Submit.
func (p *Page) Click(selector string) {
	p.t.Helper()
	p.do("click "+selector, chromedp.Click(chromedp.CSS(selector)))
}

// Fill puts value in the field matching the CSS selector, replacing what
// it held: typed in one go, as a paste would (input events fire), or, for
// a <select>, the option of that value chosen (change fires).
func (p *Page) Fill(selector, value string) {
	p.t.Helper()
	what := "fill " + selector
	p.do(what, chromedp.WaitReady(chromedp.CSS(selector)))
	var typeIt bool
	p.evalFunc(what, `(sel, value) => {
		const el = document.querySelector(sel);
		const changed = () => {
			el.dispatchEvent(new Event("input", {bubbles: true}));
			el.dispatchEvent(new Event("change", {bubbles: true}));
		};
		if (el.tagName === "SELECT") {
			el.value = value;
			if (el.value !== value) throw new Error("no option " + JSON.stringify(value));
			changed();
			return false;
		}
		el.focus();
		if (value === "") { el.value = ""; changed(); return false; }
		if (typeof el.select === "function") el.select();
		return true;
	}`, &typeIt, selector, value)
	if !typeIt {
		return
	}
	// Input.insertText replaces the selection as typing would, so the
	// page's own input handlers (typed confirmations) see it.
	p.do(what, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, input.InsertText, input.InsertTextParams{Text: value})
		return err
	}))
}

// WaitLoad runs trigger (a Click on a link, a Press("Enter") on a button)
// and waits until the page it leads to has loaded; it returns that page's
// HTTP status. A trigger that leads nowhere fails after ActionTimeout.
func (p *Page) WaitLoad(trigger func()) int {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, ActionTimeout)
	defer cancel()
	// RunResponse listens before its steps run, so no load is missed;
	// trigger runs its own actions on the tab meanwhile.
	resp, err := chromedp.RunResponse(ctx, chromedp.Func(func(context.Context, *chromedp.Target) error {
		trigger()
		return nil
	}))
	if err != nil {
		p.fail("wait for the page to load", err)
	}
	if resp == nil {
		return 0
	}
	return int(resp.Status)
}

// Submit submits a form as its submit button would (validation and the
// submit event run, and a button's name=value is sent) and waits until the
// page it leads to has loaded; it returns that page's HTTP status. The
// selector names the form, or one of its submit buttons.
func (p *Page) Submit(selector string) int {
	p.t.Helper()
	what := "submit " + selector
	p.do(what, chromedp.WaitReady(chromedp.CSS(selector)))
	return p.WaitLoad(func() {
		p.evalFunc(what, `(sel) => {
			const el = document.querySelector(sel);
			if (el instanceof HTMLFormElement) { el.requestSubmit(); return; }
			if (!el.form) throw new Error(sel + " is neither a form nor in one");
			el.form.requestSubmit(el.type === "submit" ? el : undefined);
		}`, nil, selector)
	})
}

// Text returns the rendered text (innerText) of the first element matching
// the CSS selector, waiting for it to be there.
func (p *Page) Text(selector string) string {
	p.t.Helper()
	var text string
	p.do("text of "+selector, chromedp.WaitReady(chromedp.CSS(selector)))
	p.evalFunc("text of "+selector, `(sel) => document.querySelector(sel).innerText`, &text, selector)
	return text
}

// Attr returns the attribute name of the first element matching the CSS
// selector, waiting for the element; "" when it has no such attribute.
func (p *Page) Attr(selector, name string) string {
	p.t.Helper()
	what := fmt.Sprintf("attribute %s of %s", name, selector)
	p.do(what, chromedp.WaitReady(chromedp.CSS(selector)))
	var v string
	p.evalFunc(what, `(sel, name) => document.querySelector(sel).getAttribute(name) ?? ""`, &v, selector, name)
	return v
}

// Exists reports whether an element matches the CSS selector now; it
// does not wait.
func (p *Page) Exists(selector string) bool {
	p.t.Helper()
	var ok bool
	p.evalFunc("look for "+selector, `(sel) => document.querySelector(sel) !== null`, &ok, selector)
	return ok
}

// Eval runs the JavaScript expression in the page and decodes its value
// (JSON) into out; out may be nil. A promise is awaited.
func (p *Page) Eval(js string, out any) {
	p.t.Helper()
	raw := run(p, "evaluate "+js, chromedp.Evaluate[[]byte](js, chromedp.EvalAwaitPromise))
	p.decode("evaluate "+js, raw, out)
}

// evalFunc calls the JavaScript function fn with args and decodes its
// result into out.
func (p *Page) evalFunc(what, fn string, out any, args ...any) {
	p.t.Helper()
	js, err := call(fn, args...)
	if err != nil {
		p.t.Fatalf("browsertest: %s: %v", what, err)
	}
	raw := run(p, what, chromedp.Evaluate[[]byte](js, chromedp.EvalAwaitPromise))
	p.decode(what, raw, out)
}

// call returns the JavaScript expression that calls the function fn with
// args, JSON-encoded so that no quoting goes wrong.
func call(fn string, args ...any) (string, error) {
	encoded, err := json.Marshal(args)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("(%s)(...%s)", fn, encoded), nil
}

func (p *Page) decode(what string, raw []byte, out any) {
	p.t.Helper()
	if out == nil || len(raw) == 0 {
		return
	}
	if err := json.Unmarshal(raw, out); err != nil {
		p.t.Fatalf("browsertest: %s: decode %s: %v", what, raw, err)
	}
}

// Location returns the page's URL.
func (p *Page) Location() string {
	p.t.Helper()
	return run(p, "read the location", chromedp.Location())
}
