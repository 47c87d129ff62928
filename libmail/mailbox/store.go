package mailbox

import (
	"context"
	"errors"
	"io"
	"time"
)

// Store is one account's mailboxes, as a protocol session sees them. The
// Maildir implementation (Open) is what imapd and pop3d serve; NewMemory
// is the in-memory one their tests use. Folder names are IMAP-visible
// names with '/' as the hierarchy delimiter; "INBOX" (any case) is the
// account's inbox. A Store is used by one session (one goroutine); several
// Stores, in one process or several, may work on the same account at once.
type Store interface {
	// List returns every folder, INBOX first, then by name.
	List(ctx context.Context) ([]FolderInfo, error)
	// Create makes a folder; its missing parents are made too. It fails
	// with ErrExists if the folder is there.
	Create(ctx context.Context, name string) error
	// Delete removes a folder and its messages. INBOX cannot be deleted.
	Delete(ctx context.Context, name string) error
	// Rename renames a folder and its children. Renaming INBOX moves its
	// messages into the new folder and leaves INBOX empty (RFC 3501 §6.3.5).
	Rename(ctx context.Context, from, to string) error
	// Subscribe adds (on) or removes a name from the subscriptions; the
	// name need not exist (RFC 3501 §6.3.6), and neither Rename nor
	// Delete changes them.
	Subscribe(ctx context.Context, name string, on bool) error
	// Subscriptions lists the subscribed names, existing or not (LSUB,
	// LIST (SUBSCRIBED) with \NonExistent, RFC 5258).
	Subscriptions(ctx context.Context) ([]string, error)
	// Status returns a folder's counts without selecting it.
	Status(ctx context.Context, name string) (Status, error)
	// Select opens a folder and takes a snapshot of its messages.
	// readOnly (EXAMINE) keeps the session from changing flags or
	// expunging, and from claiming \Recent.
	Select(ctx context.Context, name string, readOnly bool) (Folder, error)
	// Append adds a message (r, in any line-end form, stored as LF) with
	// flags and internal date (zero means now) and returns its UID, for
	// APPENDUID (RFC 4315).
	Append(ctx context.Context, name string, flags []string, date time.Time, r io.Reader) (AppendResult, error)
	// Quota reports the account's storage use and limit, for GETQUOTAROOT
	// (RFC 9208); the root is the account ("").
	Quota(ctx context.Context) (Quota, error)
	// Exclusive takes a named lock on the account without waiting, for
	// POP3's one session per mailbox (RFC 1939 §8); ErrInUse if another
	// session holds it. release gives it back.
	Exclusive(ctx context.Context, name string) (release func(), err error)
	// Close releases what the Store holds.
	Close() error
}

