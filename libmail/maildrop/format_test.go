package maildrop

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
)

func TestEnvelopeRoundTrip(t *testing.T) {
	for _, e := range []*Envelope{
		{Recipients: []Recipient{{Addr: "bob"}}},
		{HasSender: true, Recipients: []Recipient{{Addr: "bob@example.org"}, {Addr: "carol", Notify: "NEVER"}}},
		{HasSender: true, Sender: "alice@example.org", FullName: "Alice \"Al\" Example\x01", EnvID: "id 1",
			Ret: "HDRS", Body: "8BITMIME", Recipients: []Recipient{{Addr: "\"odd one\"@example.org", Notify: "SUCCESS,DELAY"}}},
	} {
		var b bytes.Buffer
		if err := WriteEnvelope(&b, e); err != nil {
			t.Fatal(err)
		}
		b.WriteString("Subject: hi\n\nbody\n")
		r := bufio.NewReader(&b)
		got, err := ReadEnvelope(r)
		if err != nil {
			t.Fatalf("%+v: %v", e, err)
		}
		if !reflect.DeepEqual(got, e) {
			t.Errorf("read %+v, wrote %+v", got, e)
		}
		if rest, _ := io.ReadAll(r); string(rest) != "Subject: hi\n\nbody\n" {
			t.Errorf("message %q", rest)
		}
	}
}

func TestWriteEnvelopeNeedsRecipient(t *testing.T) {
	if err := WriteEnvelope(io.Discard, &Envelope{}); err == nil {
		t.Error("no error without recipients")
	}
}

func TestReadEnvelopeRefuses(t *testing.T) {
	for name, in := range map[string]string{
		"empty":         "",
		"magic":         "postern-maildrop 2\nrcpt \"a\"\n\n",
		"no rcpt":       Magic + "\nsender \"a\"\n\n",
		"unknown key":   Magic + "\nrcpt \"a\"\nhack \"x\"\n\n",
		"unquoted":      Magic + "\nrcpt a\n\n",
		"no value":      Magic + "\nrcpt\n\n",
		"twice":         Magic + "\nsender \"a\"\nsender \"b\"\nrcpt \"a\"\n\n",
		"newline value": Magic + "\nrcpt \"a\\nb\"\n\n",
		"nul value":     Magic + "\nrcpt \"a\\x00b\"\n\n",
		"empty rcpt":    Magic + "\nrcpt \"\"\n\n",
		"bad ret":       Magic + "\nret \"ALL\"\nrcpt \"a\"\n\n",
		"bad body":      Magic + "\nbody \"BINARYMIME\"\nrcpt \"a\"\n\n",
		"bad notify":    Magic + "\nrcpt \"a\" \"NEVER,SUCCESS\"\n\n",
		"three values":  Magic + "\nrcpt \"a\" \"NEVER\" \"x\"\n\n",
		"two values":    Magic + "\nsender \"a\" \"b\"\nrcpt \"a\"\n\n",
		"two spaces":    Magic + "\nrcpt \"a\"  \"NEVER\"\n\n",
		"trailing":      Magic + "\nrcpt \"a\"x\n\n",
		"old notify":    Magic + "\nnotify \"NEVER\"\nrcpt \"a\"\n\n",
		"truncated":     Magic + "\nrcpt \"a\"\n",
		"long line":     Magic + "\nrcpt \"" + strings.Repeat("a", MaxLine) + "\"\n\n",
	} {
		_, err := ReadEnvelope(bufio.NewReaderSize(strings.NewReader(in), 16))
		if !errors.Is(err, ErrFormat) {
			t.Errorf("%s: got %v, want ErrFormat", name, err)
		}
	}
}

func TestReadEnvelopeRecipientLimit(t *testing.T) {
	var b strings.Builder
	b.WriteString(Magic + "\n")
	for range MaxRecipients + 1 {
		b.WriteString("rcpt \"a\"\n")
	}
	b.WriteString("\n")
	if _, err := ReadEnvelope(bufio.NewReader(strings.NewReader(b.String()))); !errors.Is(err, ErrFormat) {
		t.Errorf("got %v", err)
	}
}

func TestValidNotify(t *testing.T) {
	for v, want := range map[string]bool{"NEVER": true, "SUCCESS": true, "SUCCESS,FAILURE,DELAY": true,
		"": false, "never": false, "SUCCESS,SUCCESS": false, "NEVER,DELAY": false, "FAILURE,": false} {
		if got := ValidNotify(v); got != want {
			t.Errorf("ValidNotify(%q) = %v", v, got)
		}
	}
}
