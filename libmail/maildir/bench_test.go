package maildir

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// benchMessage is a 5 KB message in wire form with 72-character lines.
func benchMessage() []byte {
	var b bytes.Buffer
	b.WriteString("Received: from mx.example.org (mx.example.org [192.0.2.1])\r\n\tby mail.example.net; Mon, 23 Nov 2026 14:32:01 +0000\r\n")
	b.WriteString("Message-ID: <20261123143201.12345@example.org>\r\nSubject: benchmark\r\n\r\n")
	line := strings.Repeat("abcdefghij", 7) + "\r\n"
	for b.Len() < 5000 {
		b.WriteString(line)
	}
	return b.Bytes()
}

// BenchmarkDeliver measures whole deliveries, fsyncs included, so its
// numbers depend on the filesystem under $TMPDIR: run it once on a disk
// for the real cost and once on tmpfs for the CPU cost alone.
func BenchmarkDeliver(b *testing.B) {
	msg := benchMessage()
	header := []byte("Return-Path: <a@example.org>\nDelivered-To: user@example.net\n")
	size := int64(len(header) + len(msg))
	b.Run("serial", func(b *testing.B) {
		root := newMaildir(b)
		w := NewWriter("mx.example.org", 4242, time.Now)
		defer w.Close()
		b.SetBytes(size)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := w.Deliver(context.Background(), root, header, bytes.NewReader(msg)); err != nil {
				b.Fatal(err)
			}
		}
	})
	// Many sessions delivering into one Maildir at once is where group
	// commit pays off; the goroutine counts are per GOMAXPROCS.
	for _, par := range []int{16, 64} {
		b.Run(fmt.Sprintf("parallel-%dx", par), func(b *testing.B) {
			root := newMaildir(b)
			w := NewWriter("mx.example.org", 4242, time.Now)
			defer w.Close()
			b.SetBytes(size)
			b.ReportAllocs()
			b.SetParallelism(par)
			b.RunParallel(func(pb *testing.PB) {
				r := bytes.NewReader(msg)
				for pb.Next() {
					r.Reset(msg)
					if _, err := w.Deliver(context.Background(), root, header, r); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
