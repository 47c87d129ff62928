package queue

import (
	"bytes"
	"path/filepath"
	"testing"
)

// FuzzReadIDs reads arbitrary bytes as the queue IDs an admin pipes into
// "postern queue delete -" (postsuper's standard input). Whatever it
// accepts is a set of valid IDs, each of which names a file directly in
// its queue directory, never a path elsewhere.
func FuzzReadIDs(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		var s Selector
		if err := s.ReadIDs(bytes.NewReader(data)); err != nil {
			return
		}
		if s.IDs == nil && !s.All {
			t.Fatalf("accepted %q but selected nothing at all", data)
		}
		for id := range s.IDs {
			if !Valid(string(id)) {
				t.Fatalf("accepted ID %q", id)
			}
			if p := filepath.Join("/spool/hold", string(id)); filepath.Dir(p) != "/spool/hold" {
				t.Fatalf("ID %q leaves its queue: %s", id, p)
			}
		}
	})
}
