package browsertest_test

import (
	"encoding/binary"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tokensvc/tokensvc/internal/browsertest"
)

func TestMain(m *testing.M) { browsertest.Main(m) }

// site serves the pages the tests load, each with the console's
// Content-Security-Policy unless the page says otherwise.
func site(t *testing.T) string {
	t.Helper()
	const csp = "default-src 'self'"
	page := func(body string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Security-Policy", csp)
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprint(w, `<!doctype html><html lang="en"><meta charset="utf-8">`+
				`<meta name="viewport" content="width=device-width, initial-scale=1">`+
				`<link rel="stylesheet" href="/site.css"><title>test</title>`+body)
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /site.css", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/css")
		fmt.Fprint(w, "body { margin: 0; font-family: sans-serif } .tall { height: 2000px }")
	})
	mux.HandleFunc("GET /errors.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		fmt.Fprint(w, `console.log("not a fault"); console.error("the page broke", 42);`)
	})
	mux.HandleFunc("GET /throws.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		fmt.Fprint(w, `undefinedFunction();`)
	})
	mux.Handle("GET /clean", page(`<h1>Clean</h1><p class="tall">nothing wrong here</p>`))
	mux.Handle("GET /inline-script", page(`<h1>Inline</h1><script>document.title = "ran"</script>`))
	mux.Handle("GET /console-error", page(`<h1>Errors</h1><script src="/errors.js"></script>`))
	mux.Handle("GET /throws", page(`<h1>Throws</h1><script src="/throws.js"></script>`))
	mux.Handle("GET /missing-asset", page(`<h1>Missing</h1><img src="/nothing.png" alt="nothing">`))
	mux.Handle("GET /form", page(`<h1>Form</h1>
		<form method="post" action="/form">
			<label for="name">Name</label> <input id="name" name="name" value="old">
			<label for="scope">Scope</label>
			<select id="scope" name="scope"><option>read</option><option>admin</option></select>
			<button id="go" name="action" value="save">Save</button>
		</form>
		<a id="link" href="/clean">a link</a>`))
	mux.HandleFunc("POST /form", func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		http.SetCookie(w, &http.Cookie{Name: "session", Value: "s1", Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode})
		http.Redirect(w, r, "/done?"+r.PostForm.Encode(), http.StatusSeeOther)
	})
	mux.HandleFunc("GET /done", func(w http.ResponseWriter, r *http.Request) {
		page(`<h1>Done</h1>`)(w, r)
		// What the form sent comes back in a data attribute (no inline
		// script); the test reads it with Attr.
		q := r.URL.Query()
		got := fmt.Sprintf("name=%s scope=%s action=%s", q.Get("name"), q.Get("scope"), q.Get("action"))
		fmt.Fprintf(w, `<output id="echo" data-q="%s">%[1]s</output>`, html.EscapeString(got))
	})
	mux.Handle("GET /unauthorized", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", csp)
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `<!doctype html><html lang="en"><title>no</title><h1>Wrong key</h1>`)
	}))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL
}

// recordingTB stands in for a test in CheckClean, to see what it reports.
type recordingTB struct {
	testing.TB
	errors []string
}

