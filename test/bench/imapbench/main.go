// Command imapbench is the mailbox benchmark of `make bench`
// (test/bench/mailbox-bench.sh): it makes the test mailbox and times an
// IMAP server on it, so that postern's imapd and Debian's Dovecot are
// measured by the same client on copies of the same Maildir.
//
//	imapbench gen DIR COUNT
//	    write COUNT messages into the Maildir DIR (fixed seed: the same
//	    mailbox every time)
//	imapbench run -addr HOST:PORT -user U -pass P [-tls] [-tree PID [-match RE]] [-count N]
//	    log in and time, each in a new session: SELECT INBOX then
//	    FETCH 1:* (FLAGS ENVELOPE) twice (the first reads a mailbox the
//	    server has not seen, the second what it keeps), SEARCH SUBJECT
//	    (a header search) and SEARCH BODY (a full-body search). With
//	    -tree, the peak summed PSS of that process tree during each step
//	    is reported too (with -match, of its processes whose names match
//	    RE: the mail server's part of a tree that runs an MTA as well).
//	    One line per step: "step=NAME ms=... peak_pss_mb=...".
//
// It talks to 127.0.0.1 only in the benchmark, and checks what the
// servers answer (message and match counts), so a server that skips work
// does not look fast.
package main

import (
	"flag"
	"fmt"
	"os"
	"regexp"
	"strconv"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	switch os.Args[1] {
	case "gen":
		if len(os.Args) != 4 {
			usage()
		}
		n, err := strconv.Atoi(os.Args[3])
		if err != nil || n < 1 {
			usage()
		}
		if err := genMaildir(os.Args[2], n); err != nil {
			fmt.Fprintln(os.Stderr, "imapbench:", err)
			os.Exit(1)
		}
	case "run":
		fs := flag.NewFlagSet("run", flag.ExitOnError)
		addr := fs.String("addr", "", "server address")
		user := fs.String("user", "", "login")
		pass := fs.String("pass", "", "password")
		useTLS := fs.Bool("tls", false, "implicit TLS")
		tree := fs.Int("tree", 0, "PID of the server's master: report the peak PSS of its process tree")
		count := fs.Int("count", 0, "messages the mailbox holds (checked)")
		match := fs.String("match", "", "with -tree: count only processes whose names match this regular expression")
		fs.Parse(os.Args[2:])
		var re *regexp.Regexp
		if *match != "" {
			var err error
			if re, err = regexp.Compile(*match); err != nil {
				fmt.Fprintln(os.Stderr, "imapbench: -match:", err)
				os.Exit(2)
			}
		}
		if err := run(*addr, *user, *pass, *useTLS, *tree, re, *count); err != nil {
			fmt.Fprintln(os.Stderr, "imapbench:", err)
			os.Exit(1)
		}
	default:
		usage()
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: imapbench gen DIR COUNT | imapbench run -addr HOST:PORT -user U -pass P [-tls] [-tree PID [-match RE]] [-count N]")
	os.Exit(2)
}

// step is one timed command sequence in a fresh session.
type step struct {
	name  string
	cmds  []string
	check func(last result) error
}

func run(addr, user, pass string, useTLS bool, tree int, match *regexp.Regexp, count int) error {
	fetched := func(r result) error {
		if count > 0 && r.untagged != count {
			return fmt.Errorf("FETCH gave %d responses, want %d", r.untagged, count)
		}
		return nil
	}
	found := func(want int) func(result) error {
		return func(r result) error {
			if count == 10000 && r.search != want {
				return fmt.Errorf("SEARCH found %d, want %d", r.search, want)
			}
			return nil
		}
	}
	steps := []step{
		{"fetch_first", []string{"SELECT INBOX", "FETCH 1:* (FLAGS ENVELOPE)"}, fetched},
		{"fetch_again", []string{"SELECT INBOX", "FETCH 1:* (FLAGS ENVELOPE)"}, fetched},
		{"search_header", []string{"SELECT INBOX", `SEARCH SUBJECT "invoice"`}, found(200)},
		{"search_body", []string{"SELECT INBOX", `SEARCH BODY "zanzibarquux"`}, found(10)},
	}
	for _, s := range steps {
		c, err := dial(addr, useTLS)
		if err != nil {
			return err
		}
		if _, err := c.do(fmt.Sprintf("LOGIN %q %q", user, pass)); err != nil {
			c.conn.Close()
			return err
		}
		mem := startSampler(tree, match)
		var total float64
		var last result
		for _, cmd := range s.cmds {
			r, err := c.do(cmd)
			if err != nil {
				mem.end()
				c.conn.Close()
				return err
			}
			total += r.elapsed.Seconds() * 1000
			last = r
		}
		peak := mem.end()
		c.close()
		if err := s.check(last); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		fmt.Printf("step=%s ms=%.1f peak_pss_mb=%.1f\n", s.name, total, peak)
	}
	return nil
}
