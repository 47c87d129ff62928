package dane

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"testing"
	"time"

	"postern.dev/postern/libmail/dns"
)

// serve starts a TLS server on loopback that presents chain (the first
// certificate's key signs) and reports each client's SNI name. It accepts
// connections until the test ends.
func serve(t *testing.T, maxVersion uint16, chain ...issued) (addr string, sni <-chan string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	cert := tls.Certificate{PrivateKey: chain[0].key}
	for _, c := range chain {
		cert.Certificate = append(cert.Certificate, c.cert.Raw)
	}
	names := make(chan string, 10)
	cfg := &tls.Config{
		Certificates: []tls.Certificate{cert},
		MaxVersion:   maxVersion,
		GetConfigForClient: func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
			names <- hello.ServerName
			return nil, nil
		},
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				s := tls.Server(c, cfg)
				s.SetDeadline(time.Now().Add(10 * time.Second))
				if s.Handshake() == nil {
					s.Write([]byte("ok"))
				}
			}()
		}
	}()
	return ln.Addr().String(), names
}

// dial makes a TLS connection to addr with cfg and reads the server's
// greeting.
func dial(t *testing.T, addr string, cfg *tls.Config) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var d net.Dialer
	raw, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	c := tls.Client(raw, cfg)
	if err := c.HandshakeContext(ctx); err != nil {
		return err
	}
	buf := make([]byte, 2)
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Read(buf); err != nil || string(buf) != "ok" {
		t.Fatalf("read after handshake: %q %v", buf, err)
	}
	return nil
}

func TestConfig(t *testing.T) {
	recs := []dns.TLSA{{Usage: 3, Selector: 1, MatchingType: 1, Data: make([]byte, 32)}}
	c := Config(recs, []string{"mx.example.test.", "example.test"}, func() time.Time { return now })
	if !c.InsecureSkipVerify || c.ServerName != "mx.example.test" || c.MinVersion != tls.VersionTLS12 || c.VerifyConnection == nil {
		t.Errorf("Config = InsecureSkipVerify %v, ServerName %q, MinVersion %x", c.InsecureSkipVerify, c.ServerName, c.MinVersion)
	}
	if c := Config(recs, nil, time.Now); c.ServerName != "" {
		t.Errorf("Config without names: ServerName %q", c.ServerName)
	}
}

func TestHandshake(t *testing.T) {
	ca := newCA(t, "Test CA", nil)
	leaf := newLeaf(t, &ca, "mx.example.test")
	other := newLeaf(t, &ca, "mx.other.test")
	addr, sni := serve(t, 0, leaf, ca)
	clock := func() time.Time { return now }
	names := []string{"mx.example.test", "example.test"}

	tests := []struct {
		name  string
		recs  []dns.TLSA
		names []string
		want  error
	}{
		{"EE 3 1 1", []dns.TLSA{record(3, 1, 1, leaf.cert)}, names, nil},
		{"EE 3 0 2", []dns.TLSA{record(3, 0, 2, leaf.cert)}, names, nil},
		{"EE wrong key", []dns.TLSA{record(3, 1, 1, other.cert)}, names, ErrNoMatch},
		{"TA 2 0 1", []dns.TLSA{record(2, 0, 1, ca.cert)}, names, nil},
		{"TA 2 1 1", []dns.TLSA{record(2, 1, 1, ca.cert)}, names, nil},
		{"TA wrong name", []dns.TLSA{record(2, 0, 1, ca.cert)}, []string{"mx.other.test"}, ErrName},
		{"PKIX only", []dns.TLSA{record(1, 1, 1, leaf.cert)}, names, ErrNoUsable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs := append([]dns.TLSA(nil), tt.recs...)
			cfg := Config(recs, tt.names, clock)
			recs[0] = dns.TLSA{} // Config must have taken a copy.
			err := dial(t, addr, cfg)
			if tt.want == nil && err != nil {
				t.Fatalf("handshake: %v", err)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("handshake = %v, want %v", err, tt.want)
			}
			if got := <-sni; got != tt.names[0] {
				t.Errorf("SNI %q, want %q", got, tt.names[0])
			}
		})
	}
}

func TestHandshakeRefusesOldTLS(t *testing.T) {
	ca := newCA(t, "Test CA", nil)
	leaf := newLeaf(t, &ca, "mx.example.test")
	addr, _ := serve(t, tls.VersionTLS11, leaf, ca)
	cfg := Config([]dns.TLSA{record(3, 1, 1, leaf.cert)}, []string{"mx.example.test"}, func() time.Time { return now })
	if err := dial(t, addr, cfg); err == nil {
		t.Fatal("handshake with a TLS 1.1 server succeeded")
	}
}
