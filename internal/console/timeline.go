package console

import (
	"fmt"
	"slices"
	"time"

	"github.com/tokensvc/tokensvc/internal/keys"
)

// The keys page's timeline: one bar per key, from its creation to the end
// of its publication (publish_until, expiry or revocation), or past now
// while it is still open, split in the states it went through. The SVG is
// laid out here, in numbers its template writes into x, y, width and
// height attributes; colours come from console.css classes, since the CSP
// allows no style attribute. The same facts are an ordered list of dated
// events, for screen readers and narrow screens.

// Timeline geometry, in the SVG's user units; the SVG scales to the width
// of the page with its viewBox.
const (
	tlWidth = 800
	tlTop   = 8
	tlRowH  = 34 // a label line and a bar
	tlBarH  = 14
	tlAxisH = 30
)

// timeline is the laid-out SVG and its list of events.
type timeline struct {
	Width, Height int
	Label         string // the SVG's aria-label
	Bars          []tlBar
	Ticks         []tlTick
	// NowX is where the "now" line is; NowY and NowH its extent.
	NowX, NowY, NowH int
	AxisY            int
	Events           []tlEvent
}

// tlBar is one key's bar: its label and its segments.
type tlBar struct {
	KID, Short, State string
	LabelY            int
	Segments          []tlSegment
}

// tlSegment is a span of one state, class "tl-pending", "tl-active" or
// "tl-retired"; Open marks a span that has not ended, drawn up to the
// timeline's end.
type tlSegment struct {
	State               string
	X, Y, Width, Height int
	From, To            time.Time
	Open                bool
}

// tlTick is a date mark on the axis.
type tlTick struct {
	X, Y, LabelY int
	Label        string
}

// tlEvent is one dated fact of the list.
type tlEvent struct {
	At   time.Time
	KID  string
	Text string
}

// newTimeline lays out recs (any order) at now.
func newTimeline(recs []keys.Record, now time.Time) timeline {
	recs = slices.Clone(recs)
	slices.SortStableFunc(recs, func(a, b keys.Record) int { return a.CreatedAt.Compare(b.CreatedAt) })
	t := timeline{Width: tlWidth}
	if len(recs) == 0 {
		t.Height = tlAxisH
		t.Label = "Timeline of the signing keys: there are none yet."
		return t
	}
	start, end := recs[0].CreatedAt, now
	for _, rec := range recs {
		if e := barEnd(rec); !e.IsZero() && e.After(end) {
			end = e
		}
	}
	// A margin past the last date, so that open bars visibly go on.
	margin := max(end.Sub(start)/10, 24*time.Hour)
	start, end = start.Add(-margin/4), end.Add(margin)
	x := func(at time.Time) int {
		return int(float64(tlWidth) * float64(at.Sub(start)) / float64(end.Sub(start)))
	}

	for i, rec := range recs {
		y := tlTop + i*tlRowH
		bar := tlBar{KID: rec.KID, Short: short(rec.KID), State: string(rec.State), LabelY: y + 11}
		barY := y + 15
		stop := barEnd(rec)
		open := stop.IsZero()
		if open {
			stop = end
		}
		for _, s := range stateSpans(rec, stop) {
			if !s.To.After(s.From) {
				continue
			}
			x0, x1 := x(s.From), x(s.To)
			bar.Segments = append(bar.Segments, tlSegment{
				State: s.State, X: x0, Y: barY, Width: max(x1-x0, 2), Height: tlBarH,
				From: s.From, To: s.To, Open: open && s.To.Equal(stop),
			})
		}
		t.Bars = append(t.Bars, bar)
		t.Events = append(t.Events, eventsOf(rec, now)...)
	}
	t.AxisY = tlTop + len(recs)*tlRowH + 4
	t.Height = t.AxisY + tlAxisH
	t.NowX, t.NowY, t.NowH = x(now), tlTop, t.AxisY-tlTop
	for _, at := range ticks(start, end) {
		if x(at) < 30 || x(at) > tlWidth-30 {
			continue // its label would be cut at the edge
		}
		t.Ticks = append(t.Ticks, tlTick{X: x(at), Y: t.AxisY, LabelY: t.AxisY + 20, Label: at.UTC().Format("2 Jan 2006")})
	}
	slices.SortStableFunc(t.Events, func(a, b tlEvent) int { return a.At.Compare(b.At) })
	t.Label = fmt.Sprintf("Timeline of %d signing keys, from %s to %s: each key's bar shows when it was pending, active and retired; the list below gives the same dates.",
		len(recs), recs[0].CreatedAt.UTC().Format("2 Jan 2006"), end.UTC().Format("2 Jan 2006"))
	return t
}

// barEnd is when rec stopped (or stops) being published, or zero while
// that is not known: a pending or active key.
func barEnd(rec keys.Record) time.Time {
	switch {
	case !rec.RevokedAt.IsZero():
		return rec.RevokedAt
	case !rec.ExpiredAt.IsZero():
		return rec.ExpiredAt
	case !rec.PublishUntil.IsZero():
		return rec.PublishUntil
	}
	return time.Time{}
}

// span is a state held from From to To.
type span struct {
	State    string
	From, To time.Time
}

// stateSpans are rec's pending, active and retired spans, cut at stop.
func stateSpans(rec keys.Record, stop time.Time) []span {
	clip := func(t time.Time) time.Time {
		if t.IsZero() || t.After(stop) {
			return stop
		}
		return t
	}
	var out []span
	activated, retired := rec.ActivatedAt, rec.RetiredAt
	out = append(out, span{string(keys.StatePending), rec.CreatedAt, clip(activated)})
	if !activated.IsZero() {
		out = append(out, span{string(keys.StateActive), clip(activated), clip(retired)})
	}
	if !retired.IsZero() {
		out = append(out, span{string(keys.StateRetired), clip(retired), stop})
	}
	return out
}

// eventsOf are rec's dated facts, for the list.
func eventsOf(rec keys.Record, now time.Time) []tlEvent {
	ev := []tlEvent{{rec.CreatedAt, rec.KID, "created, pending"}}
	add := func(at time.Time, text string) {
		if !at.IsZero() {
			ev = append(ev, tlEvent{at, rec.KID, text})
		}
	}
	add(rec.RegisteredAt, "confirmed in MoEngage by "+rec.RegisteredBy)
	add(rec.ActivatedAt, "activated: signs")
	add(rec.RetiredAt, "retired: no longer signs")
	if rec.ExpiredAt.IsZero() && rec.RevokedAt.IsZero() && !rec.PublishUntil.IsZero() {
		if rec.PublishUntil.After(now) {
			add(rec.PublishUntil, "stops being published (publish-until)")
		} else {
			add(rec.PublishUntil, "stopped being published (publish-until)")
		}
	}
	add(rec.ExpiredAt, "expired: no longer published")
	add(rec.RevokedAt, "revoked: no longer published")
	return ev
}

// ticks are the dates to mark between start and end: whole days, a step
// apart that leaves at most six.
func ticks(start, end time.Time) []time.Time {
	const day = 24 * time.Hour
	step := day
	for _, days := range []int{1, 2, 7, 14, 30, 61, 91, 182, 365, 730} {
		step = time.Duration(days) * day
		if end.Sub(start)/step <= 6 {
			break
		}
	}
	var out []time.Time
	for at := start.UTC().Truncate(day).Add(day); at.Before(end); at = at.Add(step) {
		out = append(out, at)
	}
	return out
}

// short is the start of a kid, enough to tell keys apart on a bar.
func short(kid string) string {
	if len(kid) <= 10 {
		return kid
	}
	return kid[:10] + "…"
}
