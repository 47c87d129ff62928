package imap

import (
	"strings"
	"testing"
)

// The mailbox rows of make bench time SELECT then FETCH 1:* (FLAGS
// ENVELOPE), a header SEARCH and a body SEARCH; these are the protocol
// layer's share of each, per message.

func benchMessage() string {
	return crlf(searchMessage) + strings.Repeat("Lorem ipsum dolor sit amet, consectetur adipiscing elit.\r\n", 200)
}

func BenchmarkFetchEnvelope(b *testing.B) {
	raw := benchMessage()
	cmd, _ := ParseCommand([]byte("x FETCH 1:* (FLAGS ENVELOPE)\r\n"), DefaultLimits())
	items := cmd.Args.(*Fetch).Items
	w := NewWriter(discard{})
	b.ReportAllocs()
	for b.Loop() {
		d := &FetchData{SeqNum: 1, Flags: []string{`\Seen`}, Message: NewMessage(strings.NewReader(raw), int64(len(raw)))}
		if err := w.Fetch(d, items); err != nil {
			b.Fatal(err)
		}
	}
}

func benchSearch(b *testing.B, keys string) {
	raw := benchMessage()
	cmd, _ := ParseCommand([]byte("x SEARCH "+keys+"\r\n"), DefaultLimits())
	m, err := NewMatcher(cmd.Args.(*Search).Key, "", SearchContext{MaxSeq: 1, MaxUID: 1})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		d := &SearchData{SeqNum: 1, UID: 1, Message: NewMessage(strings.NewReader(raw), int64(len(raw)))}
		if _, err := m.Match(d); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSearchHeader(b *testing.B) { benchSearch(b, "FROM nobody") }
func BenchmarkSearchBody(b *testing.B)   { benchSearch(b, "BODY nowhere") }

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
