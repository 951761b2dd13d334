package transfer

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/tokensvc/tokensvc/internal/apikey"
	"github.com/tokensvc/tokensvc/internal/journal"
	"github.com/tokensvc/tokensvc/internal/keys"
	"github.com/tokensvc/tokensvc/internal/session"
)

// The file: JSON lines, a header first, then one line per record, each
// with its "kind", then an end line counting the records, so that a file
// cut short is refused rather than half imported. README "Backups and
// moving between stores" documents every field; byte strings (public
// keys, sealed private keys, hashes) are standard base64, times RFC 3339.
const (
	// Format names the file in its header.
	Format = "tokensvc-export"
	// Version is the version of the file written; Read refuses others.
	Version = 1
	// maxLine bounds one line: the largest record is a signing key, a few
	// kilobytes.
	maxLine = 1 << 20
)

// Header is the file's first line.
type Header struct {
	Format     string    `json:"format"`
	Version    int       `json:"version"`
	ExportedAt time.Time `json:"exported_at"`
	// MasterKeyID identifies the master key the private keys are sealed
	// under (keys.Sealer.MasterKeyID); the importing side must be
	// configured with the same master key.
	MasterKeyID string `json:"master_key_id"`
	// Source is the kind of store exported: "embedded" or "postgres".
	Source string `json:"source"`
}

// The line types spell every field out rather than reuse a store's
// encoding (the embedded store's look much the same): the file changes only
// with Version, whatever either store's encoding does.
// wrappedMasterKeyLine carries a master key as the KMS wrapped it; the
// unwrapped key never leaves the process.
type wrappedMasterKeyLine struct {
	Kind      string    `json:"kind"`
	ID        string    `json:"id"`
	Wrapped   []byte    `json:"wrapped"`
	KMSHint   string    `json:"kms_hint"`
	CreatedAt time.Time `json:"created_at"`
	RetiredAt time.Time `json:"retired_at,omitzero"`
}

type signingKeyLine struct {
	Kind             string    `json:"kind"`
	KID              string    `json:"kid"`
	Alg              string    `json:"alg"`
	Bits             int       `json:"bits"`
	State            string    `json:"state"`
	PublicKey        []byte    `json:"public_key"`
	SealedPrivateKey []byte    `json:"sealed_private_key,omitempty"`
	CreatedAt        time.Time `json:"created_at"`
	ActivatedAt      time.Time `json:"activated_at,omitzero"`
	RetiredAt        time.Time `json:"retired_at,omitzero"`
	PublishUntil     time.Time `json:"publish_until,omitzero"`
	ExpiredAt        time.Time `json:"expired_at,omitzero"`
	RevokedAt        time.Time `json:"revoked_at,omitzero"`
	RegisteredAt     time.Time `json:"registered_at,omitzero"`
	RegisteredBy     string    `json:"registered_by,omitempty"`
}

type apiKeyLine struct {
	Kind      string    `json:"kind"`
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Scope     string    `json:"scope"`
	Hash      []byte    `json:"hash"`
	Hint      string    `json:"hint"`
	CreatedAt time.Time `json:"created_at"`
	RevokedAt time.Time `json:"revoked_at,omitzero"`
	// ExpiresAt and LastUsedAt are absent for a key that never expires or
	// was never used.
	ExpiresAt  time.Time `json:"expires_at,omitzero"`
	LastUsedAt time.Time `json:"last_used_at,omitzero"`
}

type sessionLine struct {
	Kind         string    `json:"kind"`
	ID           string    `json:"id"`
	UserID       string    `json:"user_id"`
	CreatedAt    time.Time `json:"created_at"`
	LastUsedAt   time.Time `json:"last_used_at"`
	ExpiresAt    time.Time `json:"expires_at"`
	RevokedAt    time.Time `json:"revoked_at,omitzero"`
	RevokeReason string    `json:"revoke_reason,omitempty"`
}

type refreshTokenLine struct {
	Kind      string    `json:"kind"`
	Hash      []byte    `json:"hash"`
	SessionID string    `json:"session_id"`
	IssuedAt  time.Time `json:"issued_at"`
	RotatedAt time.Time `json:"rotated_at,omitzero"`
}

type auditLine struct {
	Kind      string    `json:"kind"`
	ID        string    `json:"id"`
	At        time.Time `json:"at"`
	ActorKind string    `json:"actor_kind"`
	ActorID   string    `json:"actor_id,omitempty"`
	ActorName string    `json:"actor_name,omitempty"`
	Action    string    `json:"action"`
	Target    string    `json:"target"`
	Outcome   string    `json:"outcome"`
	RequestID string    `json:"request_id,omitempty"`
	Detail    string    `json:"detail,omitempty"`
}

type eventLine struct {
	Kind            string    `json:"kind"`
	ID              string    `json:"id"`
	Type            string    `json:"type"`
	CreatedAt       time.Time `json:"created_at"`
	Message         string    `json:"message"`
	KeyKID          string    `json:"key_kid,omitempty"`
	KeyState        string    `json:"key_state,omitempty"`
	KeyDashboard    string    `json:"key_dashboard,omitempty"`
	KeyPublishUntil time.Time `json:"key_publish_until,omitzero"`
	HasKey          bool      `json:"has_key,omitempty"`
	Attempts        int       `json:"attempts"`
}

