package imapd

import (
	"context"
	"strings"
	"testing"
	"time"

	"postern.dev/postern/libmail/mailbox"
)

// TestPrefilterSameResults: header searches give the same answers with
// the prefilter as without, on headers where raw and decoded text
// differ (encoded words, escapes, folding, case, 8-bit).
func TestPrefilterSameResults(t *testing.T) {
	msgs := []string{
		"From: Alice <alice@example.org>\nSubject: Invoice 42\n\nx\n",
		"From: =?utf-8?q?Bj=C3=B6rn?= <b@example.org>\nSubject: =?utf-8?b?SW52b2ljZSBkdWU=?=\n\nx\n",
		"From: \"Al\\\"ice\" <q@example.org>\nSubject: quoted\n\nx\n",
		"From: c@example.org\nSubject: a long\n folded INVOICE subject\n\nx\n",
		"From: d@example.org\nSubject: caf\xc3\xa9 invoice\n\nx\n",
		"From: e@example.org\nTo: Invoice Dept <inv@example.org>\nSubject: nothing\n\nx\n",
		"From: f@example.org\nMessage-ID: <invoice@x>\nSubject: other\n\nx\n",
	}
	searches := []string{
		`SEARCH SUBJECT invoice`, `SEARCH SUBJECT "invoice due"`, `SEARCH FROM "björn"`,
		`SEARCH CHARSET UTF-8 FROM {6+}` + "\r\nBJÖRN", `SEARCH FROM "l\"ice"`, `SEARCH FROM "Al\\"`,
		`SEARCH TO invoice`, `SEARCH HEADER Message-ID invoice`, `SEARCH SUBJECT folded SUBJECT long`,
		`SEARCH OR SUBJECT invoice FROM alice`, `SEARCH NOT SUBJECT invoice`, `SEARCH SUBJECT "café"`,
		`SEARCH SUBJECT INVOICE FROM example.org`, `SEARCH HEADER Subject ""`,
	}
	sameWithoutFilters(t, msgs, searches, true)
}

// sameWithoutFilters runs the searches on the messages with the
// prefilters and without (every message through the Matcher), reports
// any answer that differs, and returns those with the filters. utf8
// enables UTF8=ACCEPT first.
func sameWithoutFilters(t *testing.T, msgs, searches []string, utf8 bool) []string {
	t.Helper()
	answers := func(noPrefilter bool) []string {
		store := mailbox.NewMemory(now, 0)
		for _, m := range msgs {
			if _, err := store.Append(context.Background(), "INBOX", nil, time.Time{}, strings.NewReader(m)); err != nil {
				t.Fatal(err)
			}
		}
		c, _ := startSessionWith(t, store, Config{Now: now, noPrefilter: noPrefilter})
		if utf8 {
			c.send("e ENABLE UTF8=ACCEPT\r\n")
			c.until("e")
		}
		c.send("s SELECT INBOX\r\n")
		c.until("s")
		var out []string
		for _, q := range searches {
			c.send("q " + q + "\r\n")
			out = append(out, q+" → "+c.until("q"))
		}
		return out
	}
	with, without := answers(false), answers(true)
	for i := range with {
		if with[i] != without[i] {
			t.Errorf("with the filters:\n%s\nwithout:\n%s", with[i], without[i])
		}
	}
	return with
}
