package main

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// The generated mailbox: a mailing-list-like INBOX with threads, a mix of
// plain and multipart messages, bodies from 1 to about 40 KB, a third of
// them seen. Everything comes from a fixed seed, so both servers get the
// same bytes and every run the same mailbox.

var (
	genNames   = []string{"Alice Archer", "Bob Baker", "Carol Cook", "Dan Dyer", "Erin Eastwood", "Frank Fisher", "Grace Gardner", "Heidi Hunter", "Ivan Ingram", "Judy Joiner"}
	genDomains = []string{"example.org", "example.net", "lists.example.com", "mail.example.de"}
	genTopics  = []string{"quarterly report", "release planning", "build failure on arm64", "lunch on friday", "conference travel", "budget review", "security advisory", "new hire onboarding", "server migration", "team offsite"}
	genWords   = strings.Fields("the of and to in is that for it as with was on be at by this had not are but from or have an they which one you were all we when there can been has more if no out so said what up its about into than them only other time new some could these two may first then do any like my now over such our man me even most made after also did many before must through back years where much your way well down should because each just those people how too little state good very make world still own see men work long get here between both life being under never day same another know while last might us great old year off come since against go came right used take three")
)

// genMaildir writes n messages into dir/cur (dir/new and dir/tmp empty).
func genMaildir(dir string, n int) error {
	for _, d := range []string{"cur", "new", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			return err
		}
	}
	r := rand.New(rand.NewPCG(2026, 12))
	start := time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC)
	var threads []string // Message-IDs of thread starters
	for i := range n {
		when := start.Add(time.Duration(i) * 37 * time.Minute)
		msg, mid, thread := genMessage(r, i, when, threads)
		if thread {
			threads = append(threads, mid)
		}
		flags := ""
		if i%3 != 0 {
			flags = "S"
		}
		if i%17 == 0 {
			flags = "F" + flags
		}
		// S= and W= (the size with CRLF line ends), as Dovecot's LDA and
		// postern's local name what they deliver.
		name := fmt.Sprintf("%d.M%dP%d.bench,S=%d,W=%d:2,%s", when.Unix(), i, 4242, len(msg), len(msg)+bytes.Count(msg, []byte("\n")), flags)
		p := filepath.Join(dir, "cur", name)
		if err := os.WriteFile(p, msg, 0o600); err != nil {
			return err
		}
		if err := os.Chtimes(p, when, when); err != nil {
			return err
		}
	}
	return nil
}

func pick[T any](r *rand.Rand, s []T) T { return s[r.IntN(len(s))] }

func genAddr(r *rand.Rand) (display, addr string) {
	name := pick(r, genNames)
	local := strings.ToLower(strings.ReplaceAll(name, " ", "."))
	return name, local + "@" + pick(r, genDomains)
}

func genText(r *rand.Rand, size int) string {
	var b strings.Builder
	col := 0
	for b.Len() < size {
		w := pick(r, genWords)
		if col+len(w) > 72 {
			b.WriteString("\n")
			col = 0
		} else if col > 0 {
			b.WriteString(" ")
			col++
		}
		b.WriteString(w)
		col += len(w)
	}
	b.WriteString("\n")
	return b.String()
}

// genMessage makes message i (LF line ends, as local stores them). One
// message in 1000 holds the needle of the body search, and one in 50 has
// "invoice" in its subject, the needle of the header search.
func genMessage(r *rand.Rand, i int, when time.Time, threads []string) (msg []byte, mid string, starter bool) {
	fromName, from := genAddr(r)
	_, to := genAddr(r)
	mid = fmt.Sprintf("<bench.%d.%d@%s>", i, when.Unix(), pick(r, genDomains))
	subject := pick(r, genTopics)
	if i%50 == 7 {
		subject = "invoice " + subject
	}
	var h strings.Builder
	fmt.Fprintf(&h, "Return-Path: <%s>\n", from)
	fmt.Fprintf(&h, "Received: from mx.%s (mx.%s [192.0.2.%d])\n\tby mail.example.test (postern) with ESMTPS id B%08d\n\tfor <%s>; %s\n",
		pick(r, genDomains), pick(r, genDomains), 1+r.IntN(250), i, to, when.Format(time.RFC1123Z))
	fmt.Fprintf(&h, "From: %s <%s>\n", fromName, from)
	fmt.Fprintf(&h, "To: %s\n", to)
	if r.IntN(4) == 0 {
		_, cc := genAddr(r)
		fmt.Fprintf(&h, "Cc: %s\n", cc)
	}
	fmt.Fprintf(&h, "Date: %s\n", when.Format(time.RFC1123Z))
	fmt.Fprintf(&h, "Message-ID: %s\n", mid)
	starter = len(threads) == 0 || r.IntN(3) == 0
	if !starter {
		parent := threads[len(threads)-1-r.IntN(min(len(threads), 20))]
		subject = "Re: " + subject
		fmt.Fprintf(&h, "In-Reply-To: %s\nReferences: %s\n", parent, parent)
	}
	fmt.Fprintf(&h, "Subject: %s\n", subject)
	fmt.Fprintf(&h, "List-Id: <bench.lists.example.com>\nMIME-Version: 1.0\n")
	size := 500 + r.IntN(6000)
	if r.IntN(20) == 0 {
		size = 20000 + r.IntN(20000)
	}
	body := genText(r, size)
	if i%1000 == 500 {
		body += "the zanzibarquux token is here\n"
	}
	if r.IntN(5) == 0 {
		boundary := fmt.Sprintf("=_bench_%d", i)
		fmt.Fprintf(&h, "Content-Type: multipart/alternative; boundary=\"%s\"\n\n", boundary)
		fmt.Fprintf(&h, "--%s\nContent-Type: text/plain; charset=utf-8\n\n%s\n--%s\nContent-Type: text/html; charset=utf-8\n\n<html><body><pre>%s</pre></body></html>\n--%s--\n",
			boundary, body, boundary, body, boundary)
	} else {
		fmt.Fprintf(&h, "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n%s", body)
	}
	return []byte(h.String()), mid, starter
}
