package intake

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"errors"
	"io"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-msgauth/authres"
	msgauth "github.com/emersion/go-msgauth/dkim"

	"postern.dev/postern/libmail/dkim"
	"postern.dev/postern/libmail/testkit"
)

// signingKeys are an RSA and an Ed25519 key of example.test, made once,
// and a resolver that publishes them.
var signingKeys = sync.OnceValues(func() (*dkim.Keys, *testkit.Resolver) {
	r := testkit.NewResolver()
	var keys []*dkim.Key
	for _, kt := range []struct{ typ, sel string }{{"rsa", "rsa2026"}, {"ed25519", "ed2026"}} {
		sg, err := dkim.Generate(kt.typ)
		if err != nil {
			panic(err)
		}
		rec, err := dkim.Record(sg.Public())
		if err != nil {
			panic(err)
		}
		keys = append(keys, &dkim.Key{Domain: "example.test", Selector: kt.sel, Signer: sg, File: kt.sel + ".key"})
		r.SetTXT(dkim.RecordName(kt.sel, "example.test"), rec)
	}
	return dkim.NewKeys(keys...), r
})

// take runs in through a Writer in pieces of chunk bytes and returns the
// message as the queue entry's reader shows it (the prepended fields on
// top), the Writer and End's error.
func take(t *testing.T, cfg *Config, src *Source, in string, chunk int) (string, *Writer, error) {
	t.Helper()
	m := &memEntry{}
	w := newWriter(m, testID, testEnvelope(), cfg, src)
	for p := []byte(in); len(p) > 0; {
		n := min(chunk, len(p))
		w.Write(p[:n])
		p = p[n:]
	}
	err := w.End()
	return string(m.prepend) + m.msg.String(), w, err
}

// verifyStored verifies a stored message as a receiver would, reading it
// whole with go-msgauth (not through a tap).
func verifyStored(t *testing.T, r *testkit.Resolver, stored string) []*msgauth.Verification {
	t.Helper()
	vs, err := msgauth.VerifyWithOptions(strings.NewReader(stored), &msgauth.VerifyOptions{
		LookupTXT: func(name string) ([]string, error) { return r.LookupTXT(context.Background(), name) }})
	if err != nil {
		t.Fatal(err)
	}
	return vs
}

// TestSign: a source that asks for signing (Source.Sign) gets a
// DKIM-Signature per key of its From: domain on top of the stored
// message, made from the stream as intake stored it (the Received: and
// the Date: and Message-ID: intake adds included, LF line ends turned
// into CRLF), which a receiver reading the stored message verifies; a
// body changed after signing fails. Other sources are not signed, nor is
// a message whose header no empty line ends.
func TestSign(t *testing.T) {
	keys, r := signingKeys()
	cfg := testConfig(102400)
	cfg.DKIM = keys
	const msg = "From: Demo <demo@example.test>\r\nTo: bob@example.org\r\nSubject: hello\r\n\r\nHi Bob,\r\n  indented\r\n\r\n"
	for _, c := range []struct {
		name string
		src  Source
		in   string
	}{
		{"submission", Source{Sign: true, AddMissing: true}, msg},
		{"relay from mynetworks", Source{Sign: true}, msg},
		{"local, LF", Source{Sign: true, AddMissing: true, LineEnds: LF}, strings.ReplaceAll(msg, "\r\n", "\n")},
	} {
		for _, chunk := range chunks {
			src := c.src
			stored, w, err := take(t, cfg, &src, c.in, chunk)
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			if !strings.HasPrefix(stored, "DKIM-Signature: a=rsa-sha256;") || strings.Count(stored, "DKIM-Signature:") != 2 {
				t.Fatalf("%s, pieces of %d: stored\n%s", c.name, chunk, stored)
			}
			vs := verifyStored(t, r, stored)
			if len(vs) != 2 || vs[0].Err != nil || vs[1].Err != nil {
				t.Errorf("%s, pieces of %d: %+v %+v", c.name, chunk, vs[0], vs[1])
			}
			if got := w.DKIMKeys(); len(got) != 2 || got[0].Selector != "rsa2026" || got[1].Selector != "ed2026" {
				t.Errorf("%s: DKIMKeys %v", c.name, got)
			}
			changed := strings.Replace(stored, "Hi Bob", "Hi Rob", 1)
			for _, v := range verifyStored(t, r, changed) {
				if v.Err == nil || !strings.Contains(v.Err.Error(), "body hash did not verify") {
					t.Errorf("%s: body changed after signing: %v", c.name, v.Err)
				}
			}
		}
	}
	for _, c := range []struct {
		name string
		src  Source
		in   string
	}{
		{"not asked", Source{}, msg},
		{"no key for the domain", Source{Sign: true}, strings.Replace(msg, "example.test", "example.org", 1)},
		{"header not ended by an empty line", Source{Sign: true}, "From: demo@example.test\r\nno field here\r\n\r\nbody\r\n"},
	} {
		stored, w, err := take(t, cfg, &c.src, c.in, 10)
		if err != nil || strings.Contains(stored, "DKIM-Signature") || w.DKIMKeys() != nil {
			t.Errorf("%s: %v, signed %v:\n%s", c.name, err, w.DKIMKeys(), stored)
		}
	}
	// Without keys, Sign does nothing.
	src := Source{Sign: true}
	if stored, _, err := take(t, testConfig(102400), &src, msg, 10); err != nil || strings.Contains(stored, "DKIM-Signature") {
		t.Errorf("no keys: %v\n%s", err, stored)
	}
}

