package imapd

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"postern.dev/postern/imapd/imap"
	"postern.dev/postern/libmail/mailbox"
)

// Config tunes a session.
type Config struct {
	// Timeout is the idle limit between commands and in IDLE; RFC 9051
	// §5.4 asks for at least 30 minutes, the default.
	Timeout time.Duration
	// Limits bound what a command may make the session hold.
	Limits imap.Limits
	// Now is the clock; time.Now if nil.
	Now func() time.Time
	// Compress announces COMPRESS=DEFLATE (RFC 4978); imapd turns it
	// on. The client's side is decoded by imap's own inflater, which
	// hands over each command whatever flush the client's zlib used
	// (isync's Z_PARTIAL_FLUSH stalled compress/flate). The command
	// works either way.
	Compress bool
	// SpoolDir is where APPEND messages of 64 KiB and more are written
	// as they arrive (unlinked files), instead of being held in memory;
	// the session process sets the Maildir's tmp/. "" keeps them all in
	// memory, up to Limits.Append.
	SpoolDir string
	// Logf logs a line; nil for none.
	Logf func(format string, args ...any)
	// noPrefilter sends every message through the Matcher (tests).
	noPrefilter bool
}

// session is one client's authenticated and selected states.
type session struct {
	ctx   context.Context
	cfg   Config
	store mailbox.Store
	conn  io.ReadWriter
	nc    net.Conn // conn when it is one, for deadlines
	bw    *bufio.Writer
	r     *imap.Reader
	w     *imap.Writer
	envr  imap.EnvelopeRenderer // for the cache of rendered ENVELOPEs

	sel                      mailbox.Folder // nil when not selected
	condstore, qresync, utf8 bool
	rev2, compressed         bool
	saved                    []uint32 // SEARCH RETURN (SAVE) result, as UIDs
	stats                    Stats
}

// Stats is what a session did, for the logout log line.
type Stats struct {
	Fetched  int64
	Expunged int64
}

// errLogout ends the command loop.
var errLogout = errors.New("logout")

// Serve runs the session on conn for store. The login front does not
// answer the client's login command: Serve sends "tag OK [CAPABILITY
// ...] Logged in" (tag is that command's). It returns when the client
// logs out or goes, ctx ends, or the idle timeout passes.
func Serve(ctx context.Context, conn io.ReadWriter, store mailbox.Store, tag string, cfg Config) (Stats, error) {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Minute
	}
	if cfg.Limits.Line == 0 {
		cfg.Limits = imap.DefaultLimits()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	s := &session{ctx: ctx, cfg: cfg, store: store, conn: conn}
	if nc, ok := conn.(net.Conn); ok {
		s.nc = nc
		stop := context.AfterFunc(ctx, func() { nc.SetDeadline(time.Unix(1, 0)) })
		defer stop()
	}
	// The protocol layer's writer buffers 16 KiB; a 64 KiB one below it
	// sends a big FETCH in few segments.
	s.bw = bufio.NewWriterSize(conn, 64<<10)
	s.w = imap.NewWriter(s.bw)
	s.r = imap.NewReader(conn, cfg.Limits, func() error {
		s.w.Continue("Ready for literal data")
		return s.flush()
	})
	s.r.SetAppendSink(func(size int64) (imap.AppendSink, error) {
		sp, err := newSpool(cfg.SpoolDir, size)
		if err != nil {
			// The client learns that it failed, the log why.
			s.cfg.Logf("error: append spool: %v", err)
			return nil, errSpool
		}
		return sp, nil
	})
	defer func() {
		if s.sel != nil {
			s.sel.Close()
		}
	}()
	s.w.Tagged(tag).Atom("OK [CAPABILITY")
	for _, c := range s.capabilities() {
		s.w.SP().Atom(c)
	}
	s.w.Atom("] Logged in").End()
	err := s.loop()
	s.flush()
	if errors.Is(err, errLogout) || errors.Is(err, errGone) || errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return s.stats, err
}

// flush sends what both buffers hold.
func (s *session) flush() error {
	if err := s.w.Flush(); err != nil {
		return err
	}
	return s.bw.Flush()
}

