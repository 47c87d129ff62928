package dkim

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/net/idna"
)

// RSABits is the size of the RSA keys Generate makes: RFC 8301 §3.2 has
// signers use at least 1024 bits and "SHOULD use at least 2048"; 2048 is
// what large receivers expect, and it still fits a TXT record in two
// strings.
const RSABits = 2048

// minRSABits is the smallest RSA key that signs: RFC 8301 §3.2 makes
// verifiers ignore signatures with smaller keys.
const minRSABits = 1024

// Key is one signing key: a private key of a domain, published in the DNS
// under its selector (RFC 6376 §3.6.2.1).
type Key struct {
	Domain   string // the SDID, d= (RFC 6376 §3.5): lower case, in A-labels
	Selector string // s=
	Signer   crypto.Signer
	File     string // where it was read from, for messages
}

// Type names the key's algorithm as the k= tag of its record does (RFC
// 6376 §3.6.1, RFC 8463 §4.2): "rsa" or "ed25519".
func (k *Key) Type() string { return keyType(k.Signer.Public()) }

func keyType(pub crypto.PublicKey) string {
	switch pub.(type) {
	case *rsa.PublicKey:
		return "rsa"
	case ed25519.PublicKey:
		return "ed25519"
	}
	return ""
}

// Keys are the signing keys of a server, by domain. A nil *Keys has none.
type Keys struct {
	byDomain map[string][]*Key
}

// KeySpec names a key to load: a dkim_signing_keys entry.
type KeySpec struct {
	Domain, Selector, File string
}

// LoadKeys reads the private keys named by specs. Any key that cannot be
// read or used is an error naming its file: a daemon that is to sign must
// not start signing some domains and silently not others.
func LoadKeys(specs []KeySpec) (*Keys, error) {
	ks := &Keys{byDomain: map[string][]*Key{}}
	for _, s := range specs {
		domain, err := Domain(s.Domain)
		if err != nil {
			return nil, fmt.Errorf("dkim key %s: %w", s.File, err)
		}
		pemBytes, err := os.ReadFile(s.File)
		if err != nil {
			return nil, fmt.Errorf("dkim key for %s (selector %s): %w", s.Domain, s.Selector, err)
		}
		signer, err := ParsePrivateKey(pemBytes)
		if err != nil {
			return nil, fmt.Errorf("dkim key %s: %w", s.File, err)
		}
		k := &Key{Domain: domain, Selector: strings.ToLower(s.Selector), Signer: signer, File: s.File}
		ks.byDomain[domain] = append(ks.byDomain[domain], k)
	}
	return ks, nil
}

// NewKeys makes Keys from keys already loaded (tests, and programs that
// generate their own).
func NewKeys(keys ...*Key) *Keys {
	ks := &Keys{byDomain: map[string][]*Key{}}
	for _, k := range keys {
		ks.byDomain[k.Domain] = append(ks.byDomain[k.Domain], k)
	}
	return ks
}

// Len is the number of keys.
func (ks *Keys) Len() int {
	if ks == nil {
		return 0
	}
	n := 0
	for _, l := range ks.byDomain {
		n += len(l)
	}
	return n
}

// For returns the keys of domain (in A-labels, lower case), in the order
// they were configured.
func (ks *Keys) For(domain string) []*Key {
	if ks == nil {
		return nil
	}
	return ks.byDomain[domain]
}

// Domain returns a domain as DKIM names it: lower case, without a trailing
// dot, in A-labels (d= and the key's DNS name are DNS names, RFC 6376
// §3.5; an internationalized From: domain is signed as its A-labels,
// RFC 8616 §4).
func Domain(d string) (string, error) {
	d = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(d)), ".")
	if d == "" {
		return "", errors.New("empty domain")
	}
	a, err := idna.Lookup.ToASCII(d)
	if err != nil {
		return "", fmt.Errorf("domain %q: %w", d, err)
	}
	return strings.ToLower(a), nil
}

// ParsePrivateKey reads a PEM private key: PKCS#8 ("PRIVATE KEY", RSA or
// Ed25519, what Generate writes), or PKCS#1 ("RSA PRIVATE KEY", what older
// opendkim-genkey writes).
func ParsePrivateKey(b []byte) (crypto.Signer, error) {
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, errors.New("no PEM block")
	}
	var key any
	var err error
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("PEM block %q is not a private key", block.Type)
	}
	if err != nil {
		return nil, err
	}
	switch k := key.(type) {
	case *rsa.PrivateKey:
		if k.N.BitLen() < minRSABits {
			return nil, fmt.Errorf("RSA key of %d bits: RFC 8301 wants at least %d", k.N.BitLen(), minRSABits)
		}
		return k, nil
	case ed25519.PrivateKey:
		return k, nil
	}
	return nil, fmt.Errorf("%T keys cannot sign DKIM: want RSA or Ed25519", key)
}

// Generate makes a new private key of type "rsa" (RSABits) or "ed25519".
func Generate(typ string) (crypto.Signer, error) {
	switch typ {
	case "rsa":
		return rsa.GenerateKey(rand.Reader, RSABits)
	case "ed25519":
		_, k, err := ed25519.GenerateKey(rand.Reader)
		return k, err
	}
	return nil, fmt.Errorf("key type %q: want rsa or ed25519", typ)
}

// MarshalPrivateKey returns the key in PEM, PKCS#8.
func MarshalPrivateKey(k crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// Record returns the text of the DNS TXT record that publishes pub (RFC
// 6376 §3.6.1): v=DKIM1, k=, and p=, the base64 of the RSA key's
// SubjectPublicKeyInfo (the form opendkim and the large receivers
// publish; RFC 6376 §3.6.1 and erratum 3017) or of the bare 32-byte
// Ed25519 key (RFC 8463 §4.2).
func Record(pub crypto.PublicKey) (string, error) {
	var raw []byte
	switch p := pub.(type) {
	case *rsa.PublicKey:
		der, err := x509.MarshalPKIXPublicKey(p)
		if err != nil {
			return "", err
		}
		raw = der
	case ed25519.PublicKey:
		raw = p
	default:
		return "", fmt.Errorf("%T keys cannot sign DKIM", pub)
	}
	return "v=DKIM1; k=" + keyType(pub) + "; p=" + base64.StdEncoding.EncodeToString(raw), nil
}

// RecordName is the DNS name of a key's record: SELECTOR._domainkey.DOMAIN
// (RFC 6376 §3.6.2.1).
func RecordName(selector, domain string) string {
	return selector + "._domainkey." + domain
}

// ZoneLine returns a key's record as a zone-file line (RFC 1035 §5.1),
// the text cut into quoted strings of at most 255 bytes each, the most a
// TXT character-string holds (RFC 1035 §3.3.14); a verifier joins them
// again (RFC 6376 §3.6.2.2). An RSA 2048 key needs two.
func ZoneLine(selector, domain, record string) string {
	var b strings.Builder
	b.WriteString(RecordName(selector, domain))
	b.WriteString(". IN TXT")
	for len(record) > 0 {
		n := min(len(record), 255)
		b.WriteString(` "`)
		b.WriteString(record[:n]) // no quote or backslash: tags and base64 only
		b.WriteString(`"`)
		record = record[n:]
	}
	return b.String()
}
