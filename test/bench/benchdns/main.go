// Command benchdns is the loopback DNS of the inbound benchmark
// (test/bench/run.sh): it answers from a zone file on 127.0.0.1, prints
// the address it listens on, and serves until its standard input closes,
// so that the benchmark's SPF, DKIM and DMARC lookups cost what a fast
// local resolver costs, and never leave the machine.
//
//	benchdns ZONEFILE
package main

import (
	"fmt"
	"io"
	"os"

	"postern.dev/postern/libmail/dns/dnstest"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: benchdns ZONEFILE")
		os.Exit(2)
	}
	zone, err := os.ReadFile(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchdns:", err)
		os.Exit(1)
	}
	s, err := dnstest.Start(string(zone))
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchdns:", err)
		os.Exit(1)
	}
	defer s.Close()
	fmt.Println(s.Addr())
	io.Copy(io.Discard, os.Stdin)
}
