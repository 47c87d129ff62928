package daemon

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"runtime"
	"slices"
	"strconv"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// User is a system account resolved for running something as it.
type User struct {
	Name     string
	UID, GID int
	Groups   []uint32
	Home     string
}

// LookupUser resolves a user name from the system's user database.
func LookupUser(name string) (*User, error) {
	u, err := user.Lookup(name)
	if err != nil {
		return nil, fmt.Errorf("user %q: %w", name, err)
	}
	return fromOS(u)
}

// LookupUID resolves a numeric user ID.
func LookupUID(uid int) (*User, error) {
	u, err := user.LookupId(strconv.Itoa(uid))
	if err != nil {
		return nil, fmt.Errorf("uid %d: %w", uid, err)
	}
	return fromOS(u)
}

// Current returns the user the process runs as.
func Current() (*User, error) { return LookupUID(os.Getuid()) }

func fromOS(u *user.User) (*User, error) {
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(u.Gid)
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("user %q has a non-numeric uid or gid", u.Username)
	}
	out := &User{Name: u.Username, UID: uid, GID: gid, Home: u.HomeDir}
	gids, err := u.GroupIds()
	if err == nil {
		for _, g := range gids {
			if n, err := strconv.Atoi(g); err == nil {
				out.Groups = append(out.Groups, uint32(n))
			}
		}
	}
	return out, nil
}

// Credential returns the credential to start a process as u.
func (u *User) Credential() *syscall.Credential {
	return &syscall.Credential{Uid: uint32(u.UID), Gid: uint32(u.GID), Groups: u.Groups}
}

// capabilities maps the names a service may keep to their numbers.
var capabilities = map[string]uintptr{"setuid": unix.CAP_SETUID, "setgid": unix.CAP_SETGID}

// AmbientCaps converts capability names for SysProcAttr.AmbientCaps: the
// master uses them to start local as mail_owner yet able to start
// per-delivery children as other users.
func AmbientCaps(names []string) ([]uintptr, error) {
	var out []uintptr
	for _, n := range names {
		c, ok := capabilities[n]
		if !ok {
			return nil, fmt.Errorf("unknown capability %q", n)
		}
		out = append(out, c)
	}
	return out, nil
}

// dropAmbientCapabilities clears the ambient set, keeping what the process
// holds itself: the master passes capabilities as ambient ones because
// that is the only way they survive exec into a non-root user, but a
// daemon's own children must start without them.
//
// Capabilities belong to threads, not processes, and by the time this
// runs the Go runtime has started several threads, each with the ambient
// set it inherited; a child is forked from whichever thread starts it. So
// the set is cleared on every thread (AllThreadsSyscall), not just the
// calling one.
func dropAmbientCapabilities() error {
	_, _, errno := syscall.AllThreadsSyscall(syscall.SYS_PRCTL, unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0)
	switch {
	case errno == 0, errno == unix.EINVAL: // EINVAL: a kernel without ambient capabilities
		return nil
	case errno == unix.ENOTSUP && !hasAmbientCapabilities():
		// A cgo build cannot act on all threads, which only matters if
		// there is something to clear.
		return nil
	case errno == unix.ENOTSUP:
		return errors.New("clear ambient capabilities: not possible on every thread in a cgo build; build with CGO_ENABLED=0")
	}
	return fmt.Errorf("clear ambient capabilities: %w", errno)
}

// dropInheritableCapabilities empties the inheritable set, keeping the
// permitted and effective ones. To raise ambient capabilities the master
// (Go's os/exec) must first put them in the inheritable set, and they stay
// there after the ambient set is cleared. The inheritable set survives
// execve, also into a process that changed its user: every |command and
// per-delivery child would start with CAP_SETUID and CAP_SETGID there, and
// a program with those bits in its file inheritable set would get them as
// real capabilities (capabilities(7), "Transformation of capabilities
// during execve()"). A daemon never needs them itself.
//
// Like the ambient set, the inheritable set belongs to each thread, so it
// is cleared on every thread. capset(2) with pid 0 in the header applies
// to the calling thread; the permitted and effective sets it writes are the
// ones every thread shares at this point (no thread has switched identity
// yet).
func dropInheritableCapabilities() error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return fmt.Errorf("read capabilities: %w", err)
	}
	if data[0].Inheritable == 0 && data[1].Inheritable == 0 {
		return nil
	}
	data[0].Inheritable, data[1].Inheritable = 0, 0
	hdr.Pid = 0
	_, _, errno := syscall.AllThreadsSyscall(syscall.SYS_CAPSET, uintptr(unsafe.Pointer(&hdr)), uintptr(unsafe.Pointer(&data[0])), 0)
	switch errno {
	case 0:
		return nil
	case unix.ENOTSUP:
		return errors.New("clear inheritable capabilities: not possible on every thread in a cgo build; build with CGO_ENABLED=0")
	}
	return fmt.Errorf("clear inheritable capabilities: %w", errno)
}

