package queue

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// TestDue: a queue run takes the entries whose mtime (next attempt) is
// not after now, to the nanosecond, oldest ID first, and skips names
// that are not IDs.
func TestDue(t *testing.T) {
	s := testSpool(t)
	now := time.Unix(1795441921, 500)
	var want []ID
	for _, at := range []time.Time{
		now.Add(-time.Hour), now.Add(time.Hour), now, now.Add(time.Nanosecond), now.Add(-time.Nanosecond), now.Add(4000 * time.Second),
	} {
		id := writeEntry(t, s, testEnvelope(), "Subject: x\r\n\r\nbody\r\n")
		if err := os.Chtimes(s.Path(Incoming, id), now, at); err != nil {
			t.Fatal(err)
		}
		if err := s.Move(id, Incoming, DeferredQueue); err != nil {
			t.Fatal(err)
		}
		if !at.After(now) {
			want = append(want, id)
		}
	}
	// An editor's backup with an old mtime is not an entry.
	if err := os.WriteFile(filepath.Join(s.Root(), DeferredQueue, "notes~"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	os.Chtimes(filepath.Join(s.Root(), DeferredQueue, "notes~"), now.Add(-time.Hour), now.Add(-time.Hour))
	got, err := s.Due(DeferredQueue, now)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("due %v, want %v", got, want)
	}
	if _, err := s.Due("nonesuch", now); err == nil {
		t.Error("no error for a missing queue")
	}
}