type endLine struct {
	Kind    string `json:"kind"`
	Records int    `json:"records"`
}

// The kinds of line.
const (
	kindWrappedMasterKey = "wrapped_master_key"
	kindSigningKey       = "signing_key"
	kindAPIKey           = "api_key"
	kindSession          = "session"
	kindRefreshToken     = "refresh_token"
	kindAudit            = "audit_entry"
	kindEvent            = "outbox_event"
	kindEnd              = "end"
)

// Write writes h and c to w as the export file.
func Write(w io.Writer, h Header, c Contents) error {
	h.Format, h.Version = Format, Version
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	lines := []any{h}
	for _, w := range c.WrappedMasterKeys {
		lines = append(lines, wrappedMasterKeyLine{Kind: kindWrappedMasterKey, ID: w.ID, Wrapped: w.Wrapped, KMSHint: w.KMSHint,
			CreatedAt: w.CreatedAt, RetiredAt: w.RetiredAt})
	}
	for _, r := range c.SigningKeys {
		lines = append(lines, signingKeyLine{Kind: kindSigningKey, KID: r.KID, Alg: r.Alg, Bits: r.Bits, State: string(r.State),
			PublicKey: r.PublicKey, SealedPrivateKey: r.SealedPrivateKey, CreatedAt: r.CreatedAt, ActivatedAt: r.ActivatedAt,
			RetiredAt: r.RetiredAt, PublishUntil: r.PublishUntil, ExpiredAt: r.ExpiredAt, RevokedAt: r.RevokedAt,
			RegisteredAt: r.RegisteredAt, RegisteredBy: r.RegisteredBy})
	}
	for _, k := range c.APIKeys {
		lines = append(lines, apiKeyLine{Kind: kindAPIKey, ID: k.ID, Name: k.Name, Scope: string(k.Scope), Hash: k.Hash[:],
			Hint: k.Hint, CreatedAt: k.CreatedAt, RevokedAt: k.RevokedAt, ExpiresAt: k.ExpiresAt, LastUsedAt: k.LastUsedAt})
	}
	for _, s := range c.Sessions {
		lines = append(lines, sessionLine{Kind: kindSession, ID: s.ID, UserID: s.UserID, CreatedAt: s.CreatedAt,
			LastUsedAt: s.LastUsedAt, ExpiresAt: s.ExpiresAt, RevokedAt: s.RevokedAt, RevokeReason: s.RevokeReason})
	}
	for _, t := range c.RefreshTokens {
		lines = append(lines, refreshTokenLine{Kind: kindRefreshToken, Hash: t.Hash[:], SessionID: t.SessionID,
			IssuedAt: t.IssuedAt, RotatedAt: t.RotatedAt})
	}
	for _, e := range c.Audit {
		lines = append(lines, auditLine{Kind: kindAudit, ID: e.ID, At: e.At, ActorKind: e.Actor.Kind, ActorID: e.Actor.ID,
			ActorName: e.Actor.Name, Action: e.Action, Target: e.Target, Outcome: e.Outcome, RequestID: e.RequestID, Detail: e.Detail})
	}
	for _, p := range c.Events {
		l := eventLine{Kind: kindEvent, ID: p.ID, Type: p.Type, CreatedAt: p.CreatedAt, Message: p.Message, Attempts: p.Attempts}
		if p.Key != nil {
			l.HasKey, l.KeyKID, l.KeyState, l.KeyDashboard, l.KeyPublishUntil = true, p.Key.KID, p.Key.State, p.Key.Dashboard, p.Key.PublishUntil
		}
		lines = append(lines, l)
	}
	lines = append(lines, endLine{Kind: kindEnd, Records: c.Count()})
	for _, l := range lines {
		if err := enc.Encode(l); err != nil {
			return fmt.Errorf("write export: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write export: %w", err)
	}
	return nil
}

// Read reads an export file written by Write, refusing another format or
// version, an unknown kind of line, and a file without its end line.
func Read(r io.Reader) (Header, Contents, error) {
	var (
		h   Header
		c   Contents
		end *endLine
	)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	line := 0
	for sc.Scan() {
		line++
		raw := sc.Bytes()
		if line == 1 {
			if err := strictUnmarshal(raw, &h); err != nil || h.Format != Format {
				return h, c, fmt.Errorf("not a %s file: its first line is not the header", Format)
			}
			if h.Version != Version {
				return h, c, fmt.Errorf("%s version %d: this tokensvc reads version %d only", Format, h.Version, Version)
			}
			continue
		}
		if end != nil {
			return h, c, fmt.Errorf("line %d: data after the end line", line)
		}
		var kind struct {
			Kind string `json:"kind"`
		}
		if err := json.Unmarshal(raw, &kind); err != nil {
			return h, c, fmt.Errorf("line %d: %w", line, err)
		}
		if err := c.add(kind.Kind, raw, &end); err != nil {
			return h, c, fmt.Errorf("line %d: %w", line, err)
		}
	}
	if err := sc.Err(); err != nil {
		return h, c, fmt.Errorf("read export: %w", err)
	}
	switch {
	case line == 0:
		return h, c, errors.New("the export file is empty")
	case end == nil:
		return h, c, errors.New("the export file has no end line: it was cut short")
	case end.Records != c.Count():
		return h, c, fmt.Errorf("the export file's end line counts %d records, the file holds %d", end.Records, c.Count())
	}
	return h, c, nil
}

// add decodes one record line of kind into c.
func (c *Contents) add(kind string, raw []byte, end **endLine) error {
	switch kind {
	case kindWrappedMasterKey:
		var l wrappedMasterKeyLine
		if err := strictUnmarshal(raw, &l); err != nil {
			return err
		}
		if l.ID == "" || len(l.Wrapped) == 0 {
			return errors.New("wrapped_master_key without its id or wrapped key")
		}
		c.WrappedMasterKeys = append(c.WrappedMasterKeys, keys.WrappedMasterKey{ID: l.ID, Wrapped: l.Wrapped, KMSHint: l.KMSHint,
			CreatedAt: l.CreatedAt, RetiredAt: l.RetiredAt})
	case kindSigningKey:
		var l signingKeyLine
		if err := strictUnmarshal(raw, &l); err != nil {
			return err
		}
		c.SigningKeys = append(c.SigningKeys, keys.Record{KID: l.KID, Alg: l.Alg, Bits: l.Bits, State: keys.State(l.State),
			PublicKey: l.PublicKey, SealedPrivateKey: l.SealedPrivateKey, CreatedAt: l.CreatedAt, ActivatedAt: l.ActivatedAt,
			RetiredAt: l.RetiredAt, PublishUntil: l.PublishUntil, ExpiredAt: l.ExpiredAt, RevokedAt: l.RevokedAt,
			RegisteredAt: l.RegisteredAt, RegisteredBy: l.RegisteredBy})
	case kindAPIKey:
		var l apiKeyLine
		if err := strictUnmarshal(raw, &l); err != nil {
			return err
		}
		k := apikey.Key{ID: l.ID, Name: l.Name, Scope: apikey.Scope(l.Scope), Hint: l.Hint, CreatedAt: l.CreatedAt, RevokedAt: l.RevokedAt,
			ExpiresAt: l.ExpiresAt, LastUsedAt: l.LastUsedAt}
		if err := hash(&k.Hash, l.Hash); err != nil {
			return fmt.Errorf("api_key %s: %w", l.ID, err)
		}
		c.APIKeys = append(c.APIKeys, k)
	case kindSession:
		var l sessionLine
		if err := strictUnmarshal(raw, &l); err != nil {
			return err
		}
		c.Sessions = append(c.Sessions, session.Session{ID: l.ID, UserID: l.UserID, CreatedAt: l.CreatedAt,
			LastUsedAt: l.LastUsedAt, ExpiresAt: l.ExpiresAt, RevokedAt: l.RevokedAt, RevokeReason: l.RevokeReason})
	case kindRefreshToken:
		var l refreshTokenLine
		if err := strictUnmarshal(raw, &l); err != nil {
			return err
		}
		t := session.RefreshToken{SessionID: l.SessionID, IssuedAt: l.IssuedAt, RotatedAt: l.RotatedAt}
		if err := hash(&t.Hash, l.Hash); err != nil {
			return fmt.Errorf("refresh_token of session %s: %w", l.SessionID, err)
		}
		c.RefreshTokens = append(c.RefreshTokens, t)
	case kindAudit:
		var l auditLine
		if err := strictUnmarshal(raw, &l); err != nil {
			return err
		}
		c.Audit = append(c.Audit, journal.Entry{ID: l.ID, At: l.At, Actor: journal.Actor{Kind: l.ActorKind, ID: l.ActorID, Name: l.ActorName},
			Action: l.Action, Target: l.Target, Outcome: l.Outcome, RequestID: l.RequestID, Detail: l.Detail})
	case kindEvent:
		var l eventLine
		if err := strictUnmarshal(raw, &l); err != nil {
			return err
		}
		p := journal.Pending{Event: journal.Event{ID: l.ID, Type: l.Type, CreatedAt: l.CreatedAt, Message: l.Message}, Attempts: l.Attempts}
		if l.HasKey {
			p.Key = &journal.KeyRef{KID: l.KeyKID, State: l.KeyState, Dashboard: l.KeyDashboard, PublishUntil: l.KeyPublishUntil}
		}
		c.Events = append(c.Events, p)
	case kindEnd:
		var l endLine
		if err := strictUnmarshal(raw, &l); err != nil {
			return err
		}
		*end = &l
	default:
		return fmt.Errorf("unknown kind %q", kind)
	}
	return nil
}

func hash(dst *[sha256.Size]byte, b []byte) error {
	if len(b) != sha256.Size {
		return fmt.Errorf("hash of %d bytes, want %d", len(b), sha256.Size)
	}
	copy(dst[:], b)
	return nil
}

// strictUnmarshal refuses fields this version does not know: a file from a
// newer release must not import with parts silently dropped.
func strictUnmarshal(raw []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}
