package mailbox

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"postern.dev/postern/libmail/maildir"
)

func clock() func() time.Time {
	t := time.Unix(1795000000, 0)
	return func() time.Time { t = t.Add(time.Second); return t }
}

func openStore(t *testing.T, root string) *Maildir {
	t.Helper()
	s, err := Open(context.Background(), root, Options{Hostname: "mx.example.org", Now: clock()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// deliver writes a message as local does.
func deliver(t *testing.T, root, body string) string {
	t.Helper()
	w := maildir.NewWriter("mx.example.org", 4242, time.Now)
	defer w.Close()
	name, _, err := Deliver(context.Background(), w, Delivery{Root: root, Header: []byte("Return-Path: <a@b>\n"), Body: strings.NewReader(body), Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	return name
}

func selectBox(t *testing.T, s Store, name string) Folder {
	t.Helper()
	f, err := s.Select(context.Background(), name, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func uids(f Folder) []uint32 {
	var out []uint32
	for _, m := range f.Messages() {
		out = append(out, m.UID)
	}
	return out
}

func syncNow(t *testing.T, f Folder) Changes {
	t.Helper()
	ch, err := f.Sync(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

func read(t *testing.T, rc io.ReadCloser, err error) string {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestTwoStores runs two stores on one Maildir, as two imapd sessions in
// two processes would, with deliveries, flag changes and expunges in
// between: UIDs are never reused or changed, and both converge.
func TestTwoStores(t *testing.T) {
	ctx := context.Background()
	root := filepath.Join(t.TempDir(), "Maildir")
	a, b := openStore(t, root), openStore(t, root)
	deliver(t, root, "Subject: one\r\n\r\nbody one\r\n")
	fa := selectBox(t, a, "INBOX")
	deliver(t, root, "Subject: two\r\n\r\nbody two\r\n")
	fb := selectBox(t, b, "inbox")
	if got := uids(fa); len(got) != 1 || got[0] != 1 {
		t.Fatalf("a sees %v", got)
	}
	if got := uids(fb); len(got) != 2 || got[1] != 2 {
		t.Fatalf("b sees %v", got)
	}
	if !fa.Messages()[0].Recent || fb.Messages()[0].Recent || !fb.Messages()[1].Recent {
		t.Errorf("\\Recent: a %v, b %v", fa.Messages(), fb.Messages())
	}
	ch := syncNow(t, fa)
	if len(ch.New) != 1 || ch.New[0].UID != 2 {
		t.Fatalf("a's sync: %+v", ch)
	}
	// b flags and expunges message 1; a learns it at its next sync.
	if _, err := fb.StoreFlags(ctx, []uint32{1}, FlagsAdd, []string{`\deleted`, "$Label1"}, 0); err != nil {
		t.Fatal(err)
	}
	ch = syncNow(t, fa)
	if len(ch.Updated) != 1 || ch.Updated[0].UID != 1 || !ch.Updated[0].Has(FlagDeleted) || !ch.Updated[0].Has("$Label1") {
		t.Fatalf("a's sync after flags: %+v", ch)
	}
	ex, err := fb.Expunge(ctx, nil)
	if err != nil || len(ex) != 1 || ex[0] != (Expunged{Seq: 1, UID: 1}) {
		t.Fatalf("expunge = %v, %v", ex, err)
	}
	deliver(t, root, "Subject: three\r\n\r\nbody three\r\n")
	ch = syncNow(t, fa)
	if len(ch.Expunged) != 1 || ch.Expunged[0].UID != 1 || len(ch.New) != 1 || ch.New[0].UID != 3 {
		t.Fatalf("a's sync after expunge: %+v", ch)
	}
	syncNow(t, fb)
	if ga, gb := uids(fa), uids(fb); len(ga) != 2 || ga[0] != 2 || ga[1] != 3 || len(gb) != 2 || gb[0] != 2 || gb[1] != 3 {
		t.Fatalf("no convergence: a %v, b %v", ga, gb)
	}
	if fa.HighestModSeq() != fb.HighestModSeq() || fa.UIDValidity() != fb.UIDValidity() {
		t.Errorf("a %d/%d, b %d/%d", fa.UIDValidity(), fa.HighestModSeq(), fb.UIDValidity(), fb.HighestModSeq())
	}
	// A restart keeps UIDs and UIDVALIDITY.
	c := openStore(t, root)
	fc := selectBox(t, c, "INBOX")
	if got := uids(fc); len(got) != 2 || got[0] != 2 || got[1] != 3 || fc.UIDValidity() != fa.UIDValidity() || fc.UIDNext() != 4 {
		t.Fatalf("after restart: %v validity %d next %d", got, fc.UIDValidity(), fc.UIDNext())
	}
	if got := readMsg(t, fc, 3, false); got != "Return-Path: <a@b>\r\nSubject: three\r\n\r\nbody three\r\n" {
		t.Errorf("message 3 = %q", got)
	}
	if got := fc.Messages()[1].Size; got != int64(len("Return-Path: <a@b>\r\nSubject: three\r\n\r\nbody three\r\n")) {
		t.Errorf("size = %d", got)
	}
}

// TestForeignChanges: files moved and renamed by another program (a
// Maildir reader such as mutt) are picked up by Sync.
func TestForeignChanges(t *testing.T) {
	root := filepath.Join(t.TempDir(), "Maildir")
	s := openStore(t, root)
	n1 := deliver(t, root, "Subject: one\r\n\r\nx\r\n")
	f := selectBox(t, s, "INBOX")
	// The other program marks it seen by rename, and drops a file of its
	// own into cur/ with a name we did not write.
	if err := os.Rename(filepath.Join(root, "cur", n1+":2,"), filepath.Join(root, "cur", n1+":2,S")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "cur", "foreign:2,F"), []byte("Subject: f\n\nline\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "new", "flagged-in-new:2,S"), []byte("Subject: g\n\nx\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ch := syncNow(t, f)
	if len(ch.Updated) != 1 || !ch.Updated[0].Has(FlagSeen) || len(ch.New) != 2 || !ch.New[0].Has(FlagFlagged) && !ch.New[1].Has(FlagFlagged) || !ch.New[0].Has(FlagSeen) && !ch.New[1].Has(FlagSeen) {
		t.Fatalf("sync: %+v", ch)
	}
	foreign := ch.New[0]
	if !foreign.Has(FlagFlagged) {
		foreign = ch.New[1]
	}
	if foreign.Size != int64(len("Subject: f\r\n\r\nline\r\n")) {
		t.Errorf("foreign size %d", foreign.Size)
	}
	if err := os.Remove(filepath.Join(root, "cur", "foreign:2,F")); err != nil {
		t.Fatal(err)
	}
	ch = syncNow(t, f)
	if len(ch.Expunged) != 1 || ch.Expunged[0].UID != foreign.UID {
		t.Fatalf("sync after delete: %+v", ch)
	}
}

// TestEmptyFolderKeepsUIDValidity: an empty folder's UIDVALIDITY is
// written when first given, not made anew by every session.
func TestEmptyFolderKeepsUIDValidity(t *testing.T) {
	root := filepath.Join(t.TempDir(), "Maildir")
	at := func(sec int64) Store {
		s, err := Open(context.Background(), root, Options{Now: func() time.Time { return time.Unix(sec, 0) }})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	v1 := selectBox(t, at(1795000000), "Trash").UIDValidity()
	v2 := selectBox(t, at(1795000100), "Trash").UIDValidity()
	if v1 == 0 || v1 != v2 {
		t.Errorf("UIDVALIDITY %d then %d", v1, v2)
	}
}

// TestCorruptIndex: an index that cannot be trusted is rebuilt with a
// higher UIDVALIDITY, and the messages are all there.
func TestCorruptIndex(t *testing.T) {
	root := filepath.Join(t.TempDir(), "Maildir")
	deliver(t, root, "Subject: one\r\n\r\nx\r\n")
	deliver(t, root, "Subject: two\r\n\r\nx\r\n")
	f := selectBox(t, openStore(t, root), "INBOX")
	old := f.UIDValidity()
	p := filepath.Join(root, indexFile)
	data, _ := os.ReadFile(p)
	data = bytes.Replace(data, []byte("\n1 "), []byte("\n9 "), 1) // UIDs out of order
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	g := selectBox(t, openStore(t, root), "INBOX")
	if g.UIDValidity() <= old || len(g.Messages()) != 2 {
		t.Fatalf("after corruption: validity %d (was %d), %d messages", g.UIDValidity(), old, len(g.Messages()))
	}
	// The session that had the old index sees everything anew.
	ch := syncNow(t, f)
	if f.UIDValidity() != g.UIDValidity() || len(ch.New) != 2 || !ch.Reset || len(ch.Expunged) != 2 {
		t.Errorf("old session: validity %d, changes %+v", f.UIDValidity(), ch)
	}
}

func TestFoldersCopyMoveAppend(t *testing.T) {
	ctx := context.Background()
	root := filepath.Join(t.TempDir(), "Maildir")
	s := openStore(t, root)
	list, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, l := range list {
		names = append(names, l.Name+l.Use)
	}
	if got := strings.Join(names, " "); got != `INBOX Archive\Archive Drafts\Drafts Junk\Junk Sent\Sent Trash\Trash` {
		t.Fatalf("List = %s", got)
	}
	if err := s.Create(ctx, "Work/Projects"); err != nil {
		t.Fatal(err)
	}
	if err := s.Create(ctx, "Work"); err != ErrExists {
		t.Fatalf("Create existing = %v", err)
	}
	if err := s.Create(ctx, "a.b"); err == nil {
		t.Fatal("a name with '.' accepted")
	}
	if _, err := os.Stat(filepath.Join(root, ".Work.Projects", "cur")); err != nil {
		t.Fatal(err)
	}
	res, err := s.Append(ctx, "Work/Projects", []string{`\Seen`, "todo"}, time.Unix(1700000000, 0), strings.NewReader("Subject: app\r\n\r\nhi\r\n"))
	if err != nil || res.UID != 1 || res.UIDValidity == 0 {
		t.Fatalf("Append = %+v, %v", res, err)
	}
	f := selectBox(t, s, "Work/Projects")
	m := f.Messages()[0]
	if !m.Has(FlagSeen) || !m.Has("todo") || m.Date.Unix() != 1700000000 || f.Keywords()[0] != "todo" {
		t.Fatalf("appended %+v, keywords %v", m, f.Keywords())
	}
	cr, err := f.Copy(ctx, []uint32{1}, "Sent")
	if err != nil || len(cr.Dest) != 1 || cr.Dest[0] != 1 {
		t.Fatalf("Copy = %+v, %v", cr, err)
	}
	mr, err := f.Move(ctx, []uint32{1}, "Trash")
	if err != nil || len(mr.Dest) != 1 || len(mr.Expunged) != 1 || len(f.Messages()) != 0 {
		t.Fatalf("Move = %+v, %v", mr, err)
	}
	st, err := s.Status(ctx, "Trash")
	if err != nil || st.Messages != 1 || st.Unseen != 0 || st.UIDNext != 2 {
		t.Fatalf("Status(Trash) = %+v, %v", st, err)
	}
	tr := selectBox(t, s, "Trash")
	if got := readMsg(t, tr, 1, true); got != "Subject: app\r\n\r\n" {
		t.Errorf("header = %q", got)
	}
	if err := s.Rename(ctx, "Work", "Job"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Status(ctx, "Job/Projects"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "Job"); err != ErrHasFolders {
		t.Fatalf("Delete parent = %v", err)
	}
	if err := s.Delete(ctx, "Job/Projects"); err != nil {
		t.Fatal(err)
	}
	if err := s.Subscribe(ctx, "Job", true); err != nil {
		t.Fatal(err)
	}
	list, _ = s.List(ctx)
	found := false
	for _, l := range list {
		if l.Name == "Job" {
			found = l.Subscribed && !l.Children
		}
	}
	if !found {
		t.Errorf("List after changes: %+v", list)
	}
}

func TestConditionalStore(t *testing.T) {
	ctx := context.Background()
	root := filepath.Join(t.TempDir(), "Maildir")
	deliver(t, root, "Subject: one\r\n\r\nx\r\n")
	a, b := selectBox(t, openStore(t, root), "INBOX"), selectBox(t, openStore(t, root), "INBOX")
	ms := a.Messages()[0].ModSeq
	if _, err := b.StoreFlags(ctx, []uint32{1}, FlagsAdd, []string{FlagFlagged}, 0); err != nil {
		t.Fatal(err)
	}
	res, err := a.StoreFlags(ctx, []uint32{1}, FlagsAdd, []string{FlagSeen}, ms)
	if err != nil || len(res.Failed) != 1 || len(res.Updated) != 0 {
		t.Fatalf("UNCHANGEDSINCE = %+v, %v", res, err)
	}
}

func TestQuota(t *testing.T) {
	root := filepath.Join(t.TempDir(), "Maildir")
	deliver(t, root, strings.Repeat("x", 1000)+"\r\n")
	w := maildir.NewWriter("h", 1, time.Now)
	defer w.Close()
	_, _, err := Deliver(context.Background(), w, Delivery{Root: root, QuotaLimit: 500, Body: strings.NewReader("x\r\n"), Now: time.Now()})
	if err == nil || !strings.Contains(err.Error(), ErrOverQuota.Error()) {
		t.Fatalf("over quota: %v", err)
	}
	s, _ := Open(context.Background(), root, Options{QuotaLimit: 4000})
	defer s.Close()
	q, err := s.Quota(context.Background())
	if err != nil || q.Used != 1020 || q.Messages != 1 || q.Limit != 4000 {
		t.Fatalf("Quota = %+v, %v", q, err)
	}
	if _, _, err := Deliver(context.Background(), w, Delivery{Root: root, QuotaLimit: 4000, Body: strings.NewReader("y\r\n"), Now: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if q, _ := s.Quota(context.Background()); q.Used != 1022 || q.Messages != 2 {
		t.Fatalf("after delivery: %+v", q)
	}
	if n, ok := ParseQuotaRule("userdb_quota_rule=*:storage=1G other=x"); !ok || n != 1<<30 {
		t.Errorf("ParseQuotaRule = %d %v", n, ok)
	}
}

func TestWatch(t *testing.T) {
	root := filepath.Join(t.TempDir(), "Maildir")
	f := selectBox(t, openStore(t, root), "INBOX")
	ch := f.Watch()
	deliver(t, root, "Subject: w\r\n\r\nx\r\n")
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		t.Fatal("no wake-up after a delivery")
	}
	if c := syncNow(t, f); len(c.New) != 1 {
		t.Fatalf("sync after wake-up: %+v", c)
	}
}

func TestCRLFReader(t *testing.T) {
	for _, tt := range []struct{ in, full, head string }{
		{"A: b\n\nbody\n", "A: b\r\n\r\nbody\r\n", "A: b\r\n\r\n"},
		{"A: b\r\n\r\nbody\r\nx", "A: b\r\n\r\nbody\r\nx", "A: b\r\n\r\n"},
		{"A: b\n", "A: b\r\n", "A: b\r\n"},
		{"A: " + strings.Repeat("y", 40000) + "\n\nz\n", "A: " + strings.Repeat("y", 40000) + "\r\n\r\nz\r\n", "A: " + strings.Repeat("y", 40000) + "\r\n\r\n"},
	} {
		full := read(t, newCRLFReader(io.NopCloser(strings.NewReader(tt.in)), false), nil)
		head := read(t, newCRLFReader(io.NopCloser(strings.NewReader(tt.in)), true), nil)
		if full != tt.full || head != tt.head {
			t.Errorf("%.20q: full %.30q head %.30q", tt.in, full, head)
		}
		if n, _ := crlfSize(strings.NewReader(tt.in)); n != int64(len(tt.full)) {
			t.Errorf("crlfSize = %d, want %d", n, len(tt.full))
		}
	}
}

func readMsg(t *testing.T, f Folder, uid uint32, header bool) string {
	t.Helper()
	open := f.Open
	if header {
		open = f.OpenHeader
	}
	rc, err := open(context.Background(), uid)
	return read(t, rc, err)
}

// TestForeignRenameDuringSync: another program toggling a message's
// flags by rename while sessions sync must not make the message look
// expunged (and come back with a new UID).
func TestForeignRenameDuringSync(t *testing.T) {
	root := filepath.Join(t.TempDir(), "Maildir")
	for i := range 200 {
		deliver(t, root, fmt.Sprintf("Subject: %d\r\n\r\nx\r\n", i))
	}
	f := selectBox(t, openStore(t, root), "INBOX")
	victim := f.Messages()[100]
	base := f.(*mdFolder).entry(victim.UID).Base
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		names := []string{base + ":2,", base + ":2,S"}
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			os.Rename(filepath.Join(root, "cur", names[i%2]), filepath.Join(root, "cur", names[(i+1)%2]))
			time.Sleep(20 * time.Microsecond)
		}
	}()
	for range 200 {
		ch := syncNow(t, f)
		if len(ch.Expunged) > 0 || len(ch.New) > 0 {
			close(stop)
			<-done
			t.Fatalf("a rename looked like an expunge: %+v", ch)
		}
	}
	close(stop)
	<-done
}

// TestSyncFastPath: once a folder has rested for a second, Sync skips
// the directory scan, and still sees the next delivery, flag rename and
// deletion.
func TestSyncFastPath(t *testing.T) {
	root := filepath.Join(t.TempDir(), "Maildir")
	n1 := deliver(t, root, "Subject: one\r\n\r\nx\r\n")
	f := selectBox(t, openStore(t, root), "INBOX")
	time.Sleep(1100 * time.Millisecond)
	syncNow(t, f)
	if !f.(*mdFolder).stamp.trusted {
		t.Fatal("the stamp of a folder at rest is not trusted")
	}
	if ch := syncNow(t, f); !ch.Empty() {
		t.Fatalf("nothing happened, yet %+v", ch)
	}
	deliver(t, root, "Subject: two\r\n\r\nx\r\n")
	if ch := syncNow(t, f); len(ch.New) != 1 {
		t.Fatalf("delivery missed: %+v", ch)
	}
	time.Sleep(1100 * time.Millisecond)
	syncNow(t, f)
	if err := os.Rename(filepath.Join(root, "cur", n1+":2,"), filepath.Join(root, "cur", n1+":2,F")); err != nil {
		t.Fatal(err)
	}
	if ch := syncNow(t, f); len(ch.Updated) != 1 {
		t.Fatalf("rename missed: %+v", ch)
	}
	time.Sleep(1100 * time.Millisecond)
	syncNow(t, f)
	if err := os.Remove(filepath.Join(root, "cur", n1+":2,F")); err != nil {
		t.Fatal(err)
	}
	if ch := syncNow(t, f); len(ch.Expunged) != 1 {
		t.Fatalf("deletion missed: %+v", ch)
	}
}

// TestSizeMatchesReader: the size the writer puts in W= is what Open
// then yields, whatever line ends the message came with.
func TestSizeMatchesReader(t *testing.T) {
	root := filepath.Join(t.TempDir(), "Maildir")
	bodies := []string{"a\r\nb\r\n", "bare\rcr\r\r\nx\r\n", "lf only\nand more\n", "\r\n\r\n.\r\n", "no end", "cr at end\r"}
	for _, b := range bodies {
		deliver(t, root, b)
	}
	f := selectBox(t, openStore(t, root), "INBOX")
	for _, m := range f.Messages() {
		got := readMsg(t, f, m.UID, false)
		if int64(len(got)) != m.Size {
			t.Errorf("UID %d: Size %d, Open gives %d bytes: %q", m.UID, m.Size, len(got), got)
		}
	}
}

// TestAdoptDovecotUIDs: a Maildir coming from Dovecot keeps its
// UIDVALIDITY and UIDs; files the uidlist does not name get the next
// UIDs, and names it lists that are gone are dropped.
func TestAdoptDovecotUIDs(t *testing.T) {
	root := filepath.Join(t.TempDir(), "Maildir")
	for _, d := range []string{"cur", "new", "tmp"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	files := map[string]string{
		"cur/1700000000.M1P1.old:2,S":       "Subject: a\n\nx\n",
		"cur/1700000001.M1P1.old,S=14:2,FS": "Subject: b\n\nx\n",
		"new/1700000009.M1P1.old":           "Subject: c\n\nx\n",
	}
	for p, data := range files {
		if err := os.WriteFile(filepath.Join(root, p), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	uidlist := "3 V1600000000 N40 Gabcdef\n" +
		"7 :1700000000.M1P1.old\n" +
		"9 W16 S14 :1700000001.M1P1.old,S=14\n" +
		"12 :1700000005.M1P1.gone\n"
	if err := os.WriteFile(filepath.Join(root, dovecotUIDList), []byte(uidlist), 0o600); err != nil {
		t.Fatal(err)
	}
	f := selectBox(t, openStore(t, root), "INBOX")
	if f.UIDValidity() != 1600000000 || fmt.Sprint(uids(f)) != "[7 9 40]" || f.UIDNext() != 41 {
		t.Fatalf("validity %d, UIDs %v, next %d", f.UIDValidity(), uids(f), f.UIDNext())
	}
	m := f.Messages()
	if !m[0].Has(FlagSeen) || !m[1].Has(FlagFlagged) || m[0].Size != int64(len("Subject: a\r\n\r\nx\r\n")) || m[0].Date.IsZero() {
		t.Errorf("messages %+v", m)
	}
	// Our own index rules from now on.
	g := selectBox(t, openStore(t, root), "INBOX")
	if fmt.Sprint(uids(g)) != "[7 9 40]" || g.UIDValidity() != 1600000000 {
		t.Errorf("second session: %v %d", uids(g), g.UIDValidity())
	}
}

// A Maildir that lost its tmp/ (new/ still there) is mended by the
// delivery, not deferred for ever.
func TestDeliverMendsMissingTmp(t *testing.T) {
	root := filepath.Join(t.TempDir(), "Maildir")
	w := maildir.NewWriter("mx.example.org", 1, time.Now)
	defer w.Close()
	if _, _, err := Deliver(context.Background(), w, Delivery{Root: root, Body: strings.NewReader("a\r\n"), Now: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(root, "tmp")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Deliver(context.Background(), w, Delivery{Root: root, Body: strings.NewReader("b\r\n"), Now: time.Now()}); err != nil {
		t.Fatalf("delivery into a Maildir without tmp/: %v", err)
	}
	if ents, _ := os.ReadDir(filepath.Join(root, "new")); len(ents) != 2 {
		t.Errorf("new/ holds %d files, want 2", len(ents))
	}
}
