package dane

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"testing"
	"time"

	"postern.dev/postern/libmail/dns"
)

// now is the fixed time the tests verify at; certificates are valid a
// day around it unless a test says otherwise.
var now = time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC)

// issued is a certificate with its key.
type issued struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

// issue creates a certificate from tmpl, signed by parent, or self-signed
// if parent is nil.
func issue(t *testing.T, tmpl *x509.Certificate, parent *issued) issued {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		t.Fatal(err)
	}
	tmpl.SerialNumber = serial
	if tmpl.NotBefore.IsZero() {
		tmpl.NotBefore = now.Add(-24 * time.Hour)
	}
	if tmpl.NotAfter.IsZero() {
		tmpl.NotAfter = now.Add(24 * time.Hour)
	}
	signer, signerCert := crypto.Signer(key), tmpl
	if parent != nil {
		signer, signerCert = parent.key, parent.cert
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signerCert, key.Public(), signer)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return issued{c, key}
}

func newCA(t *testing.T, name string, parent *issued) issued {
	t.Helper()
	return issue(t, &x509.Certificate{
		Subject:               pkix.Name{CommonName: name},
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}, parent)
}

func newLeaf(t *testing.T, parent *issued, names ...string) issued {
	t.Helper()
	return issue(t, &x509.Certificate{
		Subject:     pkix.Name{CommonName: names[0]},
		DNSNames:    names,
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}, parent)
}

// record returns the TLSA record with these parameters for c.
func record(usage, selector, mtype uint8, c *x509.Certificate) dns.TLSA {
	b := selected(selector, c)
	switch mtype {
	case MatchSHA256:
		s := sha256.Sum256(b)
		b = s[:]
	case MatchSHA512:
		s := sha512.Sum512(b)
		b = s[:]
	}
	return dns.TLSA{Usage: usage, Selector: selector, MatchingType: mtype, Data: b}
}

// state is the connection state of a server presenting chain.
func state(chain ...issued) *tls.ConnectionState {
	cs := &tls.ConnectionState{}
	for _, c := range chain {
		cs.PeerCertificates = append(cs.PeerCertificates, c.cert)
	}
	return cs
}
