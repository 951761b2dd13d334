package httpapi

import (
	"slices"
	"testing"
	"time"

	"github.com/tokensvc/tokensvc/internal/journal"
)

// TestAuditPagesKeepAMicrosecondTogether: pages of the audit log go by
// time, so a page never ends inside a microsecond, whose other entries
// the next page's before would skip.
func TestAuditPagesKeepAMicrosecondTogether(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	at := func(us ...int) []journal.Entry {
		var es []journal.Entry
		for i, u := range us {
			es = append(es, journal.Entry{ID: string(rune('a' + i)), At: t0.Add(time.Duration(u) * time.Microsecond)})
		}
		return es
	}
	tests := []struct {
		name     string
		entries  []journal.Entry // as the store answers limit+1, newest first
		limit    int
		wantIDs  string
		wantNext time.Time
		// splits: more than limit entries share a microsecond, so the
		// rest of it is skipped (documented).
		splits bool
	}{
		{"last page", at(5, 4), 2, "ab", time.Time{}, false},
		{"clean end", at(5, 4, 3), 2, "ab", t0.Add(4 * time.Microsecond), false},
		{"end inside a microsecond", at(5, 4, 4), 2, "a", t0.Add(5 * time.Microsecond), false},
		{"a microsecond fills the page", at(4, 4, 4), 2, "ab", t0.Add(4 * time.Microsecond), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			page, next := AuditPageEnd(tc.entries, tc.limit)
			var ids []byte
			for _, e := range page {
				ids = append(ids, e.ID...)
			}
			if string(ids) != tc.wantIDs || !next.Equal(tc.wantNext) {
				t.Errorf("AuditPageEnd = %s, next %v; want %s, next %v", ids, next, tc.wantIDs, tc.wantNext)
			}
			// The next page, asked with before = next, starts right after.
			if !next.IsZero() && !tc.splits {
				rest := slices.IndexFunc(tc.entries, func(e journal.Entry) bool { return e.At.Before(next) })
				if rest != len(page) {
					t.Errorf("the next page would start at entry %d, want %d", rest, len(page))
				}
			}
		})
	}
}
