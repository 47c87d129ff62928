package mailbox

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestContract runs the same session against both stores: what protocol
// tests learn from the in-memory store must hold for the Maildir one.
func TestContract(t *testing.T) {
	t.Run("maildir", func(t *testing.T) {
		root := filepath.Join(t.TempDir(), "Maildir")
		contract(t, func() Store { return openStore(t, root) }, func(body string) { deliver(t, root, body) })
	})
	t.Run("memory", func(t *testing.T) {
		m := NewMemory(clock(), 0)
		contract(t, func() Store { return m }, func(body string) { m.Deliver([]byte("Return-Path: <a@b>\n" + body)) })
	})
}

func contract(t *testing.T, open func() Store, deliver func(string)) {
	ctx := context.Background()
	a, b := open(), open()
	deliver("Subject: one\r\n\r\nbody one\r\n")
	deliver("Subject: two\r\n\r\nbody two\r\n")
	fa, fb := selectBox(t, a, "INBOX"), selectBox(t, b, "INBOX")
	if len(fa.Messages()) != 2 || fa.Messages()[1].UID != 2 {
		t.Fatalf("a: %+v", fa.Messages())
	}
	if got := readMsg(t, fa, 1, false); got != "Return-Path: <a@b>\r\nSubject: one\r\n\r\nbody one\r\n" || int64(len(got)) != fa.Messages()[0].Size {
		t.Fatalf("message 1 = %q (size %d)", got, fa.Messages()[0].Size)
	}
	if got := readMsg(t, fa, 2, true); got != "Return-Path: <a@b>\r\nSubject: two\r\n\r\n" {
		t.Fatalf("header 2 = %q", got)
	}
	res, err := fa.StoreFlags(ctx, []uint32{2}, FlagsAdd, []string{`\Seen`, `\Deleted`}, 0)
	if err != nil || len(res.Updated) != 1 || res.Updated[0].Seq != 2 {
		t.Fatalf("StoreFlags = %+v, %v", res, err)
	}
	ch := syncNow(t, fb)
	if len(ch.Updated) != 1 || ch.Updated[0].UID != 2 || !ch.Updated[0].Has(FlagSeen) {
		t.Fatalf("b's sync: %+v", ch)
	}
	wake := fb.Watch()
	if ex, err := fa.Expunge(ctx, []uint32{1, 2}); err != nil || len(ex) != 1 || ex[0].UID != 2 {
		t.Fatalf("Expunge = %+v, %v", ex, err)
	}
	deliver("Subject: three\r\n\r\nbody three\r\n")
	select {
	case <-wake:
	case <-time.After(5 * time.Second):
		t.Fatal("no wake-up")
	}
	ch = syncNow(t, fb)
	if len(ch.Expunged) != 1 || ch.Expunged[0] != (Expunged{Seq: 2, UID: 2}) || len(ch.New) != 1 || ch.New[0].UID != 3 {
		t.Fatalf("b's second sync: %+v", ch)
	}
	st, err := b.Status(ctx, "INBOX")
	if err != nil || st.Messages != 2 || st.UIDNext != 4 || st.Unseen != 2 || st.HighestModSeq < fb.HighestModSeq() {
		t.Fatalf("Status = %+v, %v", st, err)
	}
	cr, err := fb.Move(ctx, []uint32{1, 3}, "Archive")
	if err != nil || len(cr.Dest) != 2 || cr.Dest[1] != 2 || len(cr.Expunged) != 2 || cr.Expunged[0].Seq != 2 {
		t.Fatalf("Move = %+v, %v", cr, err)
	}
	ar, err := a.Append(ctx, "Archive", []string{"$Important"}, time.Time{}, strings.NewReader("Subject: four\n\nx\n"))
	if err != nil || ar.UID != 3 || ar.UIDValidity != cr.UIDValidity {
		t.Fatalf("Append = %+v, %v", ar, err)
	}
	arch := selectBox(t, b, "Archive")
	if n := len(arch.Messages()); n != 3 || !arch.Messages()[2].Has("$Important") || arch.Keywords()[0] != "$Important" {
		t.Fatalf("Archive: %+v %v", arch.Messages(), arch.Keywords())
	}
	// Derived items: kept for later sessions, by key and version.
	arch.CacheItem(ctx, 3, "test-item.1", []byte("rendered"))
	arch.CacheItem(ctx, 3, "Not A Key", []byte("ignored"))
	if got, ok := arch.CachedItem(ctx, 3, "test-item.1"); !ok || string(got) != "rendered" {
		t.Fatalf("CachedItem in the same session = %q, %v", got, ok)
	}
	if err := arch.Close(); err != nil {
		t.Fatal(err)
	}
	again := selectBox(t, a, "Archive")
	if got, ok := again.CachedItem(ctx, 3, "test-item.1"); !ok || string(got) != "rendered" {
		t.Fatalf("CachedItem in a later session = %q, %v", got, ok)
	}
	for _, miss := range []struct {
		uid uint32
		key string
	}{{2, "test-item.1"}, {3, "Not A Key"}, {3, "test-item.2"}, {99, "test-item.1"}} {
		if got, ok := again.CachedItem(ctx, miss.uid, miss.key); ok {
			t.Fatalf("CachedItem(%d, %q) = %q, want a miss", miss.uid, miss.key, got)
		}
	}
	if err := a.Subscribe(ctx, "Nowhere", true); err != nil {
		t.Fatal(err)
	}
	if subs, err := b.Subscriptions(ctx); err != nil || !slices.Contains(subs, "Nowhere") || !slices.Contains(subs, "Sent") {
		t.Fatalf("Subscriptions = %v, %v", subs, err)
	}
	release, err := a.Exclusive(ctx, "pop3")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Exclusive(ctx, "pop3"); err != ErrInUse {
		t.Fatalf("second Exclusive = %v", err)
	}
	release()
	if r, err := b.Exclusive(ctx, "pop3"); err != nil {
		t.Fatalf("Exclusive after release: %v", err)
	} else {
		r()
	}
}
