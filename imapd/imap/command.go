package imap

import "time"

// Command is one parsed client command. Args holds the command's own
// type (*Login for LOGIN, *Fetch for FETCH and UID FETCH, ...), nil for
// commands without arguments.
type Command struct {
	Tag  string
	Name string // upper case: "FETCH" for both FETCH and UID FETCH
	UID  bool   // sent as "UID FETCH" etc.: sets are UID sets
	Args any
}

// Login is LOGIN user password.
type Login struct{ User, Password string }

// Authenticate is AUTHENTICATE mechanism [initial-response] (RFC 4959).
type Authenticate struct {
	Mechanism string // upper case
	// InitialResponse is base64 as sent, "=" for an empty one; nil when
	// the client sent none and waits for a challenge.
	InitialResponse *string
}

// MailboxArg is the one mailbox of DELETE, SUBSCRIBE, UNSUBSCRIBE and
// GETQUOTAROOT, and the quota root of GETQUOTA. Names are as sent; see
// DecodeMailbox.
type MailboxArg struct{ Mailbox string }

// Create is CREATE mailbox [(USE (special-use...))] (RFC 6154 §3).
type Create struct {
	Mailbox string
	Use     []string
}

// SetQuota is SETQUOTA root (resource limit...) (RFC 9208 §4.4); imapd
// answers NO, as quotas are the administrator's, but parses it to say so.
type SetQuota struct {
	Root   string
	Limits []QuotaLimit
}

// QuotaLimit is one resource (upper case) and its limit.
type QuotaLimit struct {
	Resource string
	Limit    uint64
}

// Rename is RENAME from to.
type Rename struct{ From, To string }

// Select is SELECT or EXAMINE with RFC 7162's parameters.
type Select struct {
	Mailbox   string
	CondStore bool
	QResync   *QResync
}

// QResync is SELECT's (QRESYNC (...)) parameter (RFC 7162 §3.2.5).
type QResync struct {
	UIDValidity uint32
	ModSeq      uint64
	KnownUIDs   *SeqSet
	// KnownSeqs and KnownSeqUIDs are seq-match-data: matching sequence
	// numbers and UIDs the client knows.
	KnownSeqs, KnownSeqUIDs *SeqSet
}

// List is LIST, with RFC 5258's selection and return options, and LSUB
// (Name "LSUB", no options).
type List struct {
	Select    []string // SUBSCRIBED REMOTE RECURSIVEMATCH SPECIAL-USE, upper case
	Reference string
	Patterns  []string
	Return    []string // SUBSCRIBED CHILDREN SPECIAL-USE, upper case
	// Status is RETURN (STATUS (...)) (RFC 5819); nil if not asked.
	Status []string
	// Extended: the client used RFC 5258 syntax (options or a pattern
	// list), so the reply may carry extended data.
	Extended bool
}

// Status is STATUS mailbox (items); items upper case.
type Status struct {
	Mailbox string
	Items   []string
}

// Append is APPEND mailbox [flags] [date-time] literal.
type Append struct {
	Mailbox string
	Flags   []string // nil when not given
	Date    time.Time
	Message []byte
	// Binary: the message came as a literal8 (RFC 3516 §4.4) and may
	// hold NULs.
	Binary bool
	// UTF8: sent as UTF8 (~{n}) (RFC 6855 §4): a message with UTF-8
	// header fields, which only a UTF8=ACCEPT session may send.
	UTF8 bool
	// Sink holds the message instead of Message when the Reader has an
	// AppendSink (Reader.SetAppendSink); Size is its length.
	Sink AppendSink
	Size int64
}

// Enable is ENABLE capability... (RFC 5161); upper case.
type Enable struct{ Caps []string }

// ID is ID (RFC 2971): field/value pairs, nil for ID NIL.
type ID struct{ Params []IDParam }

// IDParam is one ID field; Value nil for NIL.
type IDParam struct {
	Key   string
	Value *string
}

// Compress is COMPRESS mechanism (RFC 4978); upper case.
type Compress struct{ Mechanism string }

// Search is SEARCH [RETURN (...)] [CHARSET c] keys (RFC 9051 §6.4.4,
// RFC 4731 ESEARCH, RFC 5182 SAVE).
type Search struct {
	// Return is set when the client used RETURN: the reply is ESEARCH.
	// Empty RETURN () means ALL.
	Return  []string
	ESearch bool
	Charset string // upper case; "" if not given
	Key     *SearchKey
}

// Sort is SORT (criteria) charset keys (RFC 5256), with RFC 5267's
// RETURN.
type Sort struct {
	Return   []string
	ESearch  bool
	Criteria []SortCriterion
	Charset  string
	Key      *SearchKey
}

// SortCriterion is one sort key, upper case, with REVERSE.
type SortCriterion struct {
	Key     string
	Reverse bool
}

// Thread is THREAD algorithm charset keys (RFC 5256).
type Thread struct {
	Algorithm string // REFERENCES or ORDEREDSUBJECT
	Charset   string
	Key       *SearchKey
}

// Fetch is FETCH set items [(CHANGEDSINCE n [VANISHED])] (RFC 7162).
type Fetch struct {
	Set   SeqSet
	Items []FetchItem
	// Macro is ALL, FAST or FULL when the client used one; Items holds
	// its expansion either way.
	Macro        string
	ChangedSince uint64 // 0 when not given
	Vanished     bool
}

// FetchItem is one fetch attribute.
type FetchItem struct {
	// Name is upper case: FLAGS, ENVELOPE, INTERNALDATE, UID, MODSEQ,
	// RFC822, RFC822.HEADER, RFC822.SIZE, RFC822.TEXT, BODY, BODYSTRUCTURE,
	// BODY[] (Section set), BINARY, BINARY.SIZE. Peek marks .PEEK.
	Name    string
	Peek    bool
	Section *Section // BODY[...], BINARY[...] and BINARY.SIZE[...]
	Partial *Partial
}

// Section is what is inside BODY[...] (RFC 9051 §6.4.5).
type Section struct {
	Part []int // "1.2.3"; empty for the whole message
	// Specifier is "", HEADER, HEADER.FIELDS, HEADER.FIELDS.NOT, TEXT or
	// MIME.
	Specifier string
	Fields    []string // for HEADER.FIELDS[.NOT], as sent
}

// Partial is <offset.count>.
type Partial struct {
	Offset uint64
	Count  uint64
}

// Store is STORE set [(UNCHANGEDSINCE n)] [+|-]FLAGS[.SILENT] flags.
type Store struct {
	Set               SeqSet
	UnchangedSince    uint64
	HasUnchangedSince bool // UNCHANGEDSINCE 0 is meaningful (RFC 7162 §3.1.3)
	Op                StoreOp
	Silent            bool
	Flags             []string
}

// StoreOp is how STORE changes flags.
type StoreOp int

const (
	StoreReplace StoreOp = iota // FLAGS
	StoreAdd                    // +FLAGS
	StoreRemove                 // -FLAGS
)

// Copy is COPY or MOVE set mailbox.
type Copy struct {
	Set     SeqSet
	Mailbox string
}

// Expunge is UID EXPUNGE set (RFC 4315); plain EXPUNGE has no Args.
type Expunge struct{ Set SeqSet }