// Folder is a selected folder: a snapshot of its messages, numbered by
// sequence (index+1 in Messages), that changes only by the session's own
// calls and by Sync, so that the protocol can tell the client about each
// change in order. Messages not yet picked up by Sync are invisible.
type Folder interface {
	Name() string
	ReadOnly() bool
	UIDValidity() uint32
	// UIDNext is the UID the next message will get, as of the last Sync.
	UIDNext() uint32
	// HighestModSeq is the folder's highest modification sequence as of
	// the last Sync (RFC 7162).
	HighestModSeq() uint64
	// Messages is the snapshot, in ascending UID order; seq n is
	// Messages()[n-1]. The caller must not modify it.
	Messages() []Message
	// Keywords are the keywords (non-system flags) the folder knows, for
	// the FLAGS response. New ones can be stored while there are fewer
	// than MaxKeywords (PERMANENTFLAGS then includes \*).
	Keywords() []string
	// Sync picks up what other sessions and programs did since the last
	// Sync (deliveries, flag changes by rename, deleted files) and returns
	// it. Messages() reflects the changes afterwards. ErrNoFolder means
	// the folder was deleted or renamed away (the session should end).
	// Expunge history is not kept: QRESYNC's VANISHED (EARLIER) is the
	// client's known UIDs less those in Messages(), which RFC 7162
	// §3.2.5.2 allows.
	Sync(ctx context.Context) (Changes, error)
	// Open streams a message with CRLF line ends, Message.Size bytes.
	Open(ctx context.Context, uid uint32) (io.ReadCloser, error)
	// OpenHeader streams the header section with CRLF line ends, up to and
	// including the empty line that ends it; the body is not read.
	OpenHeader(ctx context.Context, uid uint32) (io.ReadCloser, error)
	// CachedHeader returns the lines of the message's header whose
	// fields are in CachedFields (CRLF, ending with an empty line), what
	// ENVELOPE and most header SEARCH and SORT keys need, from the
	// folder's header cache when it has them: a FETCH ENVELOPE of a whole
	// folder then reads one file, not one per message.
	CachedHeader(ctx context.Context, uid uint32) ([]byte, error)
	// CachedItem returns what CacheItem stored for the message under
	// key, as Dovecot's cache keeps a rendered ENVELOPE: something a
	// protocol derives from the message's bytes alone, so that it is
	// never stale. key is "<name>.<version>" (lower-case name, decimal
	// version); a new version drops what the old one stored. The bytes
	// must not be modified.
	CachedItem(ctx context.Context, uid uint32, key string) ([]byte, bool)
	// CacheItem stores data (copied) under key for the message, for this
	// and later sessions; a cache that cannot be written is only slower.
	CacheItem(ctx context.Context, uid uint32, key string, data []byte)
	// StoreFlags changes the flags of the messages in uids. With
	// unchangedSince > 0 (CONDSTORE's UNCHANGEDSINCE, RFC 7162 §3.1.3) a
	// message whose modseq is higher is not changed and is reported in
	// Failed. Updated has the messages changed (not those whose flags
	// already were so), with their new flags and modseq, as the snapshot
	// now holds them; FETCH responses for the rest come from Messages().
	StoreFlags(ctx context.Context, uids []uint32, op FlagOp, flags []string, unchangedSince uint64) (StoreResult, error)
	// Expunge removes the messages flagged \Deleted; with uids non-nil only
	// those among them (UID EXPUNGE, RFC 4315 §2.1). It returns what left
	// the snapshot, in the order to report them.
	Expunge(ctx context.Context, uids []uint32) ([]Expunged, error)
	// Copy copies messages to another folder (COPYUID, RFC 4315 §3).
	Copy(ctx context.Context, uids []uint32, dest string) (CopyResult, error)
	// Move moves them (RFC 6851): a copy, then an expunge of the sources,
	// reported in CopyResult.Expunged.
	Move(ctx context.Context, uids []uint32, dest string) (CopyResult, error)
	// Watch returns a channel that receives a value when the folder may
	// have changed (for IDLE); then call Sync. Wake-ups come from inotify
	// in the Maildir store, not from polling.
	Watch() <-chan struct{}
	// Close unselects the folder.
	Close() error
}

// Message is one message in a snapshot.
type Message struct {
	UID    uint32
	Flags  []string  // system flags (\Seen ...) and keywords, sorted
	ModSeq uint64    // the modseq of its last change (RFC 7162)
	Size   int64     // size with CRLF line ends (RFC822.SIZE)
	Date   time.Time // internal date
	// Recent is true in the one session that first saw the message
	// (RFC 3501 \Recent).
	Recent bool
}

// Has reports whether m carries flag (compared without case).
func (m Message) Has(flag string) bool { return hasFlag(m.Flags, flag) }

// Changes is what a Sync found.
type Changes struct {
	// Expunged in the order to send EXPUNGE responses: descending sequence
	// numbers, so each Seq is right at the moment it is sent.
	Expunged []Expunged
	// New messages, at the end of the snapshot (EXISTS).
	New []Message
	// Updated messages whose flags changed (FETCH FLAGS), with their
	// sequence numbers after the expunges.
	Updated []Updated
	// Reset means the folder's UIDVALIDITY changed (its index had to be
	// rebuilt): every message of the old snapshot is in Expunged and the
	// whole folder in New, but an IMAP session cannot express that and
	// must end (BYE), as RFC 3501 §2.3.1.1 expects of a server whose
	// UIDs change.
	Reset bool
}