func (r *recordingTB) Helper() {}
func (r *recordingTB) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func TestCheckCleanReports(t *testing.T) {
	url := site(t)
	tests := []struct {
		name, path string
		want       []string // in CheckClean's report, each
	}{
		{"an inline script under CSP", "/inline-script", []string{"log error (security)", "Content Security Policy"}},
		{"console.error", "/console-error", []string{"console error: the page broke 42", "/errors.js"}},
		{"an uncaught exception", "/throws", []string{"exception error", "undefinedFunction is not defined"}},
		{"an image answered 404", "/missing-asset", []string{"404", "/nothing.png"}},
	}
	b := browsertest.Start(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := b.NewPage(t, browsertest.Desktop)
			p.DisableAutoCheck()
			p.Go(url + tt.path)
			// Exceptions and log entries can follow the load event.
			waitForEvents(t, p)
			var rec recordingTB
			p.CheckClean(&rec)
			if len(rec.errors) != 1 {
				t.Fatalf("CheckClean reported %d errors, want 1: %q", len(rec.errors), rec.errors)
			}
			for _, w := range tt.want {
				if !strings.Contains(rec.errors[0], w) {
					t.Errorf("CheckClean's report lacks %q:\n%s", w, rec.errors[0])
				}
			}
			if strings.Contains(rec.errors[0], "not a fault") {
				t.Errorf("console.log reported:\n%s", rec.errors[0])
			}
		})
	}
	t.Run("CSP violation is marked", func(t *testing.T) {
		p := b.NewPage(t, browsertest.Desktop)
		p.DisableAutoCheck()
		p.Go(url + "/inline-script")
		waitForEvents(t, p)
		var csp bool
		for _, e := range p.Events() {
			csp = csp || e.CSPViolation()
		}
		if !csp {
			t.Errorf("no event is a CSP violation: %v", p.Events())
		}
		var title string
		p.Eval(`document.title`, &title)
		if title == "ran" {
			t.Error("the inline script ran despite the CSP")
		}
	})
}

// waitForEvents waits a little for a page's first fault, which the
// browser can report after the load event.
func waitForEvents(t *testing.T, p *browsertest.Page) {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if len(p.Events()) > 0 {
			return
		}
	}
}

func TestCleanPageRecordsNothing(t *testing.T) {
	url := site(t)
	p := browsertest.Start(t).NewPage(t, browsertest.Desktop)
	if status := p.Go(url + "/clean"); status != http.StatusOK {
		t.Errorf("status %d", status)
	}
	if got := p.Text("h1"); got != "Clean" {
		t.Errorf("h1 %q", got)
	}
	// The page's own 401 is what the test asked for, not a fault.
	if status := p.Go(url + "/unauthorized"); status != http.StatusUnauthorized {
		t.Errorf("status %d", status)
	}
	time.Sleep(200 * time.Millisecond) // give a late fault time to show
	if events := p.Events(); len(events) != 0 {
		t.Errorf("a clean page recorded %v", events)
	}
}

func TestFormSubmitAndRead(t *testing.T) {
	url := site(t)
	p := browsertest.Start(t).NewPage(t, browsertest.Desktop)
	p.Go(url + "/form")
	if !p.Exists("#name") || p.Exists("#nothing") {
		t.Fatal("Exists disagrees with the page")
	}
	if got := p.Attr("#name", "value"); got != "old" {
		t.Errorf("value attribute %q", got)
	}
	var value string
	p.Fill("#name", "")
	p.Eval(`document.querySelector("#name").value`, &value)
	if value != "" {
		t.Errorf("after Fill with \"\", value %q", value)
	}
	p.Fill("#name", "Ada & Grace")
	p.Fill("#scope", "admin")
	p.Eval(`document.querySelector("#name").value`, &value)
	if value != "Ada & Grace" {
		t.Errorf("after Fill, value %q", value)
	}
	if status := p.Submit("#go"); status != http.StatusOK {
		t.Errorf("submit: status %d", status)
	}
	if got := p.Text("h1"); got != "Done" {
		t.Fatalf("after submit, h1 %q", got)
	}
	want := "name=Ada & Grace scope=admin action=save"
	if got := p.Attr("#echo", "data-q"); got != want {
		t.Errorf("the server got %q, want %q", got, want)
	}
	if !strings.HasSuffix(strings.SplitN(p.Location(), "?", 2)[0], "/done") {
		t.Errorf("location %s", p.Location())
	}
	c, ok := p.Cookie("session")
	if !ok || c.Value != "s1" || !c.HTTPOnly || c.SameSite != "Strict" || c.Secure || !c.Session {
		t.Errorf("session cookie %+v, %v", c, ok)
	}
}

