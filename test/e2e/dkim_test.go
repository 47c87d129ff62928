package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	miekg "github.com/miekg/dns"
)

// dkimVerifyPy verifies every DKIM-Signature of the message in argv[1]
// with Debian's dkimpy (python3-dkim), its DNS answered from the JSON
// object in argv[2] (name -> TXT record), and prints one line per
// signature: its a=, True or False, and why it failed.
const dkimVerifyPy = `
import json, re, sys
import dkim
msg = open(sys.argv[1], 'rb').read()
records = json.load(open(sys.argv[2]))
def dnsfunc(name, timeout=5):
    return records.get(name.decode().rstrip('.'), '').encode() or None
n = len(re.findall(rb'(?mi)^DKIM-Signature:', msg))
for i in range(n):
    d = dkim.DKIM(msg)
    try:
        ok, why = d.verify(idx=i, dnsfunc=dnsfunc), ''
    except dkim.DKIMException as e:
        ok, why = False, ' (%s)' % str(e).split(' (')[0]
    print(d.signature_fields.get(b'a', b'?').decode() + ' ' + str(ok) + why)
`

// TestSubmissionDKIMSigned: with an RSA and an Ed25519 key made by
// "postern dkim keygen", a message submitted on 587 (STARTTLS, AUTH)
// leaves signed with both, and Debian's dkimpy verifies both signatures,
// its DNS answered with the records keygen printed (read back through a
// zone-file parser, as a DNS server would load them). The same message
// with its body changed after signing fails both.
func TestSubmissionDKIMSigned(t *testing.T) {
	const python = "/usr/bin/python3"
	if err := exec.Command(python, "-c", "import dkim, nacl").Run(); err != nil {
		t.Skipf("needs Debian's python3-dkim: %v", err)
	}
	s := NewSystem(t, Options{NoStart: true})
	records := map[string]string{}
	var entries []string
	entryRE := regexp.MustCompile(`add "(.*)" to dkim_signing_keys`)
	for _, k := range []struct{ typ, sel string }{{"rsa", "rsa2026"}, {"ed25519", "ed2026"}} {
		out := s.Postern("dkim", "keygen", "example.test", k.sel, "-t", k.typ)
		var zone string
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			if m := entryRE.FindStringSubmatch(l); m != nil {
				entries = append(entries, `"`+m[1]+`"`)
			}
			if !strings.HasPrefix(l, ";") {
				zone += l + "\n"
			}
		}
		rr, err := miekg.NewRR(zone)
		if err != nil {
			t.Fatalf("keygen printed %q: %v", out, err)
		}
		txt := rr.(*miekg.TXT)
		records[strings.TrimSuffix(txt.Hdr.Name, ".")] = strings.Join(txt.Txt, "")
	}
	if len(entries) != 2 {
		t.Fatalf("keygen named %d keys", len(entries))
	}
	s.Postern("config", "set", "dkim_signing_keys=["+strings.Join(entries, ", ")+"]")
	s.Start()

	const msg = "From: Demo User <demo@example.test>\r\nTo: demo@example.test\r\nSubject: signed twice\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" +
		"Hello,   with  some\twhite space  \r\n\r\nand a second paragraph.\r\n\r\n\r\n"
	sendGoSMTP(t, s.Addr(587), true, "demo@example.test", "demo@example.test", msg)
	files := s.WaitMessages("demo@example.test", 1, 15*time.Second)
	s.WaitLog("DKIM-Signature added (d=example.test, s=rsa2026 rsa, s=ed2026 ed25519)", 5*time.Second)

	dir := t.TempDir()
	dnsFile := filepath.Join(dir, "records.json")
	b, _ := json.Marshal(records)
	if err := os.WriteFile(dnsFile, b, 0o600); err != nil {
		t.Fatal(err)
	}
	dkimpy := func(file string) string {
		t.Helper()
		out, err := exec.Command(python, "-c", dkimVerifyPy, file, dnsFile).CombinedOutput()
		if err != nil {
			t.Fatalf("dkimpy: %v\n%s", err, out)
		}
		return string(out)
	}
	if got, want := dkimpy(files[0]), "rsa-sha256 True\ned25519-sha256 True\n"; got != want {
		delivered, _ := os.ReadFile(files[0])
		t.Fatalf("dkimpy says\n%s\nwant\n%s\nof\n%s", got, want, delivered)
	}

	delivered, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	changed := strings.Replace(string(delivered), "second paragraph", "changed paragraph", 1)
	if changed == string(delivered) {
		t.Fatal("the body was not found to change")
	}
	changedFile := filepath.Join(dir, "changed.eml")
	os.WriteFile(changedFile, []byte(changed), 0o600)
	if got, want := dkimpy(changedFile), "rsa-sha256 False (body hash mismatch)\ned25519-sha256 False (body hash mismatch)\n"; got != want {
		t.Errorf("body changed after signing: dkimpy says\n%s\nwant\n%s", got, want)
	}
}
