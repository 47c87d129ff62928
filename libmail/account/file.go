package account

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"unicode/utf8"

	"postern.dev/postern/libmail/textfile"
)

// File is a parsed accounts file. It is never modified after Parse returns
// it, so any number of goroutines may use it at once.
type File struct {
	accounts map[string]*entry
	domains  []string
}

// entry is a stored account and the line that defined it, which the parser
// needs to name the first definition when it finds a duplicate.
type entry struct {
	account Account
	line    int
}

// Load reads and parses the accounts file at path. See Parse for what the
// results mean.
func Load(path string) (*File, []error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, []error{fmt.Errorf("open accounts: %w", err)}
	}
	defer f.Close()
	return Parse(f, path)
}

// Parse reads an accounts file; name is the file name used in messages.
// Every problem is reported, each as a *ParseError, and the File holds
// every account that had none. A read error is reported last and returns a
// nil File, because a File missing an unknown part of its accounts must not
// be mistaken for the whole.
func Parse(r io.Reader, name string) (*File, []error) {
	accounts := make(map[string]*entry)
	errs, complete := textfile.Entries(r, name, maxLine, func(n int, line []byte) error {
		a, err := parseLine(line)
		if err != nil {
			return err
		}
		if e, dup := accounts[a.Address]; dup {
			return fmt.Errorf("%w %s ignored, first defined on line %d", ErrDuplicate, a.Address, e.line)
		}
		accounts[a.Address] = &entry{account: a, line: n}
		return nil
	})
	if !complete {
		return nil, errs
	}
	return &File{accounts: accounts, domains: domains(accounts)}, errs
}

// parseLine parses one account line.
func parseLine(line []byte) (Account, error) {
	if err := textfile.CheckControl(line); err != nil {
		return Account{}, err
	}
	f := strings.SplitN(string(line), ":", 8)
	if len(f) < 2 {
		return Account{}, errors.New("missing password field")
	}
	addr, err := parseUser(f[0])
	if err != nil {
		return Account{}, fmt.Errorf("user %q: %w", f[0], err)
	}
	pw, err := parsePassword(f[1])
	if err != nil {
		return Account{}, fmt.Errorf("password of %s: %w", addr, err)
	}
	field := func(i int) string {
		if i < len(f) {
			return f[i]
		}
		return ""
	}
	a := Account{Address: addr, UID: field(2), GID: field(3), Home: field(5), Extra: field(7), pw: pw}
	if a.Home != "" && !strings.HasPrefix(a.Home, "/") {
		// Dovecot requires an absolute home too; a relative one would
		// depend on the working directory of whoever delivers.
		return Account{}, fmt.Errorf("home %q of %s is not an absolute path", a.Home, addr)
	}
	return a, nil
}

// parseUser checks that s is an address, local@domain, and lower-cases it.
// The local part may hold anything but white space, quotes, backslashes and
// '@', since Dovecot's file has no quoting; the domain must be a domain
// name, with UTF-8 allowed for internationalised names (RFC 6531).
func parseUser(s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", errors.New("invalid UTF-8")
	}
	local, domain, ok := strings.Cut(s, "@")
	if !ok || local == "" || domain == "" || strings.Contains(domain, "@") {
		return "", errors.New("not an address of the form local@domain")
	}
	for i := 0; i < len(local); i++ {
		if c := local[i]; c <= ' ' || c == '"' || c == '\\' {
			return "", fmt.Errorf("unexpected %q in local part", c)
		}
	}
	for i := 0; i < len(domain); i++ {
		switch c := domain[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			c == '-', c == '.', c == '_', c >= 0x80:
		default:
			return "", fmt.Errorf("unexpected %q in domain", c)
		}
	}
	return strings.ToLower(s), nil
}

// domains returns the sorted set of domains that have accounts.
func domains(accounts map[string]*entry) []string {
	seen := make(map[string]bool)
	var ds []string
	for addr := range accounts {
		d := addr[strings.LastIndexByte(addr, '@')+1:]
		if !seen[d] {
			seen[d] = true
			ds = append(ds, d)
		}
	}
	slices.Sort(ds)
	return ds
}

// Lookup returns the account for address, compared without regard to case.
// The Account is a copy, so changing it does not change the File.
func (f *File) Lookup(address string) (*Account, bool) {
	if f == nil {
		return nil, false
	}
	e, ok := f.accounts[strings.ToLower(address)]
	if !ok {
		return nil, false
	}
	a := e.account
	return &a, true
}

// Domains returns the domains that have accounts, sorted. The slice is the
// caller's to keep and modify.
func (f *File) Domains() []string {
	if f == nil {
		return nil
	}
	return slices.Clone(f.domains)
}

// Accounts returns a copy of every account, sorted by address.
func (f *File) Accounts() []Account {
	if f == nil {
		return nil
	}
	out := make([]Account, 0, len(f.accounts))
	for _, e := range f.accounts {
		out = append(out, e.account)
	}
	slices.SortFunc(out, func(a, b Account) int { return strings.Compare(a.Address, b.Address) })
	return out
}

// Len returns the number of accounts.
func (f *File) Len() int {
	if f == nil {
		return 0
	}
	return len(f.accounts)
}

// Authenticate looks address up and verifies password, returning the
// account only if both succeed. When there is no such account it still
// spends the time of an {ARGON2ID} verification at Hash's settings, so that
// response times do not tell an attacker which addresses exist.
func (f *File) Authenticate(address, password string) (*Account, bool) {
	a, ok := f.Lookup(address)
	if !ok {
		dummy, err := parseArgon2(dummyHash)
		if err == nil {
			dummy.derive(password, len(dummy.key))
		}
		return nil, false
	}
	if !a.Verify(password) {
		return nil, false
	}
	return a, true
}

// dummyHash is an argon2id hash of a random password that was thrown away,
// made with Hash's settings so that verifying against it costs what a real
// verification costs.
const dummyHash = "$argon2id$v=19$m=19456,t=2,p=1$lAKl2GHs6BSJf2uQMQKq3g$SjgzYR++RE54zoWQjTKDwT5gkbAvXBcXwAhc1tdbhhE"
