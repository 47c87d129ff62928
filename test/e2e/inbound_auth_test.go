package e2e

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"

	"postern.dev/postern/libmail/dns/dnstest"
)

// inboundZone publishes, for mail from 127.0.0.2: pass.test authorizes
// it in SPF, signs with the DKIM key dk._domainkey.pass.test and asks for
// p=reject; reject.test and quar.test authorize nobody and ask for
// p=reject and p=quarantine; timeout.test's answers never come.
const inboundZone = `
$ORIGIN pass.test.
@        TXT "v=spf1 ip4:127.0.0.2 -all"
_dmarc   TXT "v=DMARC1; p=reject"
$ORIGIN reject.test.
@        TXT "v=spf1 -all"
_dmarc   TXT "v=DMARC1; p=reject"
$ORIGIN quar.test.
@        TXT "v=spf1 -all"
_dmarc   TXT "v=DMARC1; p=quarantine"
$ORIGIN timeout.test.
@        TXT "v=spf1 -all"
_dmarc   TXT "v=DMARC1; p=reject"
`

// dkimKey makes an RSA key for dkimpy (PKCS#1 PEM, in a file) and the
// TXT record that publishes it.
func dkimKey(t *testing.T, dir string) (keyFile, record string) {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	keyFile = filepath.Join(dir, "dk.pem")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}), 0o600); err != nil {
		t.Fatal(err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	p := base64.StdEncoding.EncodeToString(pub)
	// Zone-file text: the key is cut into strings of at most 255 bytes.
	var parts []string
	for txt := "v=DKIM1; k=rsa; p=" + p; len(txt) > 0; {
		n := min(len(txt), 200)
		parts = append(parts, `"`+txt[:n]+`"`)
		txt = txt[n:]
	}
	return keyFile, strings.Join(parts, " ")
}

// sendFrom sends msg over port 25 from the address local (not in
// mynetworks) with go-smtp's client, and returns the error of the end of
// DATA: nil, or the server's refusal.
func sendFrom(t *testing.T, s *System, local, from string, msg []byte) error {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}, Timeout: 10 * time.Second}
	nc, err := d.Dial("tcp", s.Addr(25))
	if err != nil {
		t.Fatal(err)
	}
	c := gosmtp.NewClient(nc)
	defer c.Close()
	c.CommandTimeout, c.SubmissionTimeout = 60*time.Second, 60*time.Second
	if err := c.Hello("client.example"); err != nil {
		t.Fatal(err)
	}
	err = c.SendMail(from, []string{"demo@example.test"}, bytes.NewReader(msg))
	c.Quit()
	return err
}

// inboundMessage is a message from addr with a Message-ID naming it.
func inboundMessage(addr, id string) []byte {
	return []byte("From: Sender <" + addr + ">\r\nTo: demo@example.test\r\nSubject: " + id +
		"\r\nDate: Mon, 07 Dec 2026 04:00:00 +0000\r\nMessage-ID: <" + id + "@client.example>\r\n" +
		"Authentication-Results: mail.example.test; dmarc=pass header.from=" + addr[strings.IndexByte(addr, '@')+1:] + "\r\n" +
		"\r\nHello from " + addr + ".\r\n")
}

// pythonAuthResults reads a delivered message with Python's email package
// (the default policy) and prints the Authentication-Results: fields it
// finds and the defects it reports.
func pythonAuthResults(t *testing.T, file string) string {
	t.Helper()
	out, err := exec.Command("/usr/bin/python3", "-c", `
import email, email.policy, sys
m = email.message_from_binary_file(open(sys.argv[1], "rb"), policy=email.policy.default)
for h in m.get_all("Authentication-Results") or []:
    print("AR:", " ".join(str(h).split()), "defects:", len(h.defects))
print("message defects:", len(m.defects))
`, file).CombinedOutput()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, out)
	}
	return string(out)
}

