package dane

import (
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"testing"
	"time"

	"postern.dev/postern/libmail/dns"
)

func TestVerify(t *testing.T) {
	ca := newCA(t, "Test CA", nil)
	leaf := newLeaf(t, &ca, "mx.example.test")
	other := newCA(t, "Other CA", nil)
	otherLeaf := newLeaf(t, &other, "mx.example.test")
	root := newCA(t, "Test Root", nil)
	inter := newCA(t, "Test Intermediate", &root)
	interLeaf := newLeaf(t, &inter, "mx.example.test")
	expired := issue(t, &x509.Certificate{
		Subject:   pkix.Name{CommonName: "mx.example.test"},
		DNSNames:  []string{"mx.example.test"},
		NotBefore: now.Add(-48 * time.Hour),
		NotAfter:  now.Add(-time.Hour),
	}, &ca)
	expiredCA := issue(t, &x509.Certificate{
		Subject:               pkix.Name{CommonName: "Expired CA"},
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
		NotBefore:             now.Add(-48 * time.Hour),
		NotAfter:              now.Add(-time.Hour),
	}, nil)
	underExpiredCA := newLeaf(t, &expiredCA, "mx.example.test")
	wildcard := newLeaf(t, &ca, "*.example.test")
	cnOnly := issue(t, &x509.Certificate{Subject: pkix.Name{CommonName: "mx.example.test"}}, &ca)
	nexthop := newLeaf(t, &ca, "example.test")

	names := []string{"mx.example.test", "example.test"}
	tests := []struct {
		name  string
		chain []issued
		recs  []dns.TLSA
		names []string
		want  error
	}{
		// DANE-EE: the leaf alone, no name or date checks.
		{"EE 3 1 1", []issued{leaf, ca}, []dns.TLSA{record(3, 1, 1, leaf.cert)}, names, nil},
		{"EE 3 0 1", []issued{leaf, ca}, []dns.TLSA{record(3, 0, 1, leaf.cert)}, names, nil},
		{"EE 3 1 2", []issued{leaf, ca}, []dns.TLSA{record(3, 1, 2, leaf.cert)}, names, nil},
		{"EE 3 0 0", []issued{leaf, ca}, []dns.TLSA{record(3, 0, 0, leaf.cert)}, names, nil},
		{"EE 3 1 0", []issued{leaf}, []dns.TLSA{record(3, 1, 0, leaf.cert)}, names, nil},
		{"EE wrong digest", []issued{leaf, ca}, []dns.TLSA{record(3, 1, 1, otherLeaf.cert)}, names, ErrNoMatch},
		{"EE matches CA not leaf", []issued{leaf, ca}, []dns.TLSA{record(3, 1, 1, ca.cert)}, names, ErrNoMatch},
		{"EE ignores name", []issued{leaf}, []dns.TLSA{record(3, 1, 1, leaf.cert)}, []string{"mx.wrong.test"}, nil},
		{"EE ignores expiry", []issued{expired}, []dns.TLSA{record(3, 1, 1, expired.cert)}, names, nil},

		// DANE-TA, selector Cert.
		{"TA 2 0 1", []issued{leaf, ca}, []dns.TLSA{record(2, 0, 1, ca.cert)}, names, nil},
		{"TA 2 0 2", []issued{leaf, ca}, []dns.TLSA{record(2, 0, 2, ca.cert)}, names, nil},
		{"TA wrong name", []issued{leaf, ca}, []dns.TLSA{record(2, 0, 1, ca.cert)}, []string{"mx.wrong.test"}, ErrName},
		{"TA no names", []issued{leaf, ca}, []dns.TLSA{record(2, 0, 1, ca.cert)}, nil, ErrName},
		{"TA expired leaf", []issued{expired, ca}, []dns.TLSA{record(2, 0, 1, ca.cert)}, names, ErrExpired},
		{"TA expired anchor", []issued{underExpiredCA, expiredCA}, []dns.TLSA{record(2, 0, 1, expiredCA.cert)}, names, ErrChain},
		{"TA not issuer", []issued{otherLeaf, ca}, []dns.TLSA{record(2, 0, 1, ca.cert)}, names, ErrChain},
		{"TA digest absent from chain", []issued{leaf}, []dns.TLSA{record(2, 0, 1, ca.cert)}, names, ErrNoMatch},
		{"TA 2 0 0 absent from chain", []issued{leaf}, []dns.TLSA{record(2, 0, 0, ca.cert)}, names, nil},
		{"TA intermediate", []issued{interLeaf, inter, root}, []dns.TLSA{record(2, 0, 1, inter.cert)}, names, nil},
		{"TA root over intermediate", []issued{interLeaf, inter, root}, []dns.TLSA{record(2, 0, 1, root.cert)}, names, nil},
		{"TA wildcard", []issued{wildcard, ca}, []dns.TLSA{record(2, 0, 1, ca.cert)}, names, nil},
		{"TA wildcard one label only", []issued{wildcard, ca}, []dns.TLSA{record(2, 0, 1, ca.cert)}, []string{"a.mx.example.test"}, ErrName},
		{"TA common name", []issued{cnOnly, ca}, []dns.TLSA{record(2, 0, 1, ca.cert)}, names, nil},
		{"TA common name wrong", []issued{cnOnly, ca}, []dns.TLSA{record(2, 0, 1, ca.cert)}, []string{"mx.wrong.test"}, ErrName},
		{"TA nexthop domain", []issued{nexthop, ca}, []dns.TLSA{record(2, 0, 1, ca.cert)}, names, nil},
		{"TA trailing dot", []issued{leaf, ca}, []dns.TLSA{record(2, 0, 1, ca.cert)}, []string{"MX.example.test."}, nil},

		// DANE-TA, selector SPKI: only the key is pinned.
		{"TA 2 1 1", []issued{leaf, ca}, []dns.TLSA{record(2, 1, 1, ca.cert)}, names, nil},
		{"TA 2 1 1 wrong name", []issued{leaf, ca}, []dns.TLSA{record(2, 1, 1, ca.cert)}, []string{"mx.wrong.test"}, ErrName},
		{"TA 2 1 1 expired leaf", []issued{expired, ca}, []dns.TLSA{record(2, 1, 1, ca.cert)}, names, ErrExpired},
		{"TA 2 1 1 not issuer", []issued{otherLeaf, ca}, []dns.TLSA{record(2, 1, 1, ca.cert)}, names, ErrChain},
		{"TA 2 1 1 not issuer, anchor absent", []issued{otherLeaf}, []dns.TLSA{record(2, 1, 0, ca.cert)}, names, ErrNoMatch},
		{"TA 2 1 0 absent from chain", []issued{leaf}, []dns.TLSA{record(2, 1, 0, ca.cert)}, names, nil},
		{"TA 2 1 1 root key", []issued{interLeaf, inter, root}, []dns.TLSA{record(2, 1, 1, root.cert)}, names, nil},
		{"TA 2 1 0 root key absent", []issued{interLeaf, inter}, []dns.TLSA{record(2, 1, 0, root.cert)}, names, nil},
		{"TA 2 1 1 root key absent", []issued{interLeaf, inter}, []dns.TLSA{record(2, 1, 1, root.cert)}, names, ErrNoMatch},
		{"TA 2 1 1 key outlives its certificate", []issued{underExpiredCA, expiredCA}, []dns.TLSA{record(2, 1, 1, expiredCA.cert)}, names, nil},

		// Record sets.
		{"PKIX only", []issued{leaf, ca}, []dns.TLSA{record(0, 0, 1, ca.cert), record(1, 1, 1, leaf.cert)}, names, ErrNoUsable},
		{"none", []issued{leaf, ca}, nil, names, ErrNoUsable},
		{"PKIX ignored", []issued{leaf, ca}, []dns.TLSA{record(1, 1, 1, leaf.cert), record(3, 1, 1, otherLeaf.cert)}, names, ErrNoMatch},
		{"EE or TA", []issued{leaf, ca}, []dns.TLSA{record(3, 1, 1, otherLeaf.cert), record(2, 0, 1, ca.cert)}, names, nil},
		{"agility drops SHA-256", []issued{leaf}, []dns.TLSA{record(3, 1, 1, leaf.cert), record(3, 1, 2, otherLeaf.cert)}, names, ErrNoMatch},
		{"agility keeps SHA-512", []issued{leaf}, []dns.TLSA{record(3, 1, 1, otherLeaf.cert), record(3, 1, 2, leaf.cert)}, names, nil},
		{"no certificate", nil, []dns.TLSA{record(3, 1, 1, leaf.cert)}, names, ErrNoCertificate},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Verify(state(tt.chain...), tt.recs, tt.names, now)
			if tt.want == nil && err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestVerifyNilState(t *testing.T) {
	if err := Verify(nil, nil, nil, now); !errors.Is(err, ErrNoCertificate) {
		t.Errorf("Verify(nil) = %v", err)
	}
	if err := Verify(&tls.ConnectionState{}, nil, nil, now); !errors.Is(err, ErrNoCertificate) {
		t.Errorf("Verify(empty) = %v", err)
	}
}
