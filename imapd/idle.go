package imapd

import (
	"errors"
	"os"
	"strings"
	"time"

	"postern.dev/postern/imapd/imap"
)

// cmdIdle is IDLE (RFC 2177): the session waits for DONE and meanwhile
// reports changes as the folder's Watch wakes it (inotify in the
// Maildir store, not polling).
func (s *session) cmdIdle(c *imap.Command) error {
	if err := s.update(true); err != nil {
		return err
	}
	s.w.Continue("idling")
	if err := s.flush(); err != nil {
		return err
	}
	type line struct {
		text string
		err  error
	}
	lines := make(chan line, 1)
	if s.nc != nil {
		s.nc.SetReadDeadline(time.Now().Add(s.cfg.Timeout))
	}
	go func() {
		l, err := s.r.ReadLine()
		lines <- line{l, err}
	}()
	var watch <-chan struct{}
	if s.sel != nil {
		watch = s.sel.Watch()
	}
	for {
		select {
		case l := <-lines:
			if l.err != nil {
				if errors.Is(l.err, os.ErrDeadlineExceeded) && s.ctx.Err() == nil {
					s.w.Status("", "BYE", "", "Disconnected for inactivity.")
					return errLogout
				}
				return l.err
			}
			if !strings.EqualFold(strings.TrimSpace(l.text), "DONE") {
				return s.reply(c.Tag, "BAD", "", "Expected DONE.")
			}
			return s.done(c, "", "Idle completed.")
		case <-watch:
			if err := s.update(true); err != nil {
				return err
			}
			if err := s.flush(); err != nil {
				return err
			}
		}
	}
}
