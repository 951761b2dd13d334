package browsertest

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"sync"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// screenshotDir is where Screenshot writes: TOKENSVC_SCREENSHOTS, or one
// temporary folder per test binary, made at the first screenshot and kept
// after the run so a person can look at the pictures.
var screenshotDir struct {
	once sync.Once
	path string
	err  error
}

// Screenshot writes the whole page (not only the viewport), as
// <name>.png, into the folder TOKENSVC_SCREENSHOTS names, else into a
// temporary folder whose path the first screenshot logs; it returns the
// file's path. The picture is as wide as the viewport, or wider where the
// page overflows it, which is worth seeing at 375 px.
func (p *Page) Screenshot(name string) string {
	p.t.Helper()
	screenshotDir.once.Do(func() {
		if dir := os.Getenv("TOKENSVC_SCREENSHOTS"); dir != "" {
			screenshotDir.path, screenshotDir.err = dir, os.MkdirAll(dir, 0o755)
			return
		}
		screenshotDir.path, screenshotDir.err = os.MkdirTemp("", "tokensvc-screenshots-")
		if screenshotDir.err == nil {
			p.t.Logf("browsertest: screenshots are written to %s (set TOKENSVC_SCREENSHOTS to choose)", screenshotDir.path)
		}
	})
	if screenshotDir.err != nil {
		p.t.Fatalf("browsertest: screenshot %s: %v", name, screenshotDir.err)
	}
	png := run(p, "screenshot "+name, fullPage)
	path := filepath.Join(screenshotDir.path, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		p.t.Fatalf("browsertest: screenshot %s: %v", name, err)
	}
	return path
}

// fullPage captures the page's whole content, at one device pixel per
// CSS pixel (the viewports have a scale of 1).
func fullPage(ctx context.Context, t *chromedp.Target) ([]byte, error) {
	m, err := cdp.Call(ctx, t, page.GetLayoutMetrics, cdp.Empty{})
	if err != nil {
		return nil, err
	}
	size := m.CSSContentSize
	vp := m.CSSLayoutViewport
	// A page shorter or narrower than the viewport is shot at the
	// viewport's size, as a person sees it.
	width := math.Max(size.Width, float64(vp.ClientWidth))
	height := math.Max(size.Height, float64(vp.ClientHeight))
	shot, err := cdp.Call(ctx, t, page.CaptureScreenshot, page.CaptureScreenshotParams{
		Format:                page.CaptureScreenshotFormatPng,
		CaptureBeyondViewport: new(true),
		FromSurface:           new(true),
		Clip:                  &page.Viewport{X: 0, Y: 0, Width: width, Height: height, Scale: 1},
	})
	if err != nil {
		return nil, err
	}
	return shot.Data, nil
}
