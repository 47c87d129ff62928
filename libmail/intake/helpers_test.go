package intake

import (
	"bytes"
	"testing"
	"time"

	"postern.dev/postern/libmail/message"
	"postern.dev/postern/libmail/queue"
)

// memEntry stands in for a queue entry: it keeps what a Writer stores.
type memEntry struct {
	msg       bytes.Buffer
	prepend   []byte
	records   []queue.Record
	committed bool
	aborted   bool
}

func (m *memEntry) Write(p []byte) (int, error) { return m.msg.Write(p) }
func (m *memEntry) Prepend(f []byte) error {
	m.prepend = append(append([]byte(nil), f...), m.prepend...)
	return nil
}
func (m *memEntry) Record(recs ...queue.Record) { m.records = append(m.records, recs...) }
func (m *memEntry) Commit() error               { m.committed = true; return nil }
func (m *memEntry) Abort()                      { m.aborted = true }

// discard stores nothing, for allocation counts.
type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
func (discard) Prepend([]byte) error        { return nil }
func (discard) Record(...queue.Record)      {}
func (discard) Commit() error               { return nil }
func (discard) Abort()                      {}

const testID = queue.ID("1J2ABCDEFGHIJKLM")

var arrival = time.Date(2026, 11, 23, 14, 32, 1, 0, time.UTC)

func testConfig(headerLimit int) *Config {
	return &Config{Hostname: "mail.example.test", MailName: "postern", SizeLimit: 1 << 20, HeaderLimit: headerLimit}
}

func testEnvelope() *queue.Envelope {
	return &queue.Envelope{
		Arrival: arrival, Sender: "alice@example.org", Recipients: []queue.Recipient{{Addr: "demo@example.test"}},
		ClientName: "client.example", ClientAddr: "192.0.2.7", Helo: "client.example", Proto: "ESMTP",
	}
}

// run feeds in to a new Writer in pieces of chunk bytes and ends it. It
// returns what was stored after the Received: field, the Writer, the
// Received: field and End's error.
func run(t testing.TB, cfg *Config, src *Source, in []byte, chunk int) (stored string, w *Writer, rec string, err error) {
	t.Helper()
	m := &memEntry{}
	w = newWriter(m, testID, testEnvelope(), cfg, src)
	for p := in; len(p) > 0; {
		n := min(chunk, len(p))
		w.Write(p[:n])
		p = p[n:]
	}
	err = w.End()
	all := m.msg.Bytes()
	// The Received: field is the first one and ends at its last line end
	// before a line that does not start with WSP.
	i := 0
	for {
		j := bytes.Index(all[i:], crlf)
		if j < 0 {
			t.Fatalf("no Received: field in %.200q", all)
		}
		i += j + 2
		if i >= len(all) || (all[i] != ' ' && all[i] != '\t') {
			break
		}
	}
	return string(all[i:]), w, string(all[:i]), err
}

// recorder is a Tap that keeps what it is shown.
type recorder struct {
	fields    []string
	body      bytes.Buffer
	headerEnd int // calls
	bodyEarly bool
	ends      int
}

func (r *recorder) Header(f []byte) {
	if r.headerEnd > 0 {
		r.bodyEarly = true
	}
	r.fields = append(r.fields, string(f))
}
func (r *recorder) HeaderEnd() { r.headerEnd++ }
func (r *recorder) Body(p []byte) {
	if r.headerEnd == 0 {
		r.bodyEarly = true
	}
	r.body.Write(p)
}
func (r *recorder) End() { r.ends++ }

// fieldCount counts the fields named name in the header of msg, as the
// agents' header scan sees it.
func fieldCount(msg, name string) int {
	n := 0
	message.Fields([]byte(msg), func(fn, _ []byte) {
		if bytes.EqualFold(fn, []byte(name)) {
			n++
		}
	})
	return n
}
