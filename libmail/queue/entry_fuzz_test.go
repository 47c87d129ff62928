package queue

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"runtime"
	"runtime/metrics"
	"strconv"
	"testing"
	"time"
)

// boundedReaderAt is the input as parse sees it: it fails the test if
// parse reads outside the n bytes it was told the entry has.
type boundedReaderAt struct {
	t    *testing.T
	data []byte
}

func (r boundedReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off+int64(len(p)) > int64(len(r.data)) && len(p) > 0 {
		r.t.Fatalf("ReadAt(%d bytes at %d) outside the %d-byte entry", len(p), off, len(r.data))
	}
	return bytes.NewReader(r.data).ReadAt(p, off)
}

// allocatedBytes is the process's cumulative heap allocation, cheaply:
// it is exact for large objects but counts small ones a span at a time,
// so it can overstate what one call allocated.
func allocatedBytes() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// claimedSize returns the size field of the header (the stored message's
// length), and the prepend field of a version 2 header, if they parse.
func claimedSize(data []byte) (size, prepend int64, ok bool) {
	if len(data) < headerHead1 {
		return 0, 0, false
	}
	n, err := strconv.ParseInt(string(data[sizeOffset:sizeOffset+sizeDigits]), 10, 64)
	if err != nil || n < 0 {
		return 0, 0, false
	}
	if string(data[:len(magic1)]) == magic1 {
		return n, 0, true
	}
	if len(data) < headerHead {
		return 0, 0, false
	}
	p, err := strconv.ParseInt(string(data[prependOffset:prependOffset+sizeDigits]), 10, 64)
	return n, p, err == nil && p >= 0
}

// serialize writes e back in the entry format (version 2): envelope, the
// stored message, the prepended header and one record per piece of
// progress. msg is the message as Message reads it.
func serialize(e *Entry, msg []byte) []byte {
	plen := len(e.prepend)
	b := appendEnvelope(nil, &e.Envelope, e.Size-int64(plen), int64(plen))
	b = append(b, msg[plen:]...)
	b = append(b, msg[:plen]...)
	var notified []int
	for i, s := range e.State {
		if s.Status != Pending {
			b = ResultRecord{s.Result}.appendTo(b)
		}
		if s.Notified {
			notified = append(notified, i)
		}
	}
	if len(notified) > 0 {
		b = NotifiedRecord{notified}.appendTo(b)
	}
	if e.Attempts != 0 || !e.NextAttempt.IsZero() {
		b = AttemptRecord{e.Attempts, e.NextAttempt}.appendTo(b)
	}
	if e.Warned {
		b = WarnedRecord{}.appendTo(b)
	}
	if e.Expired {
		b = ExpireRecord{}.appendTo(b)
	}
	if e.Interrupted {
		b = InterruptedRecord{}.appendTo(b)
	}
	return b
}

func sameEntry(a, b *Entry) bool {
	if !a.Arrival.Equal(b.Arrival) || !a.NextAttempt.Equal(b.NextAttempt) {
		return false
	}
	x, y := *a, *b
	x.Arrival, y.Arrival = time.Time{}, time.Time{}
	x.NextAttempt, y.NextAttempt = time.Time{}, time.Time{}
	x.Offset, y.Offset = 0, 0
	return reflect.DeepEqual(x, y)
}

