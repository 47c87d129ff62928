package local

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"postern.dev/postern/libmail/mailbox"
)

func TestExitStatus(t *testing.T) {
	tests := []struct {
		code int
		temp bool
		dsn  string
	}{
		{75, true, "4.3.0"},  // EX_TEMPFAIL
		{71, true, "4.3.0"},  // EX_OSERR
		{67, false, "5.1.1"}, // EX_NOUSER
		{68, false, "5.1.2"}, // EX_NOHOST
		{77, false, "5.7.1"}, // EX_NOPERM
		{1, false, "5.3.0"},
		{2, false, "5.3.0"},
		{64, false, "5.3.0"}, // EX_USAGE
		{66, false, "5.3.0"}, // EX_NOINPUT
		{126, false, "5.3.0"},
		{127, false, "5.3.0"},
		{255, false, "5.3.0"},
	}
	for _, tt := range tests {
		err := exitStatus("/bin/prog -x", tt.code, "some output")
		var de *deliveryError
		if !errors.As(err, &de) {
			t.Fatalf("exitStatus(%d) = %v", tt.code, err)
		}
		if de.temp != tt.temp || de.dsn != tt.dsn {
			t.Errorf("exitStatus(%d) = temp=%v %s, want temp=%v %s", tt.code, de.temp, de.dsn, tt.temp, tt.dsn)
		}
		want := `command "/bin/prog -x" exited with status ` + strconv.Itoa(tt.code) + " some output"
		if de.text != want {
			t.Errorf("exitStatus(%d) text %q, want %q", tt.code, de.text, want)
		}
	}
	if err := exitStatus("p", 1, ""); !strings.HasSuffix(err.Error(), "status 1") {
		t.Errorf("text without output: %q", err)
	}
}

// TestExitStatusSysexits compares the mapping with sendmail's and
// Postfix's (global/sys_exits.c): only EX_OSERR and EX_TEMPFAIL are
// temporary there. Treating EX_UNAVAILABLE, EX_SOFTWARE, EX_OSFILE and
// EX_IOERR as temporary keeps a message that a program permanently
// refused in the queue for maximal_queue_lifetime before it bounces.
func TestExitStatusSysexits(t *testing.T) {
	tests := []struct {
		code int
		temp bool
		dsn  string
	}{
		{65, false, "5.6.0"}, // EX_DATAERR
		{69, false, "5.3.0"}, // EX_UNAVAILABLE
		{70, false, "5.3.0"}, // EX_SOFTWARE
		{72, false, "5.3.0"}, // EX_OSFILE
		{73, false, "5.2.0"}, // EX_CANTCREAT
		{74, false, "5.3.0"}, // EX_IOERR
		{76, false, "5.5.0"}, // EX_PROTOCOL
		{78, false, "5.3.5"}, // EX_CONFIG
	}
	for _, tt := range tests {
		var de *deliveryError
		if err := exitStatus("p", tt.code, ""); !errors.As(err, &de) || de.temp != tt.temp || de.dsn != tt.dsn {
			t.Errorf("exitStatus(%d) = %+v, want temp=%v %s", tt.code, de, tt.temp, tt.dsn)
		}
	}
}

func TestMailboxError(t *testing.T) {
	tests := []struct {
		err  error
		temp bool
		dsn  string
	}{
		{fmt.Errorf("write: %w", syscall.EDQUOT), true, "4.2.2"},
		{fmt.Errorf("deliver: %w", mailbox.ErrOverQuota), true, "4.2.2"},
		{fmt.Errorf("write: %w", syscall.ENOSPC), true, "4.3.0"},
		{errors.New("permission denied"), true, "4.2.0"},
	}
	for _, tt := range tests {
		var de *deliveryError
		if err := mailboxError("/m", tt.err); !errors.As(err, &de) || de.temp != tt.temp || de.dsn != tt.dsn {
			t.Errorf("mailboxError(%v) = %+v, want temp=%v %s", tt.err, de, tt.temp, tt.dsn)
		}
	}
}

func TestLimited(t *testing.T) {
	var b bytes.Buffer
	l := &limited{b: &b, n: 5}
	for _, s := range []string{"abc", "defg", "hij"} {
		if n, err := l.Write([]byte(s)); n != len(s) || err != nil {
			t.Errorf("Write(%q) = %d, %v", s, n, err)
		}
	}
	if b.String() != "abcde" {
		t.Errorf("kept %q, want abcde", b.String())
	}
}

func TestFromQuoter(t *testing.T) {
	tests := []struct {
		in  []string // successive writes
		out string
	}{
		{[]string{"From me\nFrom you\n"}, ">From me\n>From you\n"},
		{[]string{"a From b\n"}, "a From b\n"},
		{[]string{"x\n", "From y\n"}, "x\n>From y\n"},
		{[]string{"From: header\n"}, "From: header\n"},
		{[]string{">From z\n"}, ">From z\n"},
	}
	for _, tt := range tests {
		var b bytes.Buffer
		q := &fromQuoter{w: &b, bol: true}
		for _, s := range tt.in {
			if n, err := q.Write([]byte(s)); n != len(s) || err != nil {
				t.Errorf("Write(%q) = %d, %v", s, n, err)
			}
		}
		if b.String() != tt.out {
			t.Errorf("%q -> %q, want %q", tt.in, b.String(), tt.out)
		}
	}
}

// TestFromQuoterSplitWrite: the quoter sees the message in the chunks the
// LFWriter flushes, so a "From " at the start of a line may arrive split
// across two writes; it must still be quoted, or an mbox reader sees a new
// message there.
func TestFromQuoterSplitWrite(t *testing.T) {
	for _, in := range [][]string{{"Fr", "om y\n"}, {"x\nFrom", " y\n"}, {"x\n", "F", "rom y\n"}} {
		var b bytes.Buffer
		q := &fromQuoter{w: &b, bol: true}
		for _, s := range in {
			q.Write([]byte(s))
		}
		if !strings.Contains(b.String(), ">From y\n") {
			t.Errorf("%q -> %q, want the From line quoted", in, b.String())
		}
	}
}
