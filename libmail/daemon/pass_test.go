package daemon

import (
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
)

// TestSendFile passes a file's descriptor over a Unix socket and reads
// the file through the descriptor that arrived.
func TestSendFile(t *testing.T) {
	a, b, err := SocketPair()
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	defer b.Close()
	ca, err := net.FileConn(a)
	if err != nil {
		t.Fatal(err)
	}
	cb, err := net.FileConn(b)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "f")
	os.WriteFile(path, []byte("passed"), 0o600)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := SendFile(ca.(*net.UnixConn), f); err != nil {
		t.Fatal(err)
	}
	f.Close()
	got, err := ReceiveFile(cb.(*net.UnixConn), "got")
	if err != nil {
		t.Fatal(err)
	}
	defer got.Close()
	if b, _ := io.ReadAll(got); string(b) != "passed" {
		t.Errorf("read %q through the passed descriptor", b)
	}
	// A byte without a descriptor is refused.
	ca.Write([]byte{0})
	if f, err := ReceiveFile(cb.(*net.UnixConn), "none"); err == nil {
		f.Close()
		t.Error("received a descriptor that was not sent")
	}
}

func TestCommandAsUserRefusesRoot(t *testing.T) {
	if _, err := CommandAsUser(&User{Name: "root"}, "/bin/true"); err == nil {
		t.Error("a session as root was allowed")
	}
}
