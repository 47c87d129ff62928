package esmtp

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// sinkServer answers every command on one connection at once, as a
// fast server does: 250 to everything, 354 to DATA, and 250 after the
// final dot. It is the other end of the client benchmarks.
func sinkServer(b *testing.B, c net.Conn) {
	defer c.Close()
	br := bufio.NewReader(c)
	bw := bufio.NewWriter(c)
	bw.WriteString("220 sink.example ESMTP\r\n")
	bw.Flush()
	data := false
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return
		}
		switch {
		case data:
			if string(line) == ".\r\n" {
				data = false
				bw.WriteString("250 2.0.0 Ok: queued\r\n")
			}
		case bytes.HasPrefix(line, []byte("EHLO")):
			bw.WriteString("250-sink.example\r\n250-PIPELINING\r\n250-SIZE 100000000\r\n250-8BITMIME\r\n250-ENHANCEDSTATUSCODES\r\n250 DSN\r\n")
		case bytes.HasPrefix(line, []byte("DATA")):
			data = true
			bw.WriteString("354 End data with <CR><LF>.<CR><LF>\r\n")
		case bytes.HasPrefix(line, []byte("QUIT")):
			bw.WriteString("221 2.0.0 Bye\r\n")
			bw.Flush()
			return
		default:
			bw.WriteString("250 2.0.0 Ok\r\n")
		}
		if br.Buffered() == 0 {
			bw.Flush()
		}
	}
}

// BenchmarkTransaction sends a 5 KB message to 10 recipients over one
// pipelined session: the client's hot path (commands, replies, data).
func BenchmarkTransaction(b *testing.B) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	go func() {
		c, err := l.Accept()
		if err == nil {
			sinkServer(b, c)
		}
	}()
	conn, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	to := Timeouts{Helo: time.Minute, Mail: time.Minute, Rcpt: time.Minute, DataInit: time.Minute,
		DataXfer: time.Minute, DataDone: time.Minute, Quit: time.Minute}
	c := NewClient(conn, "sink.example", netip.MustParseAddrPort(l.Addr().String()),
		&Config{Helo: "client.example", Timeouts: to, LineLimit: 998}, time.Now())
	if err := c.Greet(); err != nil {
		b.Fatal(err)
	}
	defer c.Quit()
	msg := strings.Repeat("A line of a message of about seventy characters, as text mail has.\r\n", 75)
	body := io.NewSectionReader(strings.NewReader(msg), 0, int64(len(msg)))
	buf := make([]byte, 64<<10)
	tx := Transaction{Mail: Mail{From: "sender@example.org", Size: int64(len(msg)), Body: "8BITMIME"},
		Rcpts: make([]Rcpt, 10),
		Data: func(w io.Writer) error {
			if _, err := body.Seek(0, io.SeekStart); err != nil {
				return err
			}
			_, err := io.CopyBuffer(w, body, buf)
			return err
		}}
	for i := range tx.Rcpts {
		tx.Rcpts[i] = Rcpt{To: "rcpt" + string(rune('a'+i)) + "@example.net", Notify: "FAILURE"}
	}
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		if err := c.Send(&tx); err != nil || len(tx.Answers) != len(tx.Rcpts) {
			b.Fatal(err)
		}
		for _, a := range tx.Answers {
			if a.Reply.Code != 250 {
				b.Fatalf("answer %+v", a)
			}
		}
	}
}

// BenchmarkParseReply reads a multi-line EHLO reply and a one-line one.
func BenchmarkParseReply(b *testing.B) {
	in := []byte("250-mx.example.net Hello\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-8BITMIME\r\n250-DSN\r\n250 ENHANCEDSTATUSCODES\r\n250 2.1.5 Ok\r\n")
	rd := bytes.NewReader(in)
	br := bufio.NewReader(rd)
	b.ReportAllocs()
	for b.Loop() {
		rd.Reset(in)
		br.Reset(rd)
		for range 2 {
			if _, err := readReply(br); err != nil {
				b.Fatal(err)
			}
		}
	}
}
