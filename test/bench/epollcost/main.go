// Command epollcost is the experiment behind postscreen's choice of Go's
// netpoller over raw epoll (docs/architecture.md, "postscreen"): it
// starts itself as a bare server that holds idle connections the way
// postscreen does (a 220- line, then a peek with a deadline in a
// goroutine), and then as one that holds them in a raw epoll set with a
// small struct each and no goroutine, opens N idle connections to each
// from 127.0.2.x, and prints the server's PSS per connection.
//
//	go run ./test/bench/epollcost -n 10000
package main

import (
	"bufio"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

func main() {
	n := flag.Int("n", 10000, "idle connections")
	port := flag.Int("port", 39025, "loopback port of the bare server")
	flag.Parse()
	if flag.NArg() == 2 && flag.Arg(0) == "serve" {
		serve(flag.Arg(1), *port)
		return
	}
	lim := uint64(*n + 1000)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: lim, Max: lim}); err != nil {
		fmt.Fprintln(os.Stderr, "epollcost: RLIMIT_NOFILE:", err)
	}
	for _, mode := range []string{"netpoller", "epoll"} {
		if err := measure(mode, *n, *port); err != nil {
			fmt.Fprintln(os.Stderr, "epollcost:", err)
			os.Exit(1)
		}
	}
}

// measure starts this program as a server of the mode and holds n idle
// connections to it.
func measure(mode string, n, port int) error {
	srv := exec.Command(os.Args[0], "-port", strconv.Itoa(port), "serve", mode)
	out, err := srv.StdoutPipe()
	if err != nil {
		return err
	}
	if err := srv.Start(); err != nil {
		return err
	}
	defer func() { srv.Process.Kill(); srv.Wait() }()
	if _, err := bufio.NewReader(out).ReadString('\n'); err != nil {
		return fmt.Errorf("%s server: %w", mode, err)
	}
	time.Sleep(200 * time.Millisecond)
	before := pss(srv.Process.Pid)
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	buf := make([]byte, 16)
	for i := range n {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 2, byte(1+i/4000))}}
		c, err := d.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			return err
		}
		conns = append(conns, c)
		if k, err := c.Read(buf); err != nil || !strings.HasPrefix(string(buf[:k]), "220") {
			return fmt.Errorf("connection %d: no greeting (%v)", i, err)
		}
	}
	time.Sleep(time.Second)
	after := pss(srv.Process.Pid)
	fmt.Printf("epollcost: %s: pss %d KiB idle, %d KiB with %d connections, %.2f KiB each\n",
		mode, before, after, n, float64(after-before)/float64(n))
	return nil
}

// serve holds every client it accepts until the process ends.
func serve(mode string, port int) {
	switch mode {
	case "netpoller":
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			panic(err)
		}
		fmt.Println("ready")
		for {
			c, err := l.Accept()
			if err != nil {
				continue
			}
			tc := c.(*net.TCPConn)
			tc.Write([]byte("220-x\r\n"))
			tc.SetReadDeadline(time.Now().Add(time.Hour))
			go hold(tc)
		}
	case "epoll":
		lfd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			panic(err)
		}
		unix.SetsockoptInt(lfd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
		if err := unix.Bind(lfd, &unix.SockaddrInet4{Port: port, Addr: [4]byte{127, 0, 0, 1}}); err != nil {
			panic(err)
		}
		unix.Listen(lfd, 4096)
		ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
		if err != nil {
			panic(err)
		}
		type state struct{ start time.Time }
		held := map[int32]*state{}
		go func() {
			evs := make([]unix.EpollEvent, 128)
			for {
				unix.EpollWait(ep, evs, -1)
			}
		}()
		fmt.Println("ready")
		for {
			fd, _, err := unix.Accept4(lfd, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
			if err != nil {
				continue
			}
			unix.Write(fd, []byte("220-x\r\n"))
			unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, fd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(fd)})
			held[int32(fd)] = &state{start: time.Now()}
		}
	}
}

// hold is postscreen's wait: a peek on the netpoller until the deadline.
func hold(tc *net.TCPConn) {
	var buf [64]byte
	rc, err := tc.SyscallConn()
	if err == nil {
		rc.Read(func(fd uintptr) bool {
			_, _, err := unix.Recvfrom(int(fd), buf[:], unix.MSG_PEEK)
			return err != unix.EAGAIN
		})
	}
	tc.Close()
}

func pss(pid int) int64 {
	b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/smaps_rollup")
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "Pss:"); ok {
			kb, _ := strconv.ParseInt(strings.Fields(v)[0], 10, 64)
			return kb
		}
	}
	return 0
}
