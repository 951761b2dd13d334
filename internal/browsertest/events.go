package browsertest

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
)

// Event is a fault a page showed in DevTools' console, or a request of
// it that failed: what CheckClean reports.
type Event struct {
	// Kind says where it came from: "console" (console.error or
	// console.warn), "exception" (uncaught, in a script or a promise),
	// "log" (the browser's own message: a Content-Security-Policy
	// violation, an asset answered 404, a deprecation), or "network" (a
	// request that got no answer, or that the browser blocked).
	Kind string
	// Level is "error" or "warning".
	Level string
	// Source is the browser's source of a "log" event ("security" for a
	// CSP violation, "network", "javascript"…), or the blocked reason of
	// a "network" one ("csp", "mixed-content"…); else "".
	Source string
	Text   string
	URL    string // the document, script or request it concerns, when known
}

func (e Event) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", e.Kind, e.Level)
	if e.Source != "" {
		fmt.Fprintf(&b, " (%s)", e.Source)
	}
	fmt.Fprintf(&b, ": %s", e.Text)
	if e.URL != "" {
		fmt.Fprintf(&b, " [%s]", e.URL)
	}
	return b.String()
}

// CSPViolation reports whether e is the browser refusing something under
// the page's Content-Security-Policy.
func (e Event) CSPViolation() bool {
	return e.Source == "security" || e.Source == "csp" ||
		strings.Contains(e.Text, "Content Security Policy") || strings.HasPrefix(e.Text, "Refused to")
}

// Events returns the faults recorded since the page opened, in the order
// they came.
func (p *Page) Events() []Event {
	return p.recorder.events()
}

// CheckClean fails t, listing them, when the page recorded any fault since
// it opened. It runs by itself when the test ends (see DisableAutoCheck).
func (p *Page) CheckClean(t testing.TB) {
	t.Helper()
	events := p.Events()
	if len(events) == 0 {
		return
	}
	// The browser can say the same thing twice (a stylesheet refused by
	// the preload scanner and by the parser): one line each, counted.
	var order []Event
	count := map[Event]int{}
	for _, e := range events {
		if count[e]++; count[e] == 1 {
			order = append(order, e)
		}
	}
	var b strings.Builder
	for _, e := range order {
		b.WriteString("\n\t" + e.String())
		if n := count[e]; n > 1 {
			fmt.Fprintf(&b, " (%d times)", n)
		}
	}
	t.Errorf("browsertest: the page recorded %d fault(s):%s", len(events), b.String())
}

// recorder keeps a page's faults. Its record runs in chromedp's loop that
// reads the tab's messages, in their order (a request's start comes before
// its failure), so it must be quick and must not call the browser.
type recorder struct {
	mu sync.Mutex
	// requests holds the URL and resource type of each request seen, for
	// the failures and log entries that name only its id.
	requests map[network.RequestID]request
	list     []Event
}

type request struct {
	url string
	typ network.ResourceType
}

func newRecorder() *recorder {
	return &recorder{requests: map[network.RequestID]request{}}
}

func (r *recorder) events() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Event(nil), r.list...)
}

func (r *recorder) add(e Event) {
	r.list = append(r.list, e)
}

// record is the page's chromedp listener.
func (r *recorder) record(ev any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch ev := ev.(type) {
	case *network.EventRequestWillBeSent:
		r.requests[ev.RequestID] = request{url: ev.Request.URL, typ: ev.Type}
	case *runtime.EventConsoleAPICalled:
		var level string
		switch ev.Type {
		case runtime.ConsoleAPICalledTypeError, runtime.ConsoleAPICalledTypeAssert:
			level = "error"
		case runtime.ConsoleAPICalledTypeWarning:
			level = "warning"
		default:
			return
		}
		r.add(Event{Kind: "console", Level: level, Text: argsText(ev.Args), URL: stackURL(ev.StackTrace)})
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		text := d.Text
		if d.Exception != nil && d.Exception.Description != "" {
			text += " " + d.Exception.Description
		}
		url := d.URL
		if url == "" {
			url = stackURL(d.StackTrace)
		}
		r.add(Event{Kind: "exception", Level: "error", Text: text, URL: url})
	case *log.EventEntryAdded:
		r.logEntry(ev.Entry)
	case *network.EventLoadingFailed:
		// A request cut short by the page moving on (a form submitted
		// while an image loads) is no fault.
		if ev.Canceled && ev.BlockedReason == "" {
			return
		}
		text := ev.ErrorText
		if text == "" && ev.BlockedReason != "" {
			text = "blocked: " + string(ev.BlockedReason)
		}
		r.add(Event{Kind: "network", Level: "error", Source: string(ev.BlockedReason),
			Text: text, URL: r.requests[ev.RequestID].url})
	}
}

func (r *recorder) logEntry(e *log.Entry) {
	security := e.Source == log.EntrySourceSecurity
	if e.Level != log.EntryLevelError && e.Level != log.EntryLevelWarning && !security {
		return // verbose and info: hints, not faults
	}
	// The document's own HTTP status ("Failed to load resource: … 401")
	// is the page the test asked for, and the test asserts that status;
	// a failed asset or fetch stays a fault.
	if e.Source == log.EntrySourceNetwork && e.NetworkRequestID != "" &&
		r.requests[e.NetworkRequestID].typ == network.ResourceTypeDocument {
		return
	}
	url := e.URL
	if url == "" && e.NetworkRequestID != "" {
		url = r.requests[e.NetworkRequestID].url
	}
	// Chromium asks for /favicon.ico by itself where a page names no
	// icon; that request is the browser's guess, not the page's.
	if e.Source == log.EntrySourceNetwork && isImplicitFavicon(url) {
		return
	}
	level := string(e.Level)
	if level != "error" && level != "warning" {
		level = "error" // a security entry counts whatever its level
	}
	r.add(Event{Kind: "log", Level: level, Source: string(e.Source), Text: e.Text, URL: url})
}

// isImplicitFavicon reports whether rawURL is a site's /favicon.ico.
func isImplicitFavicon(rawURL string) bool {
	u, err := url.Parse(rawURL)
	return err == nil && u.Path == "/favicon.ico" && u.RawQuery == ""
}

// argsText joins a console call's arguments as the console shows them,
// roughly: strings bare, other values as JSON or their description.
func argsText(args []*runtime.RemoteObject) string {
	parts := make([]string, 0, len(args))
	for _, a := range args {
		switch {
		case len(a.Value) > 0:
			var s string
			if json.Unmarshal(a.Value, &s) == nil {
				parts = append(parts, s)
			} else {
				parts = append(parts, string(a.Value))
			}
		case a.UnserializableValue != "":
			parts = append(parts, string(a.UnserializableValue))
		case a.Description != "":
			parts = append(parts, a.Description)
		default:
			parts = append(parts, string(a.Type))
		}
	}
	return strings.Join(parts, " ")
}

// stackURL returns where the top of a stack is, as url:line.
func stackURL(s *runtime.StackTrace) string {
	if s == nil || len(s.CallFrames) == 0 {
		return ""
	}
	f := s.CallFrames[0]
	return fmt.Sprintf("%s:%d", f.URL, f.LineNumber+1)
}
