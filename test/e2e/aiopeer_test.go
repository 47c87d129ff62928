package e2e

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// AioPeer is Debian's aiosmtpd (python3-aiosmtpd) run by
// testdata/aiopeer.py: a receiving SMTP server written apart from
// postern, for the outbound tests that must not trust a sink written here
// to parse what postern sends (a sink that misreads paths the way the
// client miswrites them passes both).
type AioPeer struct {
	t    *testing.T
	Port int
	out  string
}

// AioMsg is one message the peer accepted, as aiosmtpd parsed it.
type AioMsg struct {
	MailFrom    string     `json:"mail_from"`
	MailOptions []string   `json:"mail_options"`
	RcptTos     []string   `json:"rcpt_tos"`
	RcptOptions [][]string `json:"rcpt_options"`
	Data        []byte     `json:"-"`
	Data64      string     `json:"data"`
}

// NewAioPeer starts the peer with aiopeer.py's arguments. Without
// aiosmtpd the test is skipped, except in CI (CI=true), where .ci/run
// installs it and its absence is a failure.
func NewAioPeer(t *testing.T, args ...string) *AioPeer {
	t.Helper()
	const py = "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import aiosmtpd").Run(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("aiosmtpd for %s: %v (apt-get install python3-aiosmtpd)", py, err)
		}
		t.Skipf("aiosmtpd not installed for %s", py)
	}
	p := &AioPeer{t: t, out: filepath.Join(t.TempDir(), "peer.jsonl")}
	cmd := exec.Command(py, append([]string{filepath.Join("testdata", "aiopeer.py"), p.out}, args...)...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if stderr.Len() > 0 {
			t.Logf("aiopeer stderr:\n%s", stderr.String())
		}
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("aiopeer did not start: %v\n%s", err, stderr.String())
	}
	if p.Port, err = strconv.Atoi(strings.TrimSpace(line)); err != nil {
		t.Fatalf("aiopeer port %q", line)
	}
	return p
}

// Msgs returns the messages accepted so far.
func (p *AioPeer) Msgs() []AioMsg {
	p.t.Helper()
	b, err := os.ReadFile(p.out)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		p.t.Fatal(err)
	}
	var out []AioMsg
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var m AioMsg
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			p.t.Fatalf("aiopeer record %q: %v", l, err)
		}
		if m.Data, err = base64.StdEncoding.DecodeString(m.Data64); err != nil {
			p.t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

// Logins returns the logins so far (--auth), each "MECHANISM USER ok" or
// "... failed".
func (p *AioPeer) Logins() []string {
	p.t.Helper()
	b, err := os.ReadFile(p.out + ".auth")
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		p.t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

// Wait returns the messages once there are at least n.
func (p *AioPeer) Wait(n int, timeout time.Duration) []AioMsg {
	p.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if m := p.Msgs(); len(m) >= n {
			return m
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("aiopeer: %d messages after %v, want %d", len(p.Msgs()), timeout, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