// TestSignFailure: a key that fails to sign refuses the message for now
// (End's error: a 451 in smtpd) rather than letting it leave unsigned.
func TestSignFailure(t *testing.T) {
	pub, _, _ := ed25519.GenerateKey(nil)
	cfg := testConfig(102400)
	cfg.DKIM = dkim.NewKeys(&dkim.Key{Domain: "example.test", Selector: "hsm", Signer: brokenSigner{pub}, File: "hsm"})
	m := &memEntry{}
	w := newWriter(m, testID, testEnvelope(), cfg, &Source{Sign: true})
	w.Write([]byte("From: demo@example.test\r\n\r\nbody\r\n"))
	if err := w.End(); err == nil || !strings.Contains(err.Error(), "dkim") {
		t.Errorf("End: %v, want a dkim error", err)
	}
	if m.prepend != nil {
		t.Errorf("prepended %q", m.prepend)
	}
}

type brokenSigner struct{ pub ed25519.PublicKey }

func (b brokenSigner) Public() crypto.PublicKey { return b.pub }
func (brokenSigner) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	return nil, errors.New("the key is on a token that was unplugged")
}

// TestVerifyTap: a dkim.Verifier on intake's taps verifies a message as
// it is taken in: the RFC 8463 example passes both signatures through the
// Received: field intake adds, and fails once its body is changed.
func TestVerifyTap(t *testing.T) {
	raw, err := os.ReadFile("../dkim/testdata/rfc8463-a3.eml")
	if err != nil {
		t.Fatal(err)
	}
	msg := strings.ReplaceAll(string(raw), "\n", "\r\n")
	r := testkit.NewResolver()
	r.SetTXT("brisbane._domainkey.football.example.com", "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=")
	r.SetTXT("test._domainkey.football.example.com", "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB")
	for _, c := range []struct {
		in   string
		want authres.ResultValue
	}{{msg, authres.ResultPass}, {strings.Replace(msg, "hungry", "thirsty", 1), authres.ResultFail}} {
		for _, chunk := range chunks {
			v := dkim.NewVerifier(context.Background(), r)
			if _, _, err := take(t, testConfig(102400), &Source{Taps: []Tap{v}}, c.in, chunk); err != nil {
				t.Fatal(err)
			}
			res := v.Results()
			if len(res) != 2 || res[0].Status != c.want || res[1].Status != c.want {
				t.Errorf("pieces of %d: %+v, want %s", chunk, res, c.want)
			}
		}
	}
}

// TestAbortTellsTaps: Abort reaches taps that are Aborters, whether the
// message failed in the middle or after End, and a refused message's taps
// hear Abort rather than End.
func TestAbortTellsTaps(t *testing.T) {
	a := &aborter{}
	w := newWriter(&memEntry{}, testID, testEnvelope(), testConfig(102400), &Source{Taps: []Tap{a}})
	w.Write([]byte("Subject: x\r\n\r\nbare\nlf\r\n"))
	if err := w.End(); err == nil {
		t.Fatal("bare LF taken")
	}
	w.Abort()
	w.Abort()
	if a.ends != 0 || a.aborts != 1 {
		t.Errorf("End %d times, Abort %d times", a.ends, a.aborts)
	}
}

type aborter struct {
	recorder
	aborts int
}

func (a *aborter) Abort() { a.aborts++ }

var _ Tap = (*dkim.Signer)(nil)
var _ Aborter = (*dkim.Signer)(nil)
var _ Tap = (*dkim.Verifier)(nil)
var _ Aborter = (*dkim.Verifier)(nil)
