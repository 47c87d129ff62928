package e2e

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// mailtool runs testdata/mailtool.py (Python's smtplib and email package)
// and decodes its JSON output into v.
func mailtool(t *testing.T, v any, args ...string) {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not installed")
	}
	cmd := exec.Command(py, append([]string{filepath.Join("testdata", "mailtool.py")}, args...)...)
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("mailtool %s: %v\n%s", strings.Join(args, " "), err, stderr)
	}
	if err := json.Unmarshal(out, v); err != nil {
		t.Fatalf("mailtool output: %v\n%s", err, out)
	}
}

type sendResult struct {
	Accepted []string   `json:"accepted"`
	Failed   [][]string `json:"failed"`
}

type parsedMessage struct {
	File        string   `json:"file"`
	Subject     string   `json:"subject"`
	MessageID   string   `json:"message_id"`
	ReturnPath  string   `json:"return_path"`
	DeliveredTo []string `json:"delivered_to"`
	Received    []string `json:"received"`
	FirstHeader string   `json:"first_header"`
	Body        string   `json:"body"`
	Defects     []string `json:"defects"`
}

// sendPython sends count messages over threads connections with smtplib.
func sendPython(t *testing.T, s *System, from, to string, count, threads int, prefix string) sendResult {
	t.Helper()
	var r sendResult
	mailtool(t, &r, "send", "127.0.0.1", itoa(s.Base+25), from, to, itoa(count), itoa(threads), prefix)
	return r
}

// readMaildir parses every delivered message with Python's email package.
func readMaildir(t *testing.T, s *System, account string) []parsedMessage {
	t.Helper()
	var msgs []parsedMessage
	mailtool(t, &msgs, "read", s.Maildir(account))
	return msgs
}

func itoa(n int) string { return strconv.Itoa(n) }