// End to end on port 25 with a loopback DNS: mail that passes SPF, DKIM
// (signed by dkimpy, an implementation apart from postern's) and DMARC
// is delivered with the three results; mail failing DMARC under p=reject
// is refused with 550 5.7.1; under p=quarantine it lands in Junk; with
// the DNS timing out it is delivered with temperror. Each delivered
// message carries one Authentication-Results: field, ours (the forged
// one that claimed our id is gone), which Python's email package reads
// without defects.
func TestInboundAuthentication(t *testing.T) {
	if _, err := exec.Command("/usr/bin/python3", "-c", "import dkim").CombinedOutput(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("needs Debian's python3-dkim: %v", err)
		}
		t.Skipf("needs Debian's python3-dkim: %v", err)
	}
	dir := t.TempDir()
	keyFile, record := dkimKey(t, dir)
	d := dnstest.New(t, inboundZone+"$ORIGIN pass.test.\ndk._domainkey TXT "+record+"\n")
	d.Delay("timeout.test", time.Hour)
	d.Delay("_dmarc.timeout.test", time.Hour)
	s := NewSystem(t, Options{Set: []string{"dns_servers=" + d.Addr(), `mynetworks=["127.0.0.1/32"]`}})

	// pass.test: signed by dkimpy.
	cmd := exec.Command("/usr/bin/python3", "testdata/dkimsign.py", "pass.test", "dk", keyFile)
	cmd.Stdin = bytes.NewReader(inboundMessage("a@pass.test", "pass"))
	signed, err := cmd.Output()
	if err != nil {
		t.Fatalf("dkimsign: %v", err)
	}
	if err := sendFrom(t, s, "127.0.0.2", "a@pass.test", signed); err != nil {
		t.Fatalf("pass.test: %v", err)
	}
	// reject.test: refused at the end of DATA.
	err = sendFrom(t, s, "127.0.0.2", "a@reject.test", inboundMessage("a@reject.test", "reject"))
	var se *gosmtp.SMTPError
	if !errors.As(err, &se) || se.Code != 550 || se.EnhancedCode != (gosmtp.EnhancedCode{5, 7, 1}) {
		t.Errorf("reject.test: %v, want 550 5.7.1", err)
	}
	// quar.test and timeout.test: accepted.
	for _, from := range []string{"a@quar.test", "a@timeout.test"} {
		if err := sendFrom(t, s, "127.0.0.2", from, inboundMessage(from, strings.TrimSuffix(from[2:], ".test"))); err != nil {
			t.Fatalf("%s: %v", from, err)
		}
	}

	inbox := s.WaitMessages("demo@example.test", 2, 60*time.Second)
	junk := waitFiles(t, filepath.Join(s.Maildir("demo@example.test"), ".Junk", "new"), 1, 30*time.Second)
	byID := map[string]string{}
	for _, f := range append(inbox, junk...) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{"pass", "quar", "timeout", "reject"} {
			if bytes.Contains(b, []byte("Message-ID: <"+id+"@client.example>")) {
				byID[id] = f
			}
		}
	}
	if _, ok := byID["reject"]; ok {
		t.Errorf("the rejected message was delivered")
	}
	if f := byID["quar"]; !strings.Contains(f, "/.Junk/") {
		t.Errorf("quar.test's message is at %q, want the Junk folder", f)
	}
	for id, want := range map[string][]string{
		"pass":    {"AR: mail.example.test; spf=pass smtp.mailfrom=pass.test; dkim=pass header.a=rsa-sha256", "header.d=pass.test header.i=@pass.test header.s=dk; dmarc=pass (p=reject dis=none) header.from=pass.test"},
		"quar":    {"spf=fail smtp.mailfrom=quar.test; dkim=none; dmarc=fail (p=quarantine dis=quarantine) header.from=quar.test"},
		"timeout": {"spf=temperror smtp.mailfrom=timeout.test; dkim=none; dmarc=temperror"},
	} {
		f, ok := byID[id]
		if !ok {
			t.Errorf("%s: not delivered", id)
			continue
		}
		got := pythonAuthResults(t, f)
		if n := strings.Count(got, "AR: "); n != 1 {
			t.Errorf("%s: %d Authentication-Results fields, want ours alone:\n%s", id, n, got)
		}
		for _, w := range want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: Python reads\n%s\nwant %q", id, got, w)
			}
		}
		if !strings.Contains(got, "defects: 0\nmessage defects: 0") {
			t.Errorf("%s: Python finds defects:\n%s", id, got)
		}
	}
}

// waitFiles waits until dir holds at least n files and returns them.
func waitFiles(t *testing.T, dir string, n int, timeout time.Duration) []string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		names, _ := filepath.Glob(filepath.Join(dir, "*"))
		if len(names) >= n {
			return names
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s holds %d files after %s, want %d", dir, len(names), timeout, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
