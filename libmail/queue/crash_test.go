package queue

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The crash test's child process learns what to do from these.
const (
	crashSpoolEnv = "POSTERN_TEST_CRASH_SPOOL"
	crashStepEnv  = "POSTERN_TEST_CRASH_STEP"
	crashBigEnv   = "POSTERN_TEST_CRASH_BIG"
)

var crashSteps = []string{StepBegin, StepWrite, StepLengths, StepTruncate, StepSync, StepClose, StepRename, StepDirSync}

const crashPrepend = "Authentication-Results: mail.example.test; spf=pass\r\n"

// crashMessage is the message the child writes: small enough for the
// write buffer, or large enough that the lengths are patched with pwrite
// into a recycled file that held a longer entry.
func crashMessage(big bool) string {
	if big {
		return "Subject: big\r\n\r\n" + strings.Repeat("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd\r\n", 2000)
	}
	return "Subject: small\r\n\r\nbody\r\n"
}

// TestCommitCrash kills a writer process with SIGKILL after each step of
// Commit (the Step constants, reported through the spool's test hook)
// and then looks at the spool as qmgr would after a restart: either the
// whole entry, prepended header included, is in incoming/ (the crash
// came after the rename), or nothing is (before it), in which case no
// 250 was given; never a partial entry or one without its prepended
// header. tmp/ leftovers are removed by the daily trim, as qmgr does.
func TestCommitCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a child process per step")
	}
	for _, big := range []bool{false, true} {
		for _, step := range crashSteps {
			name := step
			if big {
				name += ", large in a recycled file"
			}
			t.Run(name, func(t *testing.T) {
				dir := testSpool(t).Root()
				cmd := exec.Command(os.Args[0], "-test.run=^TestCommitCrashChild$", "-test.count=1")
				cmd.Env = append(os.Environ(), crashSpoolEnv+"="+dir, crashStepEnv+"="+step)
				if big {
					cmd.Env = append(cmd.Env, crashBigEnv+"=1")
				}
				out, err := cmd.CombinedOutput()
				var ee *exec.ExitError
				if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
					t.Fatalf("the child was not killed at %s: %v\n%s", step, err, out)
				}
				s := Open(dir, time.Now)
				defer s.Close()
				ids, err := s.List(Incoming)
				if err != nil {
					t.Fatal(err)
				}
				afterRename := step == StepRename || step == StepDirSync
				switch {
				case !afterRename && len(ids) != 0:
					t.Fatalf("killed at %s, before the rename, yet incoming/ holds %v", step, ids)
				case afterRename && len(ids) != 1:
					t.Fatalf("killed at %s, after the rename, yet incoming/ holds %v", step, ids)
				}
				for _, id := range ids {
					f, err := os.Open(s.Path(Incoming, id))
					if err != nil {
						t.Fatal(err)
					}
					e, err := Read(f, id)
					if err != nil {
						f.Close()
						t.Fatalf("killed at %s: the entry in incoming/ does not read: %v", step, err)
					}
					got, err := io.ReadAll(e.Message(f))
					f.Close()
					if want := crashPrepend + crashMessage(big); err != nil || string(got) != want {
						t.Fatalf("killed at %s: incoming/ holds a message of %d bytes (%v), want the %d written", step, len(got), err, len(want))
					}
				}
				// A restarted qmgr's trim, a day on, clears tmp/ and leaves
				// incoming/ alone.
				s.TrimSpare(time.Now().Add(25 * time.Hour))
				if left, _ := os.ReadDir(filepath.Join(dir, Tmp)); len(left) != 0 {
					t.Errorf("tmp/ still holds %d files after the trim", len(left))
				}
				if again, _ := s.List(Incoming); len(again) != len(ids) {
					t.Errorf("the trim changed incoming/: %v, was %v", again, ids)
				}
			})
		}
	}
}

// TestCommitCrashChild is the process TestCommitCrash kills: it writes
// one entry with a prepended header and kills itself at the step it is
// told. Run directly, it does nothing.
func TestCommitCrashChild(t *testing.T) {
	dir, step := os.Getenv(crashSpoolEnv), os.Getenv(crashStepEnv)
	if dir == "" {
		t.Skip("the child of TestCommitCrash")
	}
	big := os.Getenv(crashBigEnv) != ""
	s := Open(dir, time.Now)
	if big {
		// A finished entry, longer than the new one, recycled: the new
		// entry claims its file, so the truncate step matters.
		old := s.NewID()
		w, err := s.Create(old, testEnvelope())
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, strings.Repeat("old message line\r\n", 20000))
		if err := w.Commit(); err != nil {
			t.Fatal(err)
		}
		if err := s.Recycle(Incoming, old); err != nil {
			t.Fatal(err)
		}
	}
	s.hook = func(at string) {
		if at == step {
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {} // the signal is on its way
		}
	}
	w, err := s.Create(s.NewID(), testEnvelope())
	if err != nil {
		t.Fatal(err)
	}
	if big && !w.reused {
		t.Fatal("the recycled file was not claimed")
	}
	io.WriteString(w, crashMessage(big))
	if err := w.Prepend([]byte(crashPrepend)); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	t.Fatalf("step %q never came", step)
}
