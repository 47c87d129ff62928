package imap

import (
	"bufio"
	"compress/flate"
	"io"
	"net"
	"strings"
	"testing"
)

// TestDeflateConn runs a compressed exchange over a pipe: the client
// side is compress/flate on its own, as any RFC 4978 client's would be,
// and every server write must arrive without the server closing.
func TestDeflateConn(t *testing.T) {
	srv, cli := net.Pipe()
	dc, err := NewDeflateConn(srv)
	if err != nil {
		t.Fatal(err)
	}
	// The client goes first, so the server's final block has no reader
	// to wait for.
	done := make(chan struct{})
	defer func() { <-done }()
	defer dc.Close()
	defer cli.Close()
	go func() {
		defer close(done)
		w := NewWriter(dc)
		r := NewReader(dc, DefaultLimits(), nil)
		for {
			cmd, err := r.ReadCommand()
			if err != nil {
				return
			}
			w.Untagged().Atom(strings.Repeat("x", 3000)).End()
			w.Status(cmd.Tag, "OK", "", cmd.Name+" done")
			if w.Flush() != nil {
				return
			}
		}
	}()
	cw, _ := flate.NewWriter(cli, flate.BestSpeed)
	cr := bufio.NewReader(flate.NewReader(cli))
	for _, tag := range []string{"a1", "a2"} {
		if _, err := io.WriteString(cw, tag+" NOOP\r\n"); err != nil {
			t.Fatal(err)
		}
		if err := cw.Flush(); err != nil {
			t.Fatal(err)
		}
		line, err := cr.ReadString('\n')
		if err != nil || len(line) != 3004 {
			t.Fatalf("untagged: %d %v", len(line), err)
		}
		line, err = cr.ReadString('\n')
		if err != nil || line != tag+" OK NOOP done\r\n" {
			t.Fatalf("tagged: %q %v", line, err)
		}
	}
}