// FuzzParse feeds arbitrary bytes to the entry parser, trailer included.
// Whatever it accepts must describe the input it was given: the message
// lies inside the input, every state belongs to a recipient, a message
// one byte short is rejected, and writing the entry back and reading it
// again gives the same entry.
func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		n := int64(len(data))
		before := allocatedBytes()
		e, err := parse(boundedReaderAt{t, data}, n)
		allocated := allocatedBytes() - before
		if limit := uint64(1<<20 + 64*len(data)); allocated > limit {
			// The cheap count above can overstate; ReadMemStats flushes
			// the per-P caches and is exact, so it has the last word.
			var m0, m1 runtime.MemStats
			runtime.ReadMemStats(&m0)
			parse(bytes.NewReader(data), n)
			runtime.ReadMemStats(&m1)
			if allocated = m1.TotalAlloc - m0.TotalAlloc; allocated > limit {
				t.Fatalf("parse of %d bytes allocated %d bytes (limit %d)", len(data), allocated, limit)
			}
		}
		claimed, claimedPrepend, ok := claimedSize(data)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		if !ok || claimed+claimedPrepend != e.Size || e.Size > n || int64(len(e.prepend)) != claimedPrepend {
			t.Fatalf("parsed size %d, header claims %d+%d of a %d-byte input", e.Size, claimed, claimedPrepend, n)
		}
		if e.Offset < int64(headerHead1)+1 || e.Offset+e.Size > n || e.Size < 0 {
			t.Fatalf("message at %d+%d outside the %d-byte input", e.Offset, e.Size, n)
		}
		if data[e.Offset-1] != '\n' || data[e.Offset-2] != '\n' {
			t.Fatalf("message at %d does not follow an empty line", e.Offset)
		}
		if e.Arrival.IsZero() || len(e.Recipients) == 0 {
			t.Fatalf("accepted an envelope without arrival or recipients: %+v", e.Envelope)
		}
		if len(e.State) != len(e.Recipients) {
			t.Fatalf("%d states for %d recipients", len(e.State), len(e.Recipients))
		}
		for i, s := range e.State {
			switch s.Status {
			case Pending:
				if s.Result != (Result{}) {
					t.Fatalf("pending recipient %d has a result %+v", i, s.Result)
				}
			case Sent, Failed, Deferred:
				if s.Rcpt != i {
					t.Fatalf("state %d names recipient %d", i, s.Rcpt)
				}
			default:
				t.Fatalf("state %d has status %q", i, s.Status)
			}
		}
		if e.Attempts < 0 {
			t.Fatalf("attempts %d", e.Attempts)
		}
		for _, i := range e.Pending() {
			if i < 0 || i >= len(e.Recipients) {
				t.Fatalf("pending index %d of %d recipients", i, len(e.Recipients))
			}
		}

		// The message must be all there: one byte short is corrupt.
		short := data[:e.Offset+e.Size-1]
		if _, err := parse(bytes.NewReader(short), int64(len(short))); err == nil {
			t.Fatalf("accepted the entry cut to %d bytes, inside its %d-byte message at %d", len(short), e.Size, e.Offset)
		}
		msg, err := io.ReadAll(e.Message(bytes.NewReader(data)))
		if err != nil || int64(len(msg)) != e.Size {
			t.Fatalf("message read back %d of %d bytes: %v", len(msg), e.Size, err)
		}
		// What readers see is the prepended header, which lies after the
		// stored message in the file, then the stored message.
		stored := data[e.Offset : e.Offset+claimed]
		if want := string(data[e.Offset+claimed:e.Offset+e.Size]) + string(stored); string(msg) != want {
			t.Fatalf("message read back as %q, want %q", msg, want)
		}

		// Writing back what was read and reading it again is stable.
		again := serialize(e, msg)
		e2, err := parse(bytes.NewReader(again), int64(len(again)))
		if err != nil {
			t.Fatalf("entry written back does not parse: %v\n%q", err, again)
		}
		if !sameEntry(e, e2) {
			t.Fatalf("entry changed on the way back:\n%+v\n%+v\n%q", e, e2, again)
		}
	})
}

