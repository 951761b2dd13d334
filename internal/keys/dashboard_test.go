package keys_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tokensvc/tokensvc/internal/keys"
)

// TestUnconfirmedKeysSayAdd guards the dashboard column against telling an
// operator to keep a key nobody registered: the first key at first start and
// the brand-new key an emergency revoke makes sign are published and never
// confirmed, so the dashboard still needs them added.
func TestUnconfirmedKeysSayAdd(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, testPolicy)
	first := r.ring.Snapshot().Records[0]
	if got := keys.Dashboard(first, r.clock.now()); got != keys.DashboardAdd {
		t.Errorf("first key at first start: dashboard %s, want add", got)
	}
	rv, err := r.rot.Revoke(ctx, first.KID)
	if err != nil {
		t.Fatal(err)
	}
	if got := keys.Dashboard(*rv.Replacement, r.clock.now()); got != keys.DashboardAdd {
		t.Errorf("brand-new replacement after an emergency revoke: dashboard %s, want add", got)
	}
}

// dashboardOf returns the dashboard action of kid as the ring last loaded
// it, at the rig's time.
func (r *rig) dashboardOf(t *testing.T, kid string) keys.DashboardAction {
	t.Helper()
	for _, rec := range r.ring.Snapshot().Records {
		if rec.KID == kid {
			return keys.Dashboard(rec, r.clock.now())
		}
	}
	t.Fatalf("no key %s", kid)
	return ""
}

// wantDashboard checks the action of each kid given, and the unregistered
// count the metrics export.
func (r *rig) wantDashboard(t *testing.T, step string, unregistered int, want map[string]keys.DashboardAction) {
	t.Helper()
	for kid, w := range want {
		if got := r.dashboardOf(t, kid); got != w {
			t.Errorf("%s: key %s dashboard %s, want %s", step, kid, got, w)
		}
	}
	if got := r.rot.Health().Unregistered; got != unregistered {
		t.Errorf("%s: %d unregistered keys, want %d", step, got, unregistered)
	}
}