// hasAmbientCapabilities reports whether the calling thread has any of
// the capabilities a service may keep in its ambient set.
func hasAmbientCapabilities() bool {
	for _, c := range capabilities {
		if set, err := unix.PrctlRetInt(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_IS_SET, c, 0, 0); err == nil && set == 1 {
			return true
		}
	}
	return false
}

// CanSwitchUsers reports whether the process may act as other users: it
// is root, or it holds CAP_SETUID and CAP_SETGID.
func CanSwitchUsers() bool {
	if os.Geteuid() == 0 {
		return true
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return false
	}
	eff := uint64(data[0].Effective) | uint64(data[1].Effective)<<32
	return eff&(1<<unix.CAP_SETUID) != 0 && eff&(1<<unix.CAP_SETGID) != 0
}

// AsUser runs fn with the calling thread's file-system identity switched
// to uid:gid, so the files fn creates belong to that user and its access
// checks are that user's. The thread's supplementary groups become gid
// alone, as Postfix's set_eugid does: otherwise the checks would still
// let in the groups of the process (mail_owner's, which may read the
// accounts file and TLS keys), not the user's. Go cannot switch a whole
// process's user safely, but fsuid, fsgid and the group list are per
// thread: the goroutine is locked to its thread for the duration, and
// the Go runtime never clones a locked thread into a new one. If the
// identity cannot be restored, the thread stays locked and dies with the
// goroutine instead of returning to the pool with the wrong identity.
func AsUser(uid, gid int, fn func() error) error {
	if uid == os.Geteuid() && gid == os.Getegid() {
		return fn()
	}
	runtime.LockOSThread()
	ownUID, ownGID := os.Geteuid(), os.Getegid()
	ownGroups, err := unix.Getgroups()
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("act as uid %d gid %d: %w", uid, gid, err)
	}
	// x/sys/unix's Setgroups is the raw system call, which changes only
	// the calling thread (unlike syscall.Setgroups, which changes all of
	// them); TestAsUserGroupsPerThread holds it to that. The groups go
	// first, while the thread still has its own identity.
	gerr := unix.Setgroups([]int{gid})
	unix.Setfsgid(gid)
	unix.Setfsuid(uid)
	// setfsuid(2) reports failure only by leaving the value unchanged.
	curUID, _ := unix.SetfsuidRetUid(-1)
	curGID, _ := unix.SetfsgidRetGid(-1)
	if gerr != nil || curUID != uid || curGID != gid {
		if restoreFS(ownUID, ownGID, ownGroups) {
			runtime.UnlockOSThread()
		}
		return fmt.Errorf("act as uid %d gid %d: not permitted (need root or CAP_SETUID/CAP_SETGID)", uid, gid)
	}
	err = fn()
	if restoreFS(ownUID, ownGID, ownGroups) {
		runtime.UnlockOSThread()
	}
	return err
}

// restoreFS gives the calling thread its own identity back and reports
// whether that worked.
func restoreFS(uid, gid int, groups []int) bool {
	unix.Setfsuid(uid)
	unix.Setfsgid(gid)
	gerr := unix.Setgroups(groups)
	u, _ := unix.SetfsuidRetUid(-1)
	g, _ := unix.SetfsgidRetGid(-1)
	now, err := unix.Getgroups()
	return gerr == nil && err == nil && u == uid && g == gid && slices.Equal(now, groups)
}
