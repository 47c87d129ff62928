package mailbox

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"postern.dev/postern/libmail/maildir"
)

// TestConcurrentSessions runs two sessions (two stores, as two imapd
// processes) syncing, flagging and expunging while a deliverer writes
// into new/ at the same time. Every UID a session ever sees belongs to
// one message (by its Message-ID) for good, no UID is used twice, and at
// the end both sessions hold the same messages.
func TestConcurrentSessions(t *testing.T) {
	ctx := context.Background()
	root := filepath.Join(t.TempDir(), "Maildir")
	const total = 150
	a, b := openStore(t, root), openStore(t, root)
	fa, fb := selectBox(t, a, "INBOX"), selectBox(t, b, "INBOX")
	var mu sync.Mutex
	owner := map[uint32]string{} // UID -> Message-ID, as any session saw it
	check := func(f Folder) error {
		for _, m := range f.Messages() {
			h, err := f.CachedHeader(ctx, m.UID)
			if err == ErrNoMessage {
				continue // expunged by the other session meanwhile
			}
			if err != nil {
				return err
			}
			id := string(h)
			mu.Lock()
			prev, seen := owner[m.UID]
			if !seen {
				owner[m.UID] = id
			}
			mu.Unlock()
			if seen && prev != id {
				return fmt.Errorf("UID %d was %q, now %q", m.UID, prev, id)
			}
		}
		return nil
	}
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	done := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(done)
		w := maildir.NewWriter("mx.example.org", 4242, time.Now)
		defer w.Close()
		for i := range total {
			body := fmt.Sprintf("Message-ID: <%d@example.org>\r\n\r\nbody\r\n", i)
			if _, _, err := Deliver(ctx, w, Delivery{Root: root, Body: strings.NewReader(body), Now: time.Now()}); err != nil {
				errs <- err
				return
			}
		}
	}()
	session := func(f Folder, expungeEvery int) {
		defer wg.Done()
		for n := 0; ; n++ {
			select {
			case <-done:
				if _, err := f.Sync(ctx); err != nil {
					errs <- err
				}
				return
			default:
			}
			if _, err := f.Sync(ctx); err != nil {
				errs <- err
				return
			}
			if err := check(f); err != nil {
				errs <- err
				return
			}
			msgs := f.Messages()
			if len(msgs) == 0 {
				continue
			}
			uid := msgs[n%len(msgs)].UID
			if _, err := f.StoreFlags(ctx, []uint32{uid}, FlagsAdd, []string{FlagSeen}, 0); err != nil {
				errs <- err
				return
			}
			if n%expungeEvery == 0 {
				f.StoreFlags(ctx, []uint32{uid}, FlagsAdd, []string{FlagDeleted}, 0)
				if _, err := f.Expunge(ctx, []uint32{uid}); err != nil {
					errs <- err
					return
				}
			}
		}
	}
	wg.Add(2)
	go session(fa, 7)
	go session(fb, 11)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	syncNow(t, fa)
	syncNow(t, fb)
	ua, ub := uids(fa), uids(fb)
	if fmt.Sprint(ua) != fmt.Sprint(ub) {
		t.Fatalf("sessions differ:\n%v\n%v", ua, ub)
	}
	if fa.UIDNext() != total+1 {
		t.Errorf("UIDNEXT %d after %d deliveries", fa.UIDNext(), total)
	}
	ids := map[string]bool{}
	for _, id := range owner {
		if ids[id] {
			t.Errorf("message %q had two UIDs", id)
		}
		ids[id] = true
	}
	t.Logf("%d messages left, %d UIDs seen", len(ua), len(owner))
}