func TestKeyboard(t *testing.T) {
	url := site(t)
	p := browsertest.Start(t).NewPage(t, browsertest.Desktop)
	p.Go(url + "/form")
	var order []string
	for range 4 {
		p.Tab()
		order = append(order, p.Focused())
	}
	if want := []string{"name", "scope", "go", "link"}; strings.Join(order, ",") != strings.Join(want, ",") {
		t.Errorf("Tab moved focus through %v, want %v", order, want)
	}
	p.Press("Shift+Tab")
	if got := p.Focused(); got != "go" {
		t.Errorf("Shift+Tab focused %q, want go", got)
	}
	// Enter on the focused button submits the form.
	if status := p.WaitLoad(func() { p.Press("Enter") }); status != http.StatusOK {
		t.Errorf("Enter on the button: status %d", status)
	}
	if got := p.Attr("#echo", "data-q"); !strings.Contains(got, "action=save") {
		t.Errorf("Enter on the button sent %q", got)
	}
}

func TestClickLink(t *testing.T) {
	url := site(t)
	p := browsertest.Start(t).NewPage(t, browsertest.Phone)
	p.Go(url + "/form")
	if status := p.WaitLoad(func() { p.Click("#link") }); status != http.StatusOK {
		t.Errorf("status %d", status)
	}
	if got := p.Text("h1"); got != "Clean" {
		t.Errorf("after the click, h1 %q", got)
	}
}

func TestScreenshot(t *testing.T) {
	url := site(t)
	dir := t.TempDir()
	t.Setenv("TOKENSVC_SCREENSHOTS", dir)
	b := browsertest.Start(t)
	for _, v := range []browsertest.Viewport{browsertest.Desktop, browsertest.Phone} {
		t.Run(fmt.Sprint(v.Width), func(t *testing.T) {
			p := b.NewPage(t, v)
			p.Go(url + "/clean")
			name := fmt.Sprintf("clean-%d", v.Width)
			path := p.Screenshot(name)
			if path != filepath.Join(dir, name+".png") {
				t.Errorf("written to %s", path)
			}
			width, height := pngSize(t, path)
			if width != v.Width {
				t.Errorf("width %d, want %d", width, v.Width)
			}
			// The whole page, not only the viewport: the page is 2000 px tall.
			if height < 2000 {
				t.Errorf("height %d, want the whole page (≥ 2000)", height)
			}
		})
	}
}

// pngSize reads a PNG's width and height from its IHDR chunk.
func pngSize(t *testing.T, path string) (int, int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 24 || string(b[:8]) != "\x89PNG\r\n\x1a\n" || string(b[12:16]) != "IHDR" {
		t.Fatalf("%s is not a PNG", path)
	}
	return int(binary.BigEndian.Uint32(b[16:20])), int(binary.BigEndian.Uint32(b[20:24]))
}

// A page's faults fail the test when it ends, with no call to CheckClean:
// the test runs itself in a child process with a page that breaks CSP.
func TestFaultsFailTheTestAtCleanup(t *testing.T) {
	if os.Getenv("BROWSERTEST_CHILD") == "1" {
		url := site(t)
		p := browsertest.Start(t).NewPage(t, browsertest.Desktop)
		p.Go(url + "/inline-script")
		waitForEvents(t, p)
		return
	}
	browsertest.Start(t) // skips, or fails under CI, where there is no Chromium
	cmd := exec.Command(os.Args[0], "-test.run=^TestFaultsFailTheTestAtCleanup$", "-test.count=1")
	cmd.Env = append(os.Environ(), "BROWSERTEST_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("the child test passed:\n%s", out)
	}
	if !strings.Contains(string(out), "Content Security Policy") || !strings.Contains(string(out), "--- FAIL") {
		t.Errorf("the child failed, not for the CSP violation:\n%s", out)
	}
}
