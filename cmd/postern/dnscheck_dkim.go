package main

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"postern.dev/postern/libmail/dkim"
)

// checkDKIM: for each dkim_signing_keys selector of the domain, the
// record at SELECTOR._domainkey.DOMAIN must publish the public half of
// the key file, which is what receivers verify the signatures with.
func (c *dnsChecker) checkDKIM(ctx context.Context) []finding {
	var out []finding
	for _, k := range c.keys {
		// The file may name the domain in Unicode; the check has A-labels.
		if d, err := dkim.Domain(k.Domain); err != nil || d != c.domain {
			continue
		}
		out = append(out, c.checkDKIMKey(ctx, k.Selector, k.File))
	}
	if len(out) == 0 {
		out = append(out, finding{Kind: "DKIM", Status: statusWarn,
			Reason: fmt.Sprintf("dkim_signing_keys has no key for %s, so its mail is not signed: make one with postern dkim keygen %s SELECTOR", c.domain, c.domain)})
	}
	return out
}

func (c *dnsChecker) checkDKIMKey(ctx context.Context, selector, file string) finding {
	name := dkim.RecordName(selector, c.domain)
	f := finding{Kind: "DKIM", Name: name + "."}
	pub, keyErr := c.publicKey(file)
	if keyErr == nil {
		rec, err := dkim.Record(pub)
		if err != nil {
			keyErr = err
		} else {
			f.Publish = []string{dkim.ZoneLine(selector, c.domain, rec)}
		}
	}
	txts, err := c.r.LookupTXT(ctx, name)
	if err != nil {
		return failed(f, err, fmt.Sprintf("no DKIM key record for selector %s: receivers cannot verify the signatures", selector))
	}
	var recs []map[string]string
	for _, t := range txts {
		tags, ok := tagList(t)
		// RFC 6376 §3.6.1: v= is optional, and must be DKIM1 when present.
		if ok && (tags["v"] == "DKIM1" || tags["v"] == "" && tags["p"] != "" || strings.HasPrefix(t, "v=DKIM1")) {
			recs = append(recs, tags)
			f.Found = append(f.Found, t)
		}
	}
	switch len(recs) {
	case 0:
		f.Status, f.Reason = statusMissing, fmt.Sprintf("the TXT records at %s hold no DKIM key", name)
		return f
	case 1:
	default:
		f.Status, f.Reason = statusWrong, fmt.Sprintf("%d DKIM key records at %s: verification is undefined (RFC 6376 §3.6.2.2)", len(recs), name)
		return f
	}
	p := strings.Join(strings.Fields(recs[0]["p"]), "")
	if p == "" {
		f.Status, f.Reason = statusWrong, "the published key is revoked (empty p=)"
		return f
	}
	if keyErr != nil {
		f.Status, f.Reason = statusWarn, fmt.Sprintf("key file %s: %v; the published key is not compared", file, keyErr)
		return f
	}
	published, err := parseDKIMKey(recs[0]["k"], p)
	if err != nil {
		f.Status, f.Reason = statusWrong, "the published key does not parse: "+err.Error()
		return f
	}
	if eq, ok := pub.(interface{ Equal(crypto.PublicKey) bool }); !ok || !eq.Equal(published) {
		f.Status, f.Reason = statusWrong, fmt.Sprintf("the published key is not the public half of %s: signatures fail", file)
		return f
	}
	f.Status = statusOK
	return f
}

// publicKey reads a dkim_signing_keys file and returns its public key.
func (c *dnsChecker) publicKey(file string) (crypto.PublicKey, error) {
	b, err := c.readFile(file)
	if err != nil {
		return nil, err
	}
	k, err := dkim.ParsePrivateKey(b)
	if err != nil {
		return nil, err
	}
	return k.Public(), nil
}

// parseDKIMKey decodes the p= of a key record of type k (RFC 6376
// §3.6.1, "rsa" when absent): an RSA SubjectPublicKeyInfo, or a bare
// RSAPublicKey as some publish it (erratum 3017), or a raw Ed25519 key
// (RFC 8463 §4.2).
func parseDKIMKey(k, p string) (crypto.PublicKey, error) {
	raw, err := base64.StdEncoding.DecodeString(p)
	if err != nil {
		return nil, fmt.Errorf("p= is not base64: %w", err)
	}
	switch strings.ToLower(k) {
	case "", "rsa":
		if pub, err := x509.ParsePKIXPublicKey(raw); err == nil {
			return pub, nil
		}
		return x509.ParsePKCS1PublicKey(raw)
	case "ed25519":
		if len(raw) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("an Ed25519 key has %d bytes, not %d", ed25519.PublicKeySize, len(raw))
		}
		return ed25519.PublicKey(raw), nil
	}
	return nil, errors.New("unknown key type k=" + k)
}
