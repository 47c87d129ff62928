package dane

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"postern.dev/postern/libmail/dns"
)

// Why Verify failed; the returned errors wrap one of these and add detail
// for the log.
var (
	ErrNoCertificate = errors.New("dane: server presented no certificate")
	ErrNoUsable      = errors.New("dane: no usable TLSA records")
	ErrNoMatch       = errors.New("dane: no TLSA record matches the server's certificate chain")
	ErrChain         = errors.New("dane: certificate chain does not lead to the DANE-TA trust anchor")
	ErrExpired       = errors.New("dane: server certificate expired or not yet valid")
	ErrName          = errors.New("dane: server certificate does not name the MX host or nexthop domain")
)

// Verify authenticates the certificate chain of a finished handshake
// against recs, which are filtered through Usable first.
//
// A DANE-EE(3) record that matches the leaf certificate is enough: the
// DNS pins that very key, so RFC 7672 §3.1.1 has the client skip name and
// expiry checks, which would only make key rotation fragile.
//
// A DANE-TA(2) record names a trust anchor instead, and then the leaf must
// chain up to it, be valid at now, and carry one of names (the reference
// identifiers: the MX host name and, per RFC 7672 §3.2.2, the nexthop
// domain; wildcards match one leftmost label). How the anchor is found:
//
//   - Selector Cert: a certificate of the presented chain that the record
//     matches (RFC 7672 §3.1.2 has servers include it) or, for a
//     full-value record, the certificate in the record itself. The leaf is
//     verified with crypto/x509 taking that certificate as its only root
//     and the rest of the chain as intermediates.
//   - Selector SPKI: the record pins only a key, so there is no anchor
//     certificate whose name or dates could matter. The key is taken from
//     a presented certificate whose SubjectPublicKeyInfo matches (or from a
//     full-value record); each presented certificate whose signature
//     verifies under that key then serves as the root of the x509
//     verification, the nearest to the leaf first. That certificate was
//     issued by the anchor, so treating it as a root adds no trust the
//     record did not give, and its own dates are still checked.
//
// SHA-1 and weaker signatures by an anchor key are not accepted, as
// crypto/x509 refuses them everywhere else in the chain.
func Verify(cs *tls.ConnectionState, recs []dns.TLSA, names []string, now time.Time) error {
	if cs == nil || len(cs.PeerCertificates) == 0 {
		return ErrNoCertificate
	}
	recs = strongest(Usable(recs))
	if len(recs) == 0 {
		return ErrNoUsable
	}
	chain := cs.PeerCertificates
	leaf := chain[0]
	for _, r := range recs {
		if r.Usage == UsageDANEEE && matches(r, leaf) {
			return nil
		}
	}
	var firstErr error
	for _, r := range recs {
		if r.Usage != UsageDANETA {
			continue
		}
		for _, root := range anchors(r, chain) {
			err := verifyTo(root, chain, names, now)
			if err == nil {
				return nil
			}
			if firstErr == nil {
				firstErr = fmt.Errorf("TLSA %d %d %d: %w", r.Usage, r.Selector, r.MatchingType, err)
			}
		}
	}
	if firstErr != nil {
		return firstErr
	}
	return fmt.Errorf("%w (%d usable records, %d certificates, leaf subject %q)",
		ErrNoMatch, len(recs), len(chain), leaf.Subject.String())
}

// anchors returns the certificates that the DANE-TA record r lets stand as
// the root of the presented chain, as Verify describes.
func anchors(r dns.TLSA, chain []*x509.Certificate) []*x509.Certificate {
	var out []*x509.Certificate
	if r.Selector == SelectorCert {
		for _, c := range chain {
			if matches(r, c) {
				out = append(out, c)
			}
		}
		if len(out) == 0 && r.MatchingType == MatchFull {
			if c, err := x509.ParseCertificate(r.Data); err == nil {
				out = append(out, c)
			}
		}
		return out
	}
	var keys []any
	for _, c := range chain {
		if matches(r, c) {
			keys = append(keys, c.PublicKey)
		}
	}
	if len(keys) == 0 && r.MatchingType == MatchFull {
		if k, err := x509.ParsePKIXPublicKey(r.Data); err == nil {
			keys = append(keys, k)
		}
	}
	for _, k := range keys {
		for _, c := range chain {
			if !slices.Contains(out, c) && signedBy(c, k) {
				out = append(out, c)
			}
		}
	}
	return out
}

// signedBy reports whether c's signature verifies under key.
func signedBy(c *x509.Certificate, key any) bool {
	switch c.SignatureAlgorithm {
	case x509.UnknownSignatureAlgorithm, x509.MD2WithRSA, x509.MD5WithRSA,
		x509.SHA1WithRSA, x509.DSAWithSHA1, x509.ECDSAWithSHA1:
		return false
	}
	// CheckSignature uses nothing of the issuer but its key.
	issuer := &x509.Certificate{PublicKey: key}
	return issuer.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature) == nil
}

// verifyTo checks that the leaf of chain is valid at now, chains up to
// root, and carries one of names.
func verifyTo(root *x509.Certificate, chain []*x509.Certificate, names []string, now time.Time) error {
	leaf := chain[0]
	if now.Before(leaf.NotBefore) || now.After(leaf.NotAfter) {
		return fmt.Errorf("%w: valid %s to %s, now %s", ErrExpired,
			leaf.NotBefore.UTC().Format(time.RFC3339), leaf.NotAfter.UTC().Format(time.RFC3339),
			now.UTC().Format(time.RFC3339))
	}
	roots := x509.NewCertPool()
	roots.AddCert(root)
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		if c != root {
			inter.AddCert(c)
		}
	}
	_, err := leaf.Verify(x509.VerifyOptions{
		Roots:         roots,
		Intermediates: inter,
		CurrentTime:   now,
		// SMTP servers' certificates are often issued for other uses too
		// or without an EKU; RFC 7672 asks for none in particular.
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	})
	if err != nil {
		return fmt.Errorf("%w: %w", ErrChain, err)
	}
	return checkName(leaf, names)
}

// checkName reports whether leaf carries one of the reference identifiers.
// Following RFC 7672 §3.2.3 (and RFC 6125), the subject common name
// counts only when the certificate has no DNS subjectAltName; crypto/x509
// no longer looks at it, but SMTP servers with such certificates are
// still around.
func checkName(leaf *x509.Certificate, names []string) error {
	ids := leaf
	if len(leaf.DNSNames) == 0 && leaf.Subject.CommonName != "" {
		ids = &x509.Certificate{DNSNames: []string{leaf.Subject.CommonName}}
	}
	for _, n := range names {
		n = strings.TrimSuffix(n, ".")
		if n != "" && ids.VerifyHostname(n) == nil {
			return nil
		}
	}
	return fmt.Errorf("%w: certificate for %s, want %s", ErrName,
		strings.Join(ids.DNSNames, ", "), strings.Join(names, " or "))
}