func (s *session) loop() error {
	bad := 0
	for {
		if err := s.flush(); err != nil {
			return err
		}
		if s.nc != nil {
			s.nc.SetReadDeadline(time.Now().Add(s.cfg.Timeout))
		}
		cmd, err := s.r.ReadCommand()
		if err != nil {
			var perr *imap.Error
			if errors.As(err, &perr) {
				s.w.Status(perr.Tag, perr.Status, perr.Code, perr.Text)
				if perr.Fatal {
					s.w.Status("", "BYE", "", "Too many errors")
					return nil
				}
				if bad++; bad > 20 {
					s.w.Status("", "BYE", "", "Too many invalid IMAP commands.")
					return nil
				}
				continue
			}
			if errors.Is(err, os.ErrDeadlineExceeded) && s.ctx.Err() == nil {
				s.w.Status("", "BYE", "", "Disconnected for inactivity.")
				return nil
			}
			if s.ctx.Err() != nil {
				s.w.Status("", "BYE", "", "Server shutting down.")
				return nil
			}
			return err
		}
		if s.nc != nil {
			s.nc.SetReadDeadline(time.Time{})
		}
		err = s.dispatch(cmd)
		if a, ok := cmd.Args.(*imap.Append); ok && a.Sink != nil {
			a.Sink.Discard() // whether or not the command used it
		}
		if err != nil {
			return err
		}
		if err := s.w.Err(); err != nil {
			return err
		}
	}
}

// reply writes the tagged completion.
func (s *session) reply(tag, status, code, text string) error {
	return s.w.Status(tag, status, code, text)
}

// done is the OK completion after the untagged updates the command
// allows (expunges only where RFC 3501 §7.4.1 permits them).
func (s *session) done(c *imap.Command, code, text string) error {
	if err := s.update(expungeAllowed(c)); err != nil {
		return err
	}
	return s.reply(c.Tag, "OK", code, text)
}

// expungeAllowed: no EXPUNGE while answering FETCH, STORE or SEARCH
// (and SORT, THREAD); their UID forms may have them.
func expungeAllowed(c *imap.Command) bool {
	switch c.Name {
	case "FETCH", "STORE", "SEARCH", "SORT", "THREAD":
		return c.UID
	}
	return true
}

// selectedOnly are the commands of the selected state.
var selectedOnly = map[string]bool{
	"CHECK": true, "CLOSE": true, "UNSELECT": true, "EXPUNGE": true, "SEARCH": true,
	"FETCH": true, "STORE": true, "COPY": true, "MOVE": true, "SORT": true, "THREAD": true,
}

func (s *session) dispatch(c *imap.Command) error {
	if selectedOnly[c.Name] && s.sel == nil {
		return s.reply(c.Tag, "BAD", "", "No mailbox selected.")
	}
	switch c.Name {
	case "CAPABILITY":
		s.w.Capability(s.capabilities())
		return s.done(c, "", "Capability completed.")
	case "NOOP", "CHECK":
		return s.done(c, "", c.Name+" completed.")
	case "LOGOUT":
		s.w.Status("", "BYE", "", "Logging out")
		s.reply(c.Tag, "OK", "", "Logout completed.")
		return errLogout
	case "ENABLE":
		s.w.Enabled(s.enable(c.Args.(*imap.Enable).Caps))
		return s.reply(c.Tag, "OK", "", "Enabled.")
	case "ID":
		s.w.Untagged().Atom(`ID ("name" "postern" "vendor" "postern")`).End()
		return s.done(c, "", "ID completed.")
	case "NAMESPACE":
		s.w.Untagged().Atom(`NAMESPACE (("" "/")) NIL NIL`).End()
		return s.done(c, "", "Namespace completed.")
	case "LOGIN", "AUTHENTICATE", "STARTTLS":
		return s.reply(c.Tag, "BAD", "", "Already logged in.")
	case "COMPRESS":
		return s.compress(c)
	case "SELECT", "EXAMINE":
		return s.cmdSelect(c)
	case "CLOSE", "UNSELECT":
		return s.cmdClose(c)
	case "CREATE":
		return s.cmdCreate(c)
	case "DELETE":
		return s.cmdDelete(c)
	case "RENAME":
		return s.cmdRename(c)
	case "SUBSCRIBE", "UNSUBSCRIBE":
		return s.cmdSubscribe(c)
	case "LIST", "LSUB":
		return s.cmdList(c)
	case "STATUS":
		return s.cmdStatus(c)
	case "APPEND":
		return s.cmdAppend(c)
	case "GETQUOTA", "GETQUOTAROOT", "SETQUOTA":
		return s.cmdQuota(c)
	case "EXPUNGE":
		return s.cmdExpunge(c)
	case "FETCH":
		return s.cmdFetch(c)
	case "STORE":
		return s.cmdStore(c)
	case "COPY", "MOVE":
		return s.cmdCopy(c)
	case "SEARCH":
		return s.cmdSearch(c)
	case "SORT":
		return s.cmdSort(c)
	case "THREAD":
		return s.cmdThread(c)
	case "IDLE":
		return s.cmdIdle(c)
	}
	return s.reply(c.Tag, "BAD", "", fmt.Sprintf("Unknown command %s.", c.Name))
}

