package apikey_test

import (
	"context"
	"crypto/sha256"
	"slices"
	"time"

	"github.com/tokensvc/tokensvc/internal/apikey"
	"github.com/tokensvc/tokensvc/internal/journal"
)

// memStore's console sessions and audit log, kept as simply as the
// contract allows.

func (m *memStore) CreateConsoleSession(_ context.Context, s apikey.ConsoleSession) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls++
	if !slices.ContainsFunc(m.keys, func(k apikey.Key) bool { return k.ID == s.KeyID }) {
		return apikey.ErrNotFound
	}
	if m.consoles == nil {
		m.consoles = make(map[string]apikey.ConsoleSession)
	}
	m.consoles[s.ID] = s
	return nil
}

func (m *memStore) ConsoleSessionByHash(_ context.Context, hash [sha256.Size]byte) (apikey.ConsoleSession, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls++
	for _, s := range m.consoles {
		if s.Hash == hash {
			return s, nil
		}
	}
	return apikey.ConsoleSession{}, apikey.ErrNotFound
}

func (m *memStore) TouchConsoleSession(_ context.Context, id string, seen time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls++
	m.touches++
	if s, ok := m.consoles[id]; ok && s.SeenAt.Before(seen) {
		s.SeenAt = seen
		m.consoles[id] = s
	}
	return nil
}

func (m *memStore) DeleteConsoleSession(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls++
	delete(m.consoles, id)
	return nil
}

func (m *memStore) DeleteConsoleSessionsBefore(_ context.Context, seenBefore, createdBefore time.Time) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls++
	n := 0
	for id, s := range m.consoles {
		if s.SeenAt.Before(seenBefore) || s.CreatedAt.Before(createdBefore) {
			delete(m.consoles, id)
			n++
		}
	}
	return n, nil
}

func (m *memStore) AppendAudit(_ context.Context, entries ...journal.Entry) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls++
	m.audit = append(m.audit, entries...)
	return nil
}

func (m *memStore) RecordAPIKeysUsed(_ context.Context, used map[string]time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls++
	m.used = append(m.used, used)
	for i := range m.keys {
		if at, ok := used[m.keys[i].ID]; ok && at.After(m.keys[i].LastUsedAt) {
			m.keys[i].LastUsedAt = at
		}
	}
	return m.err
}

func (m *memStore) AddEvent(_ context.Context, ev journal.Event) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls++
	if m.events == nil {
		m.events = make(map[string]journal.Event)
	}
	if _, ok := m.events[ev.ID]; ok {
		return false, nil
	}
	m.events[ev.ID] = ev
	return true, nil
}

// storeCalls is how many times the registry called the store.
func (m *memStore) storeCalls() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.calls
}
