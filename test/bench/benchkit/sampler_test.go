package benchkit

import (
	"os"
	"testing"
	"time"
)

// TestSamplerSeesGrowth: the sampler follows this test's own process
// while it touches 64 MiB; the peak RSS it reports must have grown by
// most of that, and the baseline must be from before.
func TestSamplerSeesGrowth(t *testing.T) {
	s := StartSampler(os.Getpid(), 10*time.Millisecond)
	b := make([]byte, 64<<20)
	for i := 0; i < len(b); i += 4096 {
		b[i] = 1
	}
	time.Sleep(100 * time.Millisecond)
	stats := s.Stop()
	b[len(b)-1] = 1 // keep b alive while sampled
	var me *ProcStat
	for i := range stats {
		if stats[i].PID == os.Getpid() {
			me = &stats[i]
		}
	}
	if me == nil {
		t.Fatalf("own process not sampled: %+v", stats)
	}
	if g := MB(me.GrowthKB()); g < 50 {
		t.Errorf("growth %.1f MiB after touching 64 MiB (base %d KiB, peak %d KiB)", g, me.Base.RSS, me.Peak.RSS)
	}
	if me.Peak.PSS < me.Base.PSS || me.New {
		t.Errorf("stat %+v", me)
	}
}

// TestBodyHasher: CRLF and LF copies of one message hash alike, and the
// header does not count.
func TestBodyHasher(t *testing.T) {
	a, b, c := NewBodyHasher(), NewBodyHasher(), NewBodyHasher()
	a.Write([]byte("Subject: x\r\n\r\nline 1\r\nline 2\r\n"))
	b.Write([]byte("Received: y\nSubject: x\n\nline 1\n"))
	b.Write([]byte("line 2\n"))
	c.Write([]byte("Subject: x\n\nline 1\nline 3\n"))
	if a.Sum() != b.Sum() {
		t.Error("CRLF and LF copies differ")
	}
	if a.Sum() == c.Sum() {
		t.Error("different bodies hash alike")
	}
}
