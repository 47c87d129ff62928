package imap

import (
	"bufio"
	"compress/flate"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDeflateConn runs a compressed exchange over a pipe: the client
// side is compress/flate on its own, as any RFC 4978 client's would be,
// and every server write must arrive without the server closing.
func TestDeflateConn(t *testing.T) {
	srv, cli := tcpPair(t)
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

// TestDeflateConnZlibFlushes feeds the server side the streams zlib
// writes (testdata/deflate), one flushed command at a time, and needs
// each command before the next chunk is sent: a client waits for the
// answer, so an inflater that holds data back until more input comes
// (Z_PARTIAL_FLUSH ends with an empty fixed-Huffman block, not a stored
// one) stalls the session, as mbsync did.
func TestDeflateConnZlibFlushes(t *testing.T) {
	for _, kind := range []string{"partial", "sync", "full"} {
		t.Run(kind, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", "deflate", kind+".hex"))
			if err != nil {
				t.Fatal(err)
			}
			srv, cli := net.Pipe()
			dc, err := NewDeflateConn(srv)
			if err != nil {
				t.Fatal(err)
			}
			// dc.Close writes the final block: the client end closes
			// first so that write fails instead of waiting.
			defer dc.Close()
			defer cli.Close()
			cmds := make(chan *Command)
			go func() {
				defer close(cmds)
				r := NewReader(dc, DefaultLimits(), nil)
				for {
					cmd, err := r.ReadCommand()
					if err != nil {
						return
					}
					cmds <- cmd
				}
			}()
			for i, line := range strings.Fields(string(data)) {
				chunk, err := hex.DecodeString(line)
				if err != nil {
					t.Fatal(err)
				}
				go cli.Write(chunk)
				select {
				case cmd := <-cmds:
					if want := fmt.Sprintf("a%d", i+1); cmd == nil || cmd.Tag != want {
						t.Fatalf("command %d: %+v, want tag %s", i, cmd, want)
					}
				case <-time.After(5 * time.Second):
					t.Fatalf("command %d: not read after its %s flush", i+1, kind)
				}
			}
		})
	}
}

// tcpPair is a connected loopback pair. net.Pipe has no buffer: a
// writer's sync-flush marker, written after the block the reader
// already returned, would wait for a read while the reader answers.
func tcpPair(t *testing.T) (net.Conn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cli, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	srv, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	return srv, cli
}
