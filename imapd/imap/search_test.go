package imap

import (
	"strings"
	"testing"
	"time"
)

const searchMessage = `From: "Joe Q. Public" <john.q.public@example.com>
To: =?ISO-8859-1?Q?Andr=E9?= <andre@example.org>
Cc: boss@example.net
Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?= from the meeting
Date: Tue, 1 Jul 2003 23:52:37 +0200
X-Mailer: Mutt
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=b

--b
Content-Type: text/plain; charset=iso-8859-1
Content-Transfer-Encoding: quoted-printable

Caf=E9 at noon, the STRASSE is clo=
sed.
--b
Content-Type: application/octet-stream
Content-Transfer-Encoding: base64

c2VjcmV0IGF0dGFjaG1lbnQ=
--b--
`

func TestSearch(t *testing.T) {
	raw := crlf(searchMessage)
	internal := time.Date(2003, 7, 2, 1, 0, 0, 0, time.FixedZone("", 2*3600))
	data := &SearchData{
		SeqNum: 3, UID: 30, Flags: []string{`\Seen`, `\Recent`, "$Forwarded"},
		InternalDate: internal, Size: int64(len(raw)), ModSeq: 500,
		Message: NewMessage(strings.NewReader(raw), int64(len(raw))),
	}
	ctx := SearchContext{MaxSeq: 5, MaxUID: 50, SavedUIDs: SetOf([]uint32{30}), Now: internal.Add(time.Hour)}
	for _, tc := range []struct {
		keys string
		want bool
	}{
		{"ALL", true},
		{"SEEN", true}, {"UNSEEN", false}, {"RECENT", true}, {"NEW", false}, {"OLD", false},
		{"ANSWERED", false}, {"UNANSWERED", true}, {"DELETED", false}, {"UNDELETED", true},
		{"DRAFT", false}, {"UNDRAFT", true}, {"FLAGGED", false}, {"UNFLAGGED", true},
		{"KEYWORD $forwarded", true}, {"UNKEYWORD $Forwarded", false}, {"KEYWORD $Junk", false},
		{"3", true}, {"1:2", false}, {"*", false}, {"2:*", true}, {"$", true}, {"UID $", true}, {"NOT $", false},
		{"UID 30", true}, {"UID 31:*", false}, {"UID *", false},
		{"LARGER 100", true}, {"SMALLER 100", false},
		{"MODSEQ 500", true}, {"MODSEQ 501", false},
		// The internal date is 2 July in its own zone, whatever UTC says.
		{"ON 2-Jul-2003", true}, {"ON 1-Jul-2003", false}, {"BEFORE 2-Jul-2003", false},
		{"SINCE 2-Jul-2003", true}, {"BEFORE 3-Jul-2003", true},
		// The Date field says 1 July.
		{"SENTON 1-Jul-2003", true}, {"SENTSINCE 2-Jul-2003", false}, {"SENTBEFORE 2-Jul-2003", true},
		{"OLDER 1800", true}, {"YOUNGER 1800", false}, {"YOUNGER 7200", true},
		{"FROM public", true}, {"FROM JOHN.Q", true}, {"FROM smith", false},
		{`TO "andré"`, true}, {`TO "ANDRÉ"`, true}, {"CC boss", true}, {"BCC boss", false},
		{`SUBJECT "grüsse"`, true}, {"SUBJECT MEETING", true}, {"SUBJECT agenda", false},
		{`HEADER X-Mailer mutt`, true}, {`HEADER X-Mailer ""`, true}, {`HEADER X-Spam ""`, false},
		{`BODY "café"`, true}, {"BODY strasse", true}, {`BODY "straße"`, true}, {"BODY \"is closed\"", true},
		{"BODY secret", false}, {"BODY meeting", false},
		{"TEXT meeting", true}, {`TEXT "café"`, true}, {"TEXT nowhere", false},
		{"CHARSET ISO-8859-1 BODY {4}\r\nCaf\xe9", true},
		{"NOT SEEN", false}, {"OR DELETED FROM joe", true}, {"OR DELETED FROM bob", false},
		{"(SEEN FROM joe) NOT DELETED", true}, {"SEEN UNSEEN", false},
	} {
		cmd, err := ParseCommand([]byte("x SEARCH "+tc.keys+"\r\n"), DefaultLimits())
		if err != nil {
			t.Fatalf("%s: %v", tc.keys, err)
		}
		s := cmd.Args.(*Search)
		m, err := NewMatcher(s.Key, s.Charset, ctx)
		if err != nil {
			t.Fatalf("%s: %v", tc.keys, err)
		}
		got, err := m.Match(data)
		if err != nil {
			t.Fatalf("%s: %v", tc.keys, err)
		}
		if got != tc.want {
			t.Errorf("SEARCH %s = %v, want %v", tc.keys, got, tc.want)
		}
	}
}

func TestMatcherNeedsMessage(t *testing.T) {
	for keys, want := range map[string]bool{"UNSEEN 1:5": false, "OR SEEN FROM x": true, "NOT BODY x": true} {
		cmd, _ := ParseCommand([]byte("x SEARCH "+keys+"\r\n"), DefaultLimits())
		m, _ := NewMatcher(cmd.Args.(*Search).Key, "", SearchContext{})
		if m.NeedsMessage() != want {
			t.Errorf("%s: NeedsMessage %v", keys, !want)
		}
	}
	// Flag keys run first, so an unseen-only search never opens the
	// message: with Message nil, this must not fail.
	cmd, _ := ParseCommand([]byte("x SEARCH BODY x UNSEEN\r\n"), DefaultLimits())
	m, _ := NewMatcher(cmd.Args.(*Search).Key, "", SearchContext{})
	if ok, err := m.Match(&SearchData{Flags: []string{`\Seen`}}); ok || err != nil {
		t.Fatalf("got %v %v", ok, err)
	}
}

func TestReaderContainsAcrossChunks(t *testing.T) {
	body := strings.Repeat("ä", 40000) + "Needle" + strings.Repeat("x", 100000)
	ok, err := readerContains(strings.NewReader(body), fold("NEEDLE"), make([]byte, 64<<10))
	if !ok || err != nil {
		t.Fatalf("got %v %v", ok, err)
	}
	ok, _ = readerContains(strings.NewReader(body), fold("needles"), make([]byte, 64<<10))
	if ok {
		t.Fatal("found what is not there")
	}
}
