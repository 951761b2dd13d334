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
	delete(m.consoles, id)
	return nil
}

func (m *memStore) DeleteConsoleSessionsBefore(_ context.Context, seenBefore, createdBefore time.Time) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
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
	m.audit = append(m.audit, entries...)
	return nil
}
