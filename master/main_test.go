package master

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"postern.dev/postern/libmail/daemon"
)

// The test binary stands in for the programs the master starts. The
// master clears the environment of its daemons, so the binary learns
// its part from its arguments: a service's args in the test
// configuration begin with fakeDaemonArg, and a fake master (for the
// spool lock's "already running" check, which reads argv[0]) is started
// with fakeMasterArg.
const (
	fakeDaemonArg = "postern-fake-daemon"
	fakeMasterArg = "postern-fake-master"
)

// fakeBinary is a copy of the test binary in a directory every user can
// search: under a root master the fake daemons run as mail_owner, who
// cannot reach go test's private build directory.
var fakeBinary string

func TestMain(m *testing.M) {
	if i := slices.Index(os.Args, fakeDaemonArg); i > 0 {
		os.Exit(fakeDaemon(os.Args[i+1:]))
	}
	if len(os.Args) > 1 && os.Args[1] == fakeMasterArg {
		// Say it runs (its argv[0] is in place only once the exec is
		// complete), and live until the test closes standard input.
		os.Stdout.WriteString("up\n")
		io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}
	os.Exit(func() int {
		dir, err := os.MkdirTemp("", "postern-master-test-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		if err := os.Chmod(dir, 0o755); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		if fakeBinary, err = copyExecutable(filepath.Join(dir, "fake")); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		return m.Run()
	}())
}

func copyExecutable(to string) (string, error) {
	self, err := os.Executable()
	if err != nil {
		return "", err
	}
	b, err := os.ReadFile(self)
	if err != nil {
		return "", err
	}
	return to, os.WriteFile(to, b, 0o755)
}

// report is what a fake daemon saw of the process the master made:
// written to REPORTDIR/SERVICE.PID.json before it says READY=1.
type report struct {
	PID, PGID        int
	Args, Env        []string
	UID, EUID        int
	GID, EGID        int
	Groups           []int
	CapEff, CapAmb   string // from /proc/self/status
	Sockets          []socketInfo
	StatusFD, LockFD int
	LockIno          uint64 // inode of the descriptor named by POSTERN_LOCK_FD
}

// socketInfo describes one inherited listening socket.
type socketInfo struct {
	FD        int
	Addr      string // "unix:PATH" or "tcp:IP:PORT"
	Listening bool
	Ino       uint64 // the socket's inode: the same socket keeps it
}

// fakeDaemon is the test binary's life as a daemon. args are what
// follows fakeDaemonArg: the mode and the report directory. Modes:
//
//	ready     report, say READY=1, live until the master goes away
//	silent    report, never say READY=1, live until the master goes away
//	exit      report and exit with status 3 at once, before READY=1
//	stubborn  as ready, but ignore SIGTERM
//
// The status socket's EOF ends every mode that lives, as it ends the
// real daemons: a fake never outlives the test that started it.
func fakeDaemon(args []string) int {
	if len(args) < 2 {
		fmt.Fprintln(os.Stderr, "fake daemon: want MODE REPORTDIR")
		return 2
	}
	mode, dir := args[0], args[1]
	if mode == "stubborn" {
		signal.Ignore(syscall.SIGTERM)
	}
	r := report{PID: os.Getpid(), Args: os.Args, Env: os.Environ(), UID: os.Getuid(), EUID: os.Geteuid(),
		GID: os.Getgid(), EGID: os.Getegid()}
	r.PGID, _ = unix.Getpgid(0)
	r.Groups, _ = os.Getgroups()
	if st, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, line := range strings.Split(string(st), "\n") {
			if v, ok := strings.CutPrefix(line, "CapEff:"); ok {
				r.CapEff = strings.TrimSpace(v)
			}
			if v, ok := strings.CutPrefix(line, "CapAmb:"); ok {
				r.CapAmb = strings.TrimSpace(v)
			}
		}
	}
	n, _ := strconv.Atoi(os.Getenv("LISTEN_FDS"))
	for fd := 3; fd < 3+n; fd++ {
		r.Sockets = append(r.Sockets, inspectSocket(fd))
	}
	r.StatusFD, _ = strconv.Atoi(os.Getenv(daemon.StatusFDEnv))
	r.LockFD, _ = strconv.Atoi(os.Getenv(daemon.LockFDEnv))
	var st unix.Stat_t
	if unix.Fstat(r.LockFD, &st) == nil {
		r.LockIno = st.Ino
	}
	service := "unknown"
	if i := slices.Index(os.Args, "-s"); i > 0 && i+1 < len(os.Args) {
		service = os.Args[i+1]
	}
	b, _ := json.Marshal(r)
	path := filepath.Join(dir, fmt.Sprintf("%s.%d.json", service, r.PID))
	if err := os.WriteFile(path+".tmp", b, 0o644); err != nil || os.Rename(path+".tmp", path) != nil {
		fmt.Fprintln(os.Stderr, "fake daemon: cannot write its report:", err)
		return 1
	}
	switch mode {
	case "exit":
		return 3
	case "ready", "stubborn":
		unix.Write(r.StatusFD, []byte("READY=1\n"))
	}
	buf := make([]byte, 64)
	for {
		if n, err := unix.Read(r.StatusFD, buf); n <= 0 && err != unix.EINTR {
			return 0
		}
	}
}

func inspectSocket(fd int) socketInfo {
	si := socketInfo{FD: fd}
	switch sa, err := unix.Getsockname(fd); a := sa.(type) {
	case *unix.SockaddrUnix:
		si.Addr = "unix:" + a.Name
	case *unix.SockaddrInet4:
		si.Addr = fmt.Sprintf("tcp:%d.%d.%d.%d:%d", a.Addr[0], a.Addr[1], a.Addr[2], a.Addr[3], a.Port)
	default:
		si.Addr = fmt.Sprintf("? %T %v", sa, err)
	}
	if v, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ACCEPTCONN); err == nil {
		si.Listening = v == 1
	}
	var st unix.Stat_t
	if unix.Fstat(fd, &st) == nil {
		si.Ino = st.Ino
	}
	return si
}