// FuzzEnvelopeRoundTrip writes an envelope of arbitrary strings, a
// message, progress records and a torn record, and reads it back: every
// byte of every field must survive the %XX escaping, the records must
// apply to the recipients they name, and the torn record must be ignored.
func FuzzEnvelopeRoundTrip(f *testing.F) {
	f.Fuzz(func(t *testing.T, sender, rcpt, notify, orcpt, envid, helo, other, arrival, reply string, msg []byte, utf8, bounce bool) {
		nanos, err := strconv.ParseInt(arrival, 10, 64)
		if err != nil {
			for _, c := range []byte(arrival) {
				nanos = nanos*131 + int64(c)
			}
		}
		env := Envelope{
			Arrival: time.Unix(0, nanos),
			Sender:  sender,
			Recipients: []Recipient{
				{Addr: rcpt, Notify: notify, ORcpt: orcpt},
				{Addr: orcpt, ORcpt: rcpt},
				{Addr: other},
			},
			EnvID: envid, Ret: other, Body: notify, SMTPUTF8: utf8,
			ClientName: helo, ClientAddr: arrival, Helo: helo, Proto: other, AuthUser: sender,
			Bounce: bounce, DoubleBounce: utf8 && bounce,
		}
		status := []Status{Sent, Failed, Deferred}[len(reply)%3]
		res := Result{Rcpt: 1, Status: status, DSN: envid, Relay: helo, Reply: reply}
		next := time.Unix(nanos/1e9, 0)
		recs := []Record{ResultRecord{res}, NotifiedRecord{[]int{0, 2}}, AttemptRecord{len(msg), next}}
		if bounce {
			recs = append(recs, WarnedRecord{})
		}
		if utf8 {
			recs = append(recs, ExpireRecord{})
		}
		interrupted := len(helo)%2 == 1
		if interrupted {
			recs = append(recs, InterruptedRecord{})
		}

		// A prepended header: any bytes, as far as the format goes.
		prepend := []byte(reply)
		if bounce {
			prepend = nil
		}
		prepend = prepend[:min(len(prepend), MaxPrepend)]
		b := appendEnvelope(nil, &env, int64(len(msg)), int64(len(prepend)))
		head := len(b)
		b = append(b, msg...)
		b = append(b, prepend...)
		for _, r := range recs {
			b = r.appendTo(b)
		}
		// A record torn by a crash: any proper prefix of a whole one.
		torn := ResultRecord{Result{Rcpt: 0, Status: Sent, DSN: "2.0.0", Relay: "local", Reply: reply}}.appendTo(nil)
		b = append(b, torn[:len(sender)%len(torn)]...)

		e, err := parse(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			t.Fatalf("parse: %v\n%q", err, b)
		}
		if e.Offset != int64(head) || e.Size != int64(len(prepend)+len(msg)) {
			t.Fatalf("message at %d+%d, written at %d+%d+%d", e.Offset, e.Size, head, len(msg), len(prepend))
		}
		if !e.Arrival.Equal(env.Arrival) {
			t.Fatalf("arrival %v, wrote %v", e.Arrival, env.Arrival)
		}
		got := e.Envelope
		got.Arrival = env.Arrival
		if !reflect.DeepEqual(got, env) {
			t.Fatalf("envelope changed:\nwrote %#v\nread  %#v\n%q", env, got, b[:head])
		}
		got2, err := io.ReadAll(e.Message(bytes.NewReader(b)))
		if err != nil || string(got2) != string(prepend)+string(msg) {
			t.Fatalf("message read back as %q, %v; wrote %q above %q", got2, err, prepend, msg)
		}
		want := []RcptState{{Notified: true}, {Result: res}, {Notified: true}}
		if !reflect.DeepEqual(e.State, want) {
			t.Fatalf("state\n%#v, want\n%#v", e.State, want)
		}
		if e.Interrupted != interrupted {
			t.Fatalf("interrupted %v, wrote %v", e.Interrupted, interrupted)
		}
		if e.Attempts != len(msg) || !e.NextAttempt.Equal(next) || e.Warned != bounce || e.Expired != utf8 {
			t.Fatalf("attempts %d next %v warned %v expired %v, wrote %d %v %v %v", e.Attempts, e.NextAttempt, e.Warned, e.Expired, len(msg), next, bounce, utf8)
		}
		if escape(sender) == "" || unescapeMust(t, escape(sender)) != sender {
			t.Fatalf("escape(%q) = %q does not come back", sender, escape(sender))
		}
	})
}

func unescapeMust(t *testing.T, s string) string {
	u, err := unescape(s)
	if err != nil {
		t.Fatalf("unescape(%q): %v", s, err)
	}
	return u
}
