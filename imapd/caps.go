package imapd

import (
	"strconv"
	"strings"
)

// capabilities after login. IMAP4rev2 is announced beside IMAP4rev1:
// a client enables rev2 with ENABLE (RFC 9051 §6.3.1).
func (s *session) capabilities() []string {
	caps := []string{
		"IMAP4rev1", "IMAP4rev2", "LITERAL+", "ID", "ENABLE", "IDLE", "NAMESPACE",
		"UNSELECT", "UIDPLUS", "MOVE", "CHILDREN", "LIST-EXTENDED", "LIST-STATUS",
		"SPECIAL-USE", "ESEARCH", "ESORT", "SEARCHRES", "CONDSTORE", "QRESYNC",
		"QUOTA", "QUOTA=RES-STORAGE", "SORT", "SORT=DISPLAY", "THREAD=REFERENCES",
		"THREAD=ORDEREDSUBJECT", "UTF8=ACCEPT", "BINARY", "STATUS=SIZE",
		"APPENDLIMIT=" + strconv.FormatInt(s.cfg.Limits.Append, 10),
	}
	if !s.compressed && s.cfg.Compress {
		caps = append(caps, "COMPRESS=DEFLATE")
	}
	return caps
}

// enable turns on what ENABLE names and returns what it newly enabled
// (RFC 5161 §3.1); unknown names are ignored.
func (s *session) enable(names []string) []string {
	var done []string
	for _, n := range names {
		switch strings.ToUpper(n) {
		case "CONDSTORE":
			if !s.condstore {
				s.condstore = true
				done = append(done, "CONDSTORE")
			}
		case "QRESYNC":
			if !s.qresync {
				// QRESYNC implies CONDSTORE (RFC 7162 §3.2.3).
				s.qresync, s.condstore = true, true
				done = append(done, "QRESYNC")
			}
		case "UTF8=ACCEPT":
			if !s.utf8 {
				s.utf8 = true
				s.w.UTF8 = true
				done = append(done, "UTF8=ACCEPT")
			}
		case "IMAP4REV2":
			if !s.rev2 {
				s.rev2 = true
				s.w.UTF8 = true
				done = append(done, "IMAP4rev2")
			}
		}
	}
	return done
}
