package keys

import (
	"context"
	"testing"
	"time"

	"github.com/tokensvc/tokensvc/internal/journal"
)

// TestOperatorActionWithoutTransitionIsAudited: an operator's change that
// moves no key to another state (a confirmation, which only marks the key
// registered) is still one audit entry on the key it wrote, with the
// outcome decide left in the operation.
func TestOperatorActionWithoutTransitionIsAudited(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	pending := Record{KID: "k1", State: StatePending, CreatedAt: now.Add(-time.Hour)}
	op := operation{ActionConfirm, journal.OutcomeForced}
	j := journalOf(context.Background(), keySet{pending}, []Record{pending}, now, op, plainDirections{})
	if len(j.Audit) != 1 || j.Audit[0].Action != ActionConfirm || j.Audit[0].Target != "k1" ||
		j.Audit[0].Outcome != journal.OutcomeForced || len(j.Events) != 0 {
		t.Errorf("recorded %+v, want one key.confirm entry on k1 with the operation's outcome and no event", j)
	}
	if j := journalOf(context.Background(), keySet{pending}, []Record{pending}, now, scheduled, plainDirections{}); !j.Empty() {
		t.Errorf("the schedule rewriting a key unchanged recorded %+v, want nothing", j)
	}
}
