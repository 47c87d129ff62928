package pop3d

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"postern.dev/postern/libmail/mailbox"
)

// Options tune a session.
type Options struct {
	// Timeout is the idle limit between commands; RFC 1939 §3 asks for at
	// least 10 minutes, the default.
	Timeout time.Duration
	// Now is the clock for deadlines; time.Now if nil.
	Now func() time.Time
}

// Result is what a session did, for the log line the caller writes.
type Result struct {
	Quit                 bool // ended by QUIT, so deletions were made
	Top, TopBytes        int64
	Retr, RetrBytes      int64
	Deleted, DeleteBytes int64
	Size                 int64 // the maildrop's size at the start
	// Errors counts failed updates at QUIT.
	Errors int
}

// String is the summary Dovecot logs at logout, which log watchers know:
// "top=0/0, retr=1/120, del=1/120, size=120".
func (r Result) String() string {
	return fmt.Sprintf("top=%d/%d, retr=%d/%d, del=%d/%d, size=%d", r.Top, r.TopBytes, r.Retr, r.RetrBytes, r.Deleted, r.DeleteBytes, r.Size)
}

// maxBadCommands ends a session that sends nothing but errors.
const maxBadCommands = 20

// Serve runs the TRANSACTION and UPDATE states (RFC 1939 §5, §6) on conn
// for the account in store; the AUTHORIZATION state was the login
// front's. The front does not answer the client's successful PASS or
// AUTH itself: Serve does, with "+OK" once it holds the account's POP3
// lock and has opened INBOX, or "-ERR [IN-USE]" if another POP3 session
// holds it (RFC 2449 §8.1.2; one session per maildrop, RFC 1939 §8).
//
// The maildrop is INBOX as it was at that moment; mail arriving later
// waits for the next session. Deleted messages are expunged only at
// QUIT, and retrieved ones marked \Seen then, as Dovecot does; a session
// that ends any other way changes nothing. Serve returns when the client
// quits or goes, ctx ends, or the idle timeout passes.
func Serve(ctx context.Context, conn io.ReadWriter, store mailbox.Store, opt Options) (Result, error) {
	if opt.Timeout <= 0 {
		opt.Timeout = 10 * time.Minute
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	s := &session{rw: conn, r: bufio.NewReaderSize(conn, 1024), w: bufio.NewWriterSize(conn, 32<<10), opt: opt}
	if nc, ok := conn.(net.Conn); ok {
		s.conn = nc
		stop := context.AfterFunc(ctx, func() { nc.SetDeadline(time.Unix(1, 0)) })
		defer stop()
	}
	release, err := store.Exclusive(ctx, "pop3")
	if err != nil {
		if errors.Is(err, mailbox.ErrInUse) {
			s.reply("-ERR [IN-USE] Mailbox is locked by another POP3 session.")
		} else {
			s.reply("-ERR [SYS/TEMP] Cannot open the mailbox.")
		}
		s.w.Flush()
		return s.res, fmt.Errorf("pop3 session: %w", err)
	}
	f, err := store.Select(ctx, mailbox.Inbox, false)
	if err != nil {
		release()
		s.reply("-ERR [SYS/TEMP] Cannot open the mailbox.")
		s.w.Flush()
		return s.res, fmt.Errorf("pop3 session: %w", err)
	}
	s.f = f
	s.msgs = append([]mailbox.Message(nil), f.Messages()...)
	s.deleted = make([]bool, len(s.msgs))
	s.retrieved = make([]bool, len(s.msgs))
	for _, m := range s.msgs {
		s.res.Size += m.Size
	}
	s.reply("+OK Logged in.")
	err = s.loop(ctx)
	// The lock goes before the last reply: a client that reconnects as
	// soon as it reads "+OK" to QUIT must not find the maildrop locked.
	f.Close()
	release()
	if ferr := s.w.Flush(); err == nil && ferr != nil {
		err = fmt.Errorf("pop3 session: %w", ferr)
	}
	return s.res, err
}

type session struct {
	rw        io.ReadWriter
	conn      net.Conn // if rw is one, for deadlines
	r         *bufio.Reader
	w         *bufio.Writer
	opt       Options
	f         mailbox.Folder
	msgs      []mailbox.Message
	deleted   []bool
	retrieved []bool
	res       Result
	bad       int
}

func (s *session) reply(line string) {
	s.w.WriteString(line)
	s.w.WriteString("\r\n")
}

// readLine reads one command line. A line longer than the buffer is read
// to its end and reported as too long.
func (s *session) readLine() (string, bool, error) {
	if s.conn != nil {
		s.conn.SetReadDeadline(s.opt.Now().Add(s.opt.Timeout))
	}
	line, err := s.r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		for errors.Is(err, bufio.ErrBufferFull) {
			_, err = s.r.ReadSlice('\n')
		}
		return "", true, err
	}
	if err != nil {
		return "", false, err
	}
	return strings.TrimRight(string(line), "\r\n"), false, nil
}

