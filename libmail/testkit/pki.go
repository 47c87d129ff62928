package testkit

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// PKI is a test certificate authority and a server certificate it issued,
// valid from an hour ago for a day by the real clock, which is the one
// crypto/tls checks.
type PKI struct {
	// CAPEM is the CA certificate in PEM; Pool trusts it alone.
	CAPEM []byte
	Pool  *x509.CertPool
	// Server is the server certificate with its chain and key; Leaf is
	// its parsed certificate.
	Server tls.Certificate
	Leaf   *x509.Certificate

	key *ecdsa.PrivateKey
}

// NewPKI makes a CA and a server certificate for names (host names, or
// IP addresses as text), the first of them its subject.
func NewPKI(t testing.TB, names ...string) *PKI {
	t.Helper()
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "postern test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, caKey.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: names[0]},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, key.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	p := &PKI{CAPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), Pool: x509.NewCertPool(),
		Server: tls.Certificate{Certificate: [][]byte{der, caDER}, PrivateKey: key, Leaf: leaf}, Leaf: leaf, key: key}
	p.Pool.AddCert(ca)
	return p
}

// ServerConfig is a TLS server configuration with the server certificate.
func (p *PKI) ServerConfig() *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{p.Server}, MinVersion: tls.VersionTLS12}
}

// WriteCA writes the CA certificate into dir as ca.pem, readable by all
// (a root sandbox's daemons read it as another user), and returns its path.
func (p *PKI) WriteCA(t testing.TB, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(path, p.CAPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// WriteServer writes the server certificate chain and its key into dir as
// cert.pem and key.pem, for smtpd_tls_cert_file and smtpd_tls_key_file,
// and returns their paths.
func (p *PKI) WriteServer(t testing.TB, dir string) (cert, key string) {
	t.Helper()
	var chain []byte
	for _, der := range p.Server.Certificate {
		chain = append(chain, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(p.key)
	if err != nil {
		t.Fatal(err)
	}
	cert, key = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(cert, chain, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return cert, key
}

// SPKISHA256 is the hex SHA-256 of the server certificate's public key:
// the data of a TLSA 3 1 1 record for it.
func (p *PKI) SPKISHA256() string {
	sum := sha256.Sum256(p.Leaf.RawSubjectPublicKeyInfo)
	return hex.EncodeToString(sum[:])
}