func (r *rig) confirm(t *testing.T, kid string) keys.Record {
	t.Helper()
	rec, err := r.rot.Confirm(context.Background(), kid, "apikey:ak_ops (ops)")
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

// TestDashboardThroughFirstStartAndScheduledRotation walks the first key
// and a scheduled rotation on an injected clock, checking the dashboard
// action at every step: add → confirm → keep → remove, and none for a key
// never confirmed once it is no longer published.
func TestDashboardThroughFirstStartAndScheduledRotation(t *testing.T) {
	ctx := context.Background()
	add, keep, remove, none := keys.DashboardAdd, keys.DashboardKeep, keys.DashboardRemove, keys.DashboardNone
	r := newRig(t, testPolicy)
	first, _ := r.ring.Active()
	r.wantDashboard(t, "first start", 1, map[string]keys.DashboardAction{first.KID: add})

	confirmed := r.confirm(t, first.KID)
	if !confirmed.RegisteredAt.Equal(r.clock.now()) || confirmed.RegisteredBy != "apikey:ak_ops (ops)" || confirmed.SealedPrivateKey != nil {
		t.Fatalf("confirm = %+v", confirmed)
	}
	r.wantDashboard(t, "first key confirmed", 0, map[string]keys.DashboardAction{first.KID: keep})
	r.clock.advance(time.Hour)
	if again, err := r.rot.Confirm(ctx, first.KID, "apikey:ak_other (other)"); err != nil ||
		!again.RegisteredAt.Equal(confirmed.RegisteredAt) || again.RegisteredBy != confirmed.RegisteredBy {
		t.Errorf("confirming twice = %+v, %v; want the first confirmation kept", again, err)
	}

	r.clock.advance(testPolicy.RotationPeriod - testPolicy.RotationLead)
	created, err := r.rot.Step(ctx)
	if err != nil || len(created) != 1 || created[0].State != keys.StatePending {
		t.Fatalf("step at the lead time = %+v, %v; want a pending key", created, err)
	}
	next := created[0].KID
	r.wantDashboard(t, "next key created", 1, map[string]keys.DashboardAction{first.KID: keep, next: add})

	_, _, err = r.rot.Activate(ctx, next, false)
	var nr *keys.NotRegisteredError
	if !errors.Is(err, keys.ErrNotRegistered) || !errors.As(err, &nr) || nr.KID != next ||
		!strings.Contains(err.Error(), "MoEngage refuses") {
		t.Fatalf("activating an unconfirmed key: err = %v, want ErrNotRegistered saying why", err)
	}
	if k, _ := r.ring.Active(); k.KID != first.KID {
		t.Fatal("a refused activation changed the signing key")
	}

	r.confirm(t, next)
	r.wantDashboard(t, "next key confirmed", 0, map[string]keys.DashboardAction{first.KID: keep, next: keep})
	r.clock.advance(testPolicy.RotationLead)
	if _, _, err := r.rot.Activate(ctx, next, false); err != nil {
		t.Fatal(err)
	}
	r.wantDashboard(t, "next key activated", 0, map[string]keys.DashboardAction{first.KID: keep, next: keep})

	r.clock.advance(testPolicy.MaxTokenTTL + testPolicy.Leeway)
	r.wantDashboard(t, "old key's last token expired", 0, map[string]keys.DashboardAction{first.KID: remove, next: keep})
	if _, err := r.rot.Step(ctx); err != nil {
		t.Fatal(err)
	}
	r.wantDashboard(t, "old key expired", 0, map[string]keys.DashboardAction{first.KID: remove, next: keep})

	abandoned, err := r.rot.Create(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r.wantDashboard(t, "key created by hand", 1, map[string]keys.DashboardAction{abandoned.KID: add})
	if _, err := r.rot.Revoke(ctx, abandoned.KID); err != nil {
		t.Fatal(err)
	}
	r.wantDashboard(t, "unconfirmed key revoked", 0, map[string]keys.DashboardAction{abandoned.KID: none, first.KID: remove})

	for _, kid := range []string{first.KID, abandoned.KID} {
		if _, err := r.rot.Confirm(ctx, kid, "x"); !errors.Is(err, keys.ErrInvalidTransition) {
			t.Errorf("confirming a key no longer published: err = %v, want ErrInvalidTransition", err)
		}
	}
	if _, err := r.rot.Confirm(ctx, "nope", "x"); !errors.Is(err, keys.ErrNotFound) {
		t.Errorf("confirming an unknown kid: err = %v, want ErrNotFound", err)
	}
}

// TestDashboardThroughEmergencyRevoke: the revoked key says remove, and the
// key that takes over says add until confirmed, unless it was the pending
// key and already confirmed.
func TestDashboardThroughEmergencyRevoke(t *testing.T) {
	add, keep, remove := keys.DashboardAdd, keys.DashboardKeep, keys.DashboardRemove
	for _, pendingConfirmed := range []bool{false, true} {
		t.Run(map[bool]string{false: "new key takes over", true: "confirmed pending key takes over"}[pendingConfirmed], func(t *testing.T) {
			ctx := context.Background()
			r := newRig(t, testPolicy)
			leaked, _ := r.ring.Active()
			r.confirm(t, leaked.KID)
			if pendingConfirmed {
				pending, err := r.rot.Create(ctx)
				if err != nil {
					t.Fatal(err)
				}
				r.confirm(t, pending.KID)
			}
			rv, err := r.rot.Revoke(ctx, leaked.KID)
			if err != nil {
				t.Fatal(err)
			}
			rep := rv.Replacement.KID
			if pendingConfirmed {
				r.wantDashboard(t, "revoked", 0, map[string]keys.DashboardAction{leaked.KID: remove, rep: keep})
				return
			}
			r.wantDashboard(t, "revoked", 1, map[string]keys.DashboardAction{leaked.KID: remove, rep: add})
			r.confirm(t, rep)
			r.wantDashboard(t, "replacement confirmed", 0, map[string]keys.DashboardAction{leaked.KID: remove, rep: keep})
		})
	}
}

// TestAutoActivateIsNotGated: with TOKENSVC_AUTO_ACTIVATE the verifiers
// read the JWKS, so the schedule activates the pending key at the period's
// end whether or not anyone confirmed it; without it, the schedule never
// activates it, however late.
func TestAutoActivateIsNotGated(t *testing.T) {
	for _, auto := range []bool{true, false} {
		t.Run(map[bool]string{true: "auto", false: "manual"}[auto], func(t *testing.T) {
			ctx := context.Background()
			policy := testPolicy
			policy.AutoActivate = auto
			r := newRig(t, policy)
			first, _ := r.ring.Active()
			r.clock.advance(policy.RotationPeriod - policy.RotationLead)
			created, err := r.rot.Step(ctx)
			if err != nil || len(created) != 1 {
				t.Fatalf("step = %+v, %v", created, err)
			}
			r.clock.advance(10 * policy.RotationLead)
			if _, err := r.rot.Step(ctx); err != nil {
				t.Fatal(err)
			}
			want := first.KID
			if auto {
				want = created[0].KID
			}
			if k, _ := r.ring.Active(); k.KID != want {
				t.Errorf("signing with %s, want %s", k.KID, want)
			}
		})
	}
}

// TestActiveUnregisteredMeansTheSigningKey guards the series behind the
// "unregistered key signing" alert: it is set while the key that signs is
// unconfirmed, and not while only the next key waits to be registered,
// which is the normal state of every rotation's lead time.
func TestActiveUnregisteredMeansTheSigningKey(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, testPolicy)
	first, _ := r.ring.Active()
	if h := r.rot.Health(); !h.ActiveUnregistered {
		t.Errorf("first start, first key unconfirmed: health %+v, want ActiveUnregistered", h)
	}
	r.confirm(t, first.KID)
	r.clock.advance(testPolicy.RotationPeriod - testPolicy.RotationLead)
	if _, err := r.rot.Step(ctx); err != nil {
		t.Fatal(err)
	}
	if h := r.rot.Health(); h.ActiveUnregistered || h.Unregistered != 1 {
		t.Errorf("active key confirmed, next key waiting: health %+v, want 1 unregistered and not ActiveUnregistered", h)
	}
}