func (s *session) loop(ctx context.Context) error {
	for {
		// Replies to pipelined commands go out together (RFC 2449 §6.6).
		if s.r.Buffered() == 0 {
			if err := s.w.Flush(); err != nil {
				return fmt.Errorf("pop3 session: %w", err)
			}
		}
		line, long, err := s.readLine()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() && ctx.Err() == nil {
				s.reply("-ERR Disconnected for inactivity.")
				return nil
			}
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("pop3 session: %w", err)
		}
		var cmd Command
		if long {
			err = errArg
		} else {
			cmd, err = ParseCommand(line)
		}
		if err != nil {
			if s.fail("-ERR " + capitalize(err.Error()) + ".") {
				return nil
			}
			continue
		}
		done, err := s.handle(ctx, cmd)
		if err != nil || done {
			return err
		}
	}
}

// fail answers a bad command and reports whether the session should end.
func (s *session) fail(line string) bool {
	s.reply(line)
	s.bad++
	if s.bad >= maxBadCommands {
		s.reply("-ERR Too many bad commands.")
		return true
	}
	return false
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func (s *session) handle(ctx context.Context, cmd Command) (bool, error) {
	argc := map[string][2]int{ // least and most arguments
		"STAT": {0, 0}, "LIST": {0, 1}, "UIDL": {0, 1}, "RETR": {1, 1}, "TOP": {2, 2},
		"DELE": {1, 1}, "RSET": {0, 0}, "NOOP": {0, 0}, "QUIT": {0, 0}, "CAPA": {0, 0},
	}
	n, known := argc[cmd.Name]
	switch {
	case !known && (cmd.Name == "USER" || cmd.Name == "PASS" || cmd.Name == "APOP" || cmd.Name == "AUTH" || cmd.Name == "STLS"):
		s.fail("-ERR Already logged in.")
		return false, nil
	case !known:
		return s.fail("-ERR Unknown command."), nil
	case len(cmd.Args) < n[0] || len(cmd.Args) > n[1]:
		return s.fail("-ERR Wrong number of arguments."), nil
	}
	switch cmd.Name {
	case "STAT":
		var count, size int64
		for i, m := range s.msgs {
			if !s.deleted[i] {
				count++
				size += m.Size
			}
		}
		s.reply(fmt.Sprintf("+OK %d %d", count, size))
	case "LIST", "UIDL":
		s.list(cmd)
	case "RETR":
		return false, s.retr(ctx, cmd.Args[0], -1)
	case "TOP":
		lines, ok := number(cmd.Args[1])
		if !ok {
			return s.fail("-ERR Invalid number of lines."), nil
		}
		return false, s.retr(ctx, cmd.Args[0], lines)
	case "DELE":
		if i, ok := s.message(cmd.Args[0]); ok {
			s.deleted[i] = true
			s.reply("+OK Marked to be deleted.")
		}
	case "RSET":
		clear(s.deleted)
		s.reply(fmt.Sprintf("+OK %d messages.", len(s.msgs)))
	case "NOOP":
		s.reply("+OK")
	case "CAPA":
		s.reply("+OK Capability list follows")
		for _, c := range capabilities {
			s.reply(c)
		}
		s.reply(".")
	case "QUIT":
		s.update(ctx)
		return true, nil
	}
	return false, nil
}

// capabilities in the TRANSACTION state (RFC 2449 §6). USER, SASL and
// STLS belong to the AUTHORIZATION state, the login front's.
var capabilities = []string{"TOP", "UIDL", "RESP-CODES", "PIPELINING", "AUTH-RESP-CODE"}

// message resolves a message number, answering -ERR itself when it names
// no message or a deleted one (RFC 1939 §5).
func (s *session) message(arg string) (int, bool) {
	n, ok := number(arg)
	if !ok || n < 1 || n > len(s.msgs) {
		s.fail("-ERR There's no message " + arg + ".")
		return 0, false
	}
	if s.deleted[n-1] {
		s.fail("-ERR Message is deleted.")
		return 0, false
	}
	return n - 1, true
}

// UIDL is the message's UIDVALIDITY and UID, each as eight hex digits
// (Dovecot's pop3_uidl_format %08Xu%08Xv): the same across sessions and
// the same message IMAP shows; it changes only if the folder's index is
// rebuilt, when IMAP clients must resynchronize too.
func (s *session) uidl(m mailbox.Message) string {
	return fmt.Sprintf("%08X%08X", m.UID, s.f.UIDValidity())
}

func (s *session) list(cmd Command) {
	item := func(i int) string {
		if cmd.Name == "UIDL" {
			return strconv.Itoa(i+1) + " " + s.uidl(s.msgs[i])
		}
		return strconv.Itoa(i+1) + " " + strconv.FormatInt(s.msgs[i].Size, 10)
	}
	if len(cmd.Args) == 1 {
		if i, ok := s.message(cmd.Args[0]); ok {
			s.reply("+OK " + item(i))
		}
		return
	}
	s.reply("+OK")
	for i := range s.msgs {
		if !s.deleted[i] {
			s.reply(item(i))
		}
	}
	s.reply(".")
}

// retr sends a message (lines < 0) or its header and first lines (TOP).
func (s *session) retr(ctx context.Context, arg string, lines int) error {
	i, ok := s.message(arg)
	if !ok {
		return nil
	}
	m := s.msgs[i]
	rc, err := s.f.Open(ctx, m.UID)
	if err != nil {
		// Expunged by another program (an IMAP session) meanwhile.
		s.reply("-ERR [SYS/TEMP] The message is gone.")
		return nil
	}
	defer rc.Close()
	if lines < 0 {
		s.reply(fmt.Sprintf("+OK %d octets", m.Size))
	} else {
		s.reply("+OK")
	}
	dw := newDotWriter(s.w)
	if lines < 0 {
		_, err = io.Copy(dw, rc)
		s.res.Retr++
		s.res.RetrBytes += dw.n
		s.retrieved[i] = true
	} else {
		err = copyTop(dw, rc, lines)
		s.res.Top++
		s.res.TopBytes += dw.n
	}
	if err != nil {
		// Half a message cannot be taken back; end the session so the
		// client does not take it for a whole one.
		return fmt.Errorf("pop3 session: read message %d: %w", m.UID, err)
	}
	return dw.close()
}

// update is the UPDATE state (RFC 1939 §6): retrieved messages become
// \Seen, deleted ones are expunged.
func (s *session) update(ctx context.Context) {
	s.res.Quit = true
	var del, seen []uint32
	for i, m := range s.msgs {
		switch {
		case s.deleted[i]:
			del = append(del, m.UID)
			s.res.DeleteBytes += m.Size
		case s.retrieved[i] && !m.Has(mailbox.FlagSeen):
			seen = append(seen, m.UID)
		}
	}
	if len(seen) > 0 {
		if _, err := s.f.StoreFlags(ctx, seen, mailbox.FlagsAdd, []string{mailbox.FlagSeen}, 0); err != nil {
			s.res.Errors++
		}
	}
	if len(del) > 0 {
		_, err := s.f.StoreFlags(ctx, del, mailbox.FlagsAdd, []string{mailbox.FlagDeleted}, 0)
		if err == nil {
			var gone []mailbox.Expunged
			gone, err = s.f.Expunge(ctx, del)
			s.res.Deleted = int64(len(gone))
		}
		if err != nil {
			s.res.Errors++
			s.reply("-ERR [SYS/TEMP] Some deleted messages were not removed.")
			return
		}
	}
	s.reply("+OK Logging out.")
}
