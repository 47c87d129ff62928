package message

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"
)

// wireMessage builds a message of about size bytes in SMTP wire form, with
// a realistic header and 72-character body lines.
func wireMessage(size int) []byte {
	var b bytes.Buffer
	for i := range 12 {
		fmt.Fprintf(&b, "Received: from host%d.example.org (host%d.example.org [192.0.2.%d])\r\n\tby mx.example.net; Mon, 23 Nov 2026 14:32:01 +0000\r\n", i, i, i)
	}
	b.WriteString("Message-ID: <20261123143201.12345@example.org>\r\nDelivered-To: user@example.net\r\nSubject: benchmark\r\n\r\n")
	line := strings.Repeat("abcdefghij", 7) + "\r\n"
	for b.Len() < size {
		b.WriteString(line)
	}
	return b.Bytes()
}

func BenchmarkLFWriter(b *testing.B) {
	for _, size := range []int{5 << 10, 1 << 20} {
		msg := wireMessage(size)
		w := NewLFWriter(io.Discard)
		b.Run(fmt.Sprintf("Write/%dK", size>>10), func(b *testing.B) {
			b.SetBytes(int64(len(msg)))
			b.ReportAllocs()
			for b.Loop() {
				w.Reset(io.Discard)
				w.Write(msg)
				w.Close()
			}
		})
		b.Run(fmt.Sprintf("ReadFrom/%dK", size>>10), func(b *testing.B) {
			r := bytes.NewReader(msg)
			b.SetBytes(int64(len(msg)))
			b.ReportAllocs()
			for b.Loop() {
				r.Reset(msg)
				w.Reset(io.Discard)
				w.ReadFrom(r)
				w.Close()
			}
		})
	}
}

func BenchmarkScanHeader(b *testing.B) {
	msg := wireMessage(5 << 10)
	r := bytes.NewReader(msg)
	br := bufio.NewReader(r)
	b.SetBytes(int64(bytes.Index(msg, []byte("\r\n\r\n")) + 4))
	b.ReportAllocs()
	for b.Loop() {
		r.Reset(msg)
		br.Reset(r)
		n := 0
		ScanHeader(br, 64<<10, func(name, _ []byte) bool {
			if bytes.EqualFold(name, []byte("Delivered-To")) {
				n++
			}
			return true
		})
		if n != 1 {
			b.Fatal("Delivered-To not found")
		}
	}
}
