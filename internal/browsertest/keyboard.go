package browsertest

import (
	"context"
	"strings"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// The keyboard helpers let a test prove a page works without a mouse:
// Tab to a control, check Focused, Press Enter or Space.

// Tab presses the Tab key: focus moves to the next control.
func (p *Page) Tab() {
	p.t.Helper()
	p.Press("Tab")
}

// Press presses one key, named as KeyboardEvent.key names it ("Enter",
// "Tab", "Escape", "ArrowDown", "Space" or " ", "a"), with optional
// modifiers before it: "Shift+Tab", "Control+a".
func (p *Page) Press(key string) {
	p.t.Helper()
	var mods chromedp.Modifier
	name := key
	for {
		prefix, rest, ok := strings.Cut(name, "+")
		if !ok || rest == "" {
			break
		}
		switch prefix {
		case "Shift":
			mods |= chromedp.ModifierShift
		case "Control", "Ctrl":
			mods |= chromedp.ModifierCtrl
		case "Alt":
			mods |= chromedp.ModifierAlt
		case "Meta":
			mods |= chromedp.ModifierMeta
		default:
			p.t.Fatalf("browsertest: press %q: unknown modifier %q", key, prefix)
		}
		name = rest
	}
	r, ok := keyRune(name)
	if !ok {
		p.t.Fatalf("browsertest: press %q: unknown key %q", key, name)
	}
	p.do("press "+key, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		for _, ev := range kb.Encode(r) {
			ev.Modifiers |= int64(mods)
			// A shortcut types nothing: Control+a selects, it adds no "a".
			if ev.Type == input.DispatchKeyEventTypeChar && mods&^chromedp.ModifierShift != 0 {
				continue
			}
			if _, err := cdp.Call(ctx, t, input.DispatchKeyEvent, *ev); err != nil {
				return err
			}
		}
		return nil
	}))
}

// namedKeys are the keys a keyboard-only test uses, by KeyboardEvent.key
// name; a single character stands for itself.
var namedKeys = map[string]string{
	"Tab": kb.Tab, "Enter": kb.Enter, "Escape": kb.Escape, "Space": " ",
	"Backspace": kb.Backspace, "Delete": kb.Delete,
	"ArrowDown": kb.ArrowDown, "ArrowUp": kb.ArrowUp, "ArrowLeft": kb.ArrowLeft, "ArrowRight": kb.ArrowRight,
	"Home": kb.Home, "End": kb.End, "PageDown": kb.PageDown, "PageUp": kb.PageUp,
}

// keyRune returns the rune kb encodes as the key named name.
func keyRune(name string) (rune, bool) {
	if k, ok := namedKeys[name]; ok {
		name = k
	}
	if rs := []rune(name); len(rs) == 1 {
		return rs[0], true
	}
	return 0, false
}

// Focused names the focused element: its id, else its name, else its tag
// name in lower case ("body" when nothing is focused).
func (p *Page) Focused() string {
	p.t.Helper()
	var name string
	p.Eval(`(() => {
		const el = document.activeElement;
		if (!el) return "";
		return el.id || el.getAttribute("name") || el.tagName.toLowerCase();
	})()`, &name)
	return name
}
