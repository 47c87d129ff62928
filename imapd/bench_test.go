package imapd

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"postern.dev/postern/libmail/mailbox"
)

// TestMaildirTimings times what make bench compares with Dovecot, on the
// Maildir in IMAPD_BENCH_MAILDIR (imapbench gen DIR 10000), over
// loopback TCP: SELECT and FETCH 1:* (FLAGS ENVELOPE), twice, and the
// header and body searches. It is skipped without the variable.
// IMAPD_BENCH_ONLY=step and IMAPD_BENCH_REPEAT=n repeat one step, for
// go test -cpuprofile.
func TestMaildirTimings(t *testing.T) {
	dir := os.Getenv("IMAPD_BENCH_MAILDIR")
	if dir == "" {
		t.Skip("IMAPD_BENCH_MAILDIR not set")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	step := func(name string, cmds ...string) {
		go func() {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			defer nc.Close()
			store, err := mailbox.Open(context.Background(), dir, mailbox.Options{Hostname: "bench"})
			if err != nil {
				t.Error(err)
				return
			}
			defer store.Close()
			Serve(context.Background(), nc, store, "a0", Config{})
		}()
		nc, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		r := bufio.NewReaderSize(nc, 64<<10)
		read := func(tag string) (lines int) {
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					t.Fatal(err)
				}
				lines++
				if strings.HasPrefix(l, tag+" ") {
					if !strings.HasPrefix(l, tag+" OK") {
						t.Fatalf("%s", l)
					}
					return lines
				}
			}
		}
		read("a0")
		start := time.Now()
		n := 0
		for i, c := range cmds {
			tag := fmt.Sprintf("b%d", i)
			fmt.Fprintf(nc, "%s %s\r\n", tag, c)
			n += read(tag)
		}
		t.Logf("%s: %v (%d lines)", name, time.Since(start), n)
	}
	step("fetch_first", "SELECT INBOX", "FETCH 1:* (FLAGS ENVELOPE)")
	steps := []struct{ name, cmd string }{
		{"select", ""},
		{"fetch_again", "FETCH 1:* (FLAGS ENVELOPE)"},
		{"search_header", `SEARCH SUBJECT "invoice"`},
		{"search_body", `SEARCH BODY "zanzibarquux"`},
	}
	// IMAPD_BENCH_ONLY=step IMAPD_BENCH_REPEAT=n repeat one step, to
	// profile it (go test -cpuprofile).
	only := os.Getenv("IMAPD_BENCH_ONLY")
	repeat, _ := strconv.Atoi(os.Getenv("IMAPD_BENCH_REPEAT"))
	for _, s := range steps {
		if only != "" && s.name != only {
			continue
		}
		cmds := []string{"SELECT INBOX"}
		if s.cmd != "" {
			cmds = append(cmds, s.cmd)
		}
		for range max(repeat, 1) {
			step(s.name, cmds...)
		}
	}
}
