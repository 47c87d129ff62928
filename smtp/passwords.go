package smtp

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"

	"postern.dev/postern/libmail/maillog"
	"postern.dev/postern/libmail/sasl"
)

// passwordFile is smtp_sasl_password_maps as the agent uses it. It is
// read at start and, when a delivery asks, again if the file changed on
// disk (one stat per request; the file is small and rarely edited), so
// that a new password takes effect without a reload, as the aliases
// file's changes do.
//
// A version that cannot be read or has errors is not used: a table
// missing the entry a bad line meant to give would send the mail
// without authentication, and a relay refuses that for good (554 5.7.1,
// relay access denied), returning mail that only had to wait. The last
// good version stays in use meanwhile; without one, deliveries that
// consult the file are deferred. Each problem is logged once per
// version of the file, as is a file every local user may read.
type passwordFile struct {
	path string
	log  *maillog.Logger

	mu    sync.Mutex
	stamp fileStamp       // the version last looked at
	tab   *sasl.Passwords // the last good version; nil: none yet
	err   error           // why the version last looked at is not used; nil: tab is it
}

// fileStamp tells versions of a file apart: a rename puts another inode
// in place, an edit changes the time or size, chmod the mode.
type fileStamp struct {
	mtime time.Time
	size  int64
	ino   uint64
	mode  os.FileMode
}

func stampOf(st os.FileInfo) fileStamp {
	s := fileStamp{mtime: st.ModTime(), size: st.Size(), mode: st.Mode()}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		s.ino = sys.Ino
	}
	return s
}

func newPasswordFile(path string, log *maillog.Logger) *passwordFile {
	p := &passwordFile{path: path, log: log}
	p.get() // the problems show in the log at start, not at the first delivery
	return p
}

// get returns the table to look credentials up in, or why there is none.
func (p *passwordFile) get() (*sasl.Passwords, error) {
	st, err := os.Stat(p.path)
	p.mu.Lock()
	defer p.mu.Unlock()
	changed := false
	switch {
	case err != nil:
		if changed = p.err == nil || p.err.Error() != err.Error(); changed {
			p.log.Warn("smtp_sasl_password_maps: %v", err)
		}
		p.stamp, p.err = fileStamp{}, err
	case stampOf(st) != p.stamp:
		changed = true
		p.stamp = stampOf(st)
		p.err = p.load(st)
	}
	if p.tab == nil {
		return nil, p.err
	}
	if p.err != nil && changed {
		p.log.Warn("smtp_sasl_password_maps: the version of %s read before stays in use", p.path)
	}
	return p.tab, nil
}

// load reads the file (p.mu held) and takes it if it has no errors.
func (p *passwordFile) load(st os.FileInfo) error {
	if st.Mode().Perm()&0o004 != 0 {
		p.log.Warn("smtp_sasl_password_maps %s is readable by every user (mode %o): make it 0600, owned by mail_owner",
			p.path, st.Mode().Perm())
	}
	tab, errs := sasl.LoadPasswords(p.path)
	for _, e := range errs {
		p.log.Warn("smtp_sasl_password_maps: %v", e)
	}
	switch {
	case tab == nil:
		return fmt.Errorf("cannot read %s: %w", p.path, errors.Join(errs...))
	case len(errs) > 0:
		return fmt.Errorf("%d bad line(s), the first at %w", len(errs), errs[0])
	}
	p.tab = tab
	return nil
}
