package queue

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"postern.dev/postern/libmail/commit"
)

// Queue directory names.
const (
	Tmp           = "tmp"
	Incoming      = "incoming"
	Active        = "active"
	DeferredQueue = "deferred"
	Hold          = "hold"
	Corrupt       = "corrupt"
)

// DirSpec says how one spool directory is made. The master creates them;
// everyone else only uses them.
type DirSpec struct {
	Name  string
	Mode  os.FileMode
	Owner string // "mail_owner" or "root"
}

// Layout is the spool's directory tree. Queue directories are private to
// mail_owner; private/ holds the daemons' sockets and public/ the sockets
// that commands may use; pid/ is the master's.
var Layout = []DirSpec{
	{Tmp, 0o700, "mail_owner"},
	{Incoming, 0o700, "mail_owner"},
	{Active, 0o700, "mail_owner"},
	{DeferredQueue, 0o700, "mail_owner"},
	{Hold, 0o700, "mail_owner"},
	{Corrupt, 0o700, "mail_owner"},
	{Spare, 0o700, "mail_owner"},
	{"private", 0o700, "mail_owner"},
	{"public", 0o755, "mail_owner"},
	{"pid", 0o755, "root"},
}

// Maildrop is where sendmail leaves local submissions for pickup (see
// package maildrop). MaildropSpec is apart from Layout because its mode
// is unlike every other's: any local user may create files in it (no
// privileged helper such as Postfix's setgid postdrop is needed), only
// mail_owner may list it, and the sticky bit keeps users from removing
// or renaming each other's files.
const Maildrop = "maildrop"

// MaildropSpec says how the master makes maildrop/.
var MaildropSpec = DirSpec{Maildrop, os.ModeSticky | 0o733, "mail_owner"}

// Spool is an open spool directory.
type Spool struct {
	root string
	ids  *IDSource
	bufs sync.Pool // *[]byte of writeBufSize, reused between writers

	mu     sync.Mutex
	policy commit.Policy

	spareMu   sync.Mutex
	spares    []string  // candidate names in spare/
	spareRead time.Time // when spare/ was last listed

	// hook, when a test sets it, is called after each step of a commit
	// (the Step constants), so that a crash can be staged at every one.
	hook func(step string)
}

const writeBufSize = 64 << 10

// Open returns the spool at root; now is the clock for queue IDs. New
// entries are made durable the classic way (commit.PerFile) unless
// SetPolicy says otherwise.
func Open(root string, now func() time.Time) *Spool {
	s := &Spool{root: root, ids: NewIDSource(now), policy: &commit.PerFile{}}
	s.bufs.New = func() any { b := make([]byte, 0, writeBufSize); return &b }
	return s
}

// OpenSync is Open with new entries made durable as the sync_method
// parameter says (commit.ForMethod).
func OpenSync(root string, now func() time.Time, method string) (*Spool, error) {
	p, err := commit.ForMethod(method)
	if err != nil {
		return nil, err
	}
	s := Open(root, now)
	s.policy = p
	return s, nil
}

// step reports a commit step to the test hook, if there is one.
func (s *Spool) step(name string) {
	if s.hook != nil {
		s.hook(name)
	}
}

// Root returns the spool directory.
func (s *Spool) Root() string { return s.root }

// Path returns the path of entry id in queue q.
func (s *Spool) Path(q string, id ID) string { return filepath.Join(s.root, q, string(id)) }

// NewID returns a fresh queue ID.
func (s *Spool) NewID() ID { return s.ids.New() }

// Move renames entry id from one queue to another. It does not fsync: a
// move lost in a crash leaves the entry in its old queue, from which it
// is picked up again, which costs at most a duplicate delivery.
func (s *Spool) Move(id ID, from, to string) error {
	if err := os.Rename(s.Path(from, id), s.Path(to, id)); err != nil {
		return fmt.Errorf("move %s from %s to %s: %w", id, from, to, err)
	}
	return nil
}

// SetPolicy changes how new entries are made durable.
func (s *Spool) SetPolicy(p commit.Policy) {
	s.mu.Lock()
	s.policy = p
	s.mu.Unlock()
}

func (s *Spool) syncPolicy() commit.Policy {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.policy
}

// Close releases what the spool's sync policy keeps open.
func (s *Spool) Close() error {
	if c, ok := s.syncPolicy().(interface{ Close() error }); ok {
		return c.Close()
	}
	return nil
}