// compress starts COMPRESS=DEFLATE (RFC 4978).
func (s *session) compress(c *imap.Command) error {
	if s.compressed {
		return s.reply(c.Tag, "NO", "COMPRESSIONACTIVE", "Compression is already on.")
	}
	if m := c.Args.(*imap.Compress).Mechanism; m != "DEFLATE" {
		return s.reply(c.Tag, "BAD", "", "Unknown compression mechanism.")
	}
	nc, ok := s.conn.(net.Conn)
	if !ok {
		return s.reply(c.Tag, "NO", "", "Compression is not available here.")
	}
	s.reply(c.Tag, "OK", "", "DEFLATE active")
	if err := s.flush(); err != nil {
		return err
	}
	dc, err := imap.NewDeflateConn(nc)
	if err != nil {
		return fmt.Errorf("compress: %w", err)
	}
	s.compressed = true
	s.conn, s.nc = dc, dc
	s.r.Reset(dc)
	s.bw.Reset(dc)
	return nil
}

// mailboxName decodes a mailbox name from the wire.
func (s *session) mailboxName(wire string) (string, error) {
	return imap.DecodeMailbox(wire, s.w.UTF8)
}

// storeError answers a store error with the response code clients act
// on; other errors are the server's and logged.
func (s *session) storeError(tag string, err error) error {
	switch {
	case errors.Is(err, mailbox.ErrNoFolder):
		return s.reply(tag, "NO", "NONEXISTENT", "Mailbox doesn't exist.")
	case errors.Is(err, mailbox.ErrExists):
		return s.reply(tag, "NO", "ALREADYEXISTS", "Mailbox already exists.")
	case errors.Is(err, mailbox.ErrBadName):
		return s.reply(tag, "NO", "CANNOT", "Invalid mailbox name.")
	case errors.Is(err, mailbox.ErrOverQuota):
		return s.reply(tag, "NO", "OVERQUOTA", "Quota exceeded (mailbox for user is full).")
	case errors.Is(err, mailbox.ErrReadOnly):
		return s.reply(tag, "NO", "READ-ONLY", "Mailbox is read-only.")
	case errors.Is(err, mailbox.ErrInUse):
		return s.reply(tag, "NO", "INUSE", "Mailbox is in use.")
	case errors.Is(err, mailbox.ErrHasFolders):
		return s.reply(tag, "NO", "HASCHILDREN", "Mailbox has children, delete them first.")
	case errors.Is(err, mailbox.ErrNoMessage):
		return s.reply(tag, "NO", "EXPUNGEISSUED", "Some of the requested messages no longer exist.")
	}
	s.cfg.Logf("error: %v", err)
	return s.reply(tag, "NO", "SERVERBUG", "Internal error occurred. Refer to server log for more information.")
}