// Empty reports whether nothing changed.
func (c Changes) Empty() bool {
	return len(c.Expunged) == 0 && len(c.New) == 0 && len(c.Updated) == 0 && !c.Reset
}

// Expunged is a message that left the snapshot.
type Expunged struct {
	Seq uint32
	UID uint32
}

// Updated is a message whose flags changed.
type Updated struct {
	Seq uint32
	Message
}

// StoreResult is what StoreFlags did.
type StoreResult struct {
	Updated []Updated
	Failed  []uint32 // UIDs refused by unchangedSince (MODIFIED, RFC 7162)
}

// CopyResult pairs source and destination UIDs, for COPYUID.
type CopyResult struct {
	UIDValidity uint32 // the destination's
	Source      []uint32
	Dest        []uint32
	Expunged    []Expunged // Move only
}

// AppendResult is an appended message's identity, for APPENDUID.
type AppendResult struct {
	UIDValidity uint32
	UID         uint32
}

// FlagOp says how StoreFlags applies its flags.
type FlagOp int

const (
	FlagsReplace FlagOp = iota // FLAGS
	FlagsAdd                   // +FLAGS
	FlagsRemove                // -FLAGS
)

// FolderInfo is one folder in a listing.
type FolderInfo struct {
	Name       string
	Use        string // special use (RFC 6154): \Sent, \Drafts, \Junk, \Trash, \Archive, or ""
	Subscribed bool
	Children   bool // has child folders (\HasChildren, RFC 3348)
	// NoSelect marks a name that exists only as the parent of others.
	NoSelect bool
}

// Status is a folder's STATUS items (RFC 3501 §6.3.10, RFC 7162, RFC 8438).
type Status struct {
	Messages      uint32
	Recent        uint32
	UIDNext       uint32
	UIDValidity   uint32
	Unseen        uint32
	Size          int64
	HighestModSeq uint64
}

// Quota is the account's storage (RFC 9208 STORAGE is in KiB; these are
// bytes). Limit 0 means none.
type Quota struct {
	Used, Limit        int64
	Messages, MaxCount int64
}

// Errors callers branch on (to NO responses with a response code).
var (
	ErrNoFolder   = errors.New("no such folder")           // [NONEXISTENT]
	ErrExists     = errors.New("folder already exists")    // [ALREADYEXISTS]
	ErrBadName    = errors.New("invalid folder name")      // [CANNOT]
	ErrNoMessage  = errors.New("no such message")          // expunged meanwhile
	ErrInUse      = errors.New("mailbox in use")           // [IN-USE]
	ErrOverQuota  = errors.New("mailbox over quota")       // [OVERQUOTA]
	ErrReadOnly   = errors.New("folder is read-only")      // EXAMINE
	ErrHasFolders = errors.New("folder has child folders") // delete of a parent
)

// Special-use flags (RFC 6154) and the folders created with every account.
const (
	UseSent    = `\Sent`
	UseDrafts  = `\Drafts`
	UseJunk    = `\Junk`
	UseTrash   = `\Trash`
	UseArchive = `\Archive`
)

// SpecialFolders are made when an account is first opened, with the names
// Dovecot's default configuration and common clients use.
var SpecialFolders = []FolderInfo{
	{Name: "Drafts", Use: UseDrafts},
	{Name: "Sent", Use: UseSent},
	{Name: "Junk", Use: UseJunk},
	{Name: "Trash", Use: UseTrash},
	{Name: "Archive", Use: UseArchive},
}

// MaxKeywords is how many keywords a folder can hold: Maildir stores them
// as the letters a-z in file names.
const MaxKeywords = 26

// Inbox is the name of the account's inbox.
const Inbox = "INBOX"

// Delimiter is the IMAP hierarchy delimiter of folder names.
const Delimiter = '/'
