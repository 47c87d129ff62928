package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"postern.dev/postern/libmail/account"
	"postern.dev/postern/libmail/address"
)

const userSynopsis = "[-c FILE] add ADDRESS | passwd ADDRESS | del ADDRESS | list [-j]"

const userHelp = "Add, re-password, remove or list the virtual accounts of accounts_file."

// cmdUser edits the accounts file (libmail/account's format) in place:
// one account changes, every other byte stays. The daemons reread the
// file when it changes, so nothing needs a reload. A password is never
// an argument (it would show in ps and the shell's history): it is
// asked for twice without echo on a terminal, or read as one line from
// standard input otherwise, for scripts.
func cmdUser(a *app, args []string) error {
	return a.subcommands("user", userSynopsis, userHelp, args,
		map[string]func(*app, []string) error{"add": userAdd, "passwd": userPasswd, "del": userDel, "list": userList})
}

// userArg parses the flags of a subcommand that takes one address.
func userArg(a *app, name, help string, args []string) (string, error) {
	fs := a.flags("user "+name, "[-c FILE] ADDRESS", help)
	pos, err := a.parse(fs, args, 1)
	if err != nil {
		return "", err
	}
	if len(pos) != 1 {
		return "", usageError("one address expected")
	}
	addr, err := account.CheckAddress(pos[0])
	if err != nil {
		return "", usageError(fmt.Sprintf("not an account address: %v", err))
	}
	return addr, a.load()
}

func userAdd(a *app, args []string) error {
	addr, err := userArg(a, "add", "Add an account; its password is asked for twice on a terminal, else read as one line from standard input.", args)
	if err != nil {
		return err
	}
	path := a.cfg.AccountsFile
	if err := a.setPassword(path, addr, account.Add); err != nil {
		return err
	}
	_, domain := address.Split(addr)
	if !a.localDomain(domain) {
		fmt.Fprintf(a.stderr, "postern: warning: %s is not in mydestination: %s can log in but receives no mail here\n", domain, addr)
	}
	fmt.Fprintf(a.stdout, "postern: added %s to %s\n", addr, path)
	return nil
}

func userPasswd(a *app, args []string) error {
	addr, err := userArg(a, "passwd", "Set an account's password (hashed with argon2id), asked for as by add.", args)
	if err != nil {
		return err
	}
	path := a.cfg.AccountsFile
	if err := a.setPassword(path, addr, account.SetPassword); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "postern: changed the password of %s in %s\n", addr, path)
	return nil
}

// setPassword asks for addr's new password and makes the edit with its
// hash. The edit is tried first with a placeholder hash, so that an edit
// the file refuses (an account that exists, or does not) fails before
// anyone types a password.
func (a *app) setPassword(path, addr string, edit func(text []byte, addr, hash string) ([]byte, error)) error {
	if err := checkAccountsEdit(path, func(text []byte) error {
		_, err := edit(text, addr, "{PLAIN}x")
		return err
	}); err != nil {
		return err
	}
	hash, err := a.newPassword(addr)
	if err != nil {
		return err
	}
	return editAccounts(path, func(text []byte) ([]byte, error) { return edit(text, addr, hash) })
}

func userDel(a *app, args []string) error {
	addr, err := userArg(a, "del", "Remove an account from the accounts file; its Maildir stays.", args)
	if err != nil {
		return err
	}
	path := a.cfg.AccountsFile
	// Checked first so that a missing file is not created only to say so.
	if err := checkAccountsEdit(path, func(text []byte) error {
		_, err := account.Remove(text, addr)
		return err
	}); err != nil {
		return err
	}
	if err := editAccounts(path, func(text []byte) ([]byte, error) { return account.Remove(text, addr) }); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "postern: removed %s from %s; its mail, if any, stays where it was\n", addr, path)
	return nil
}

// userEntry is one account in `postern user list -j`.
type userEntry struct {
	Address string `json:"address"`
	Scheme  string `json:"scheme"` // ARGON2ID, BLF-CRYPT, PLAIN, or "" when it cannot log in
	Home    string `json:"home,omitempty"`
}

func userList(a *app, args []string) error {
	fs := a.flags("user list", "[-c FILE] [-j]", "List the accounts, one address a line, or as JSON with -j.")
	asJSON := fs.Bool("j", false, "print a JSON array of {address, scheme, home}")
	if _, err := a.parse(fs, args, 0); err != nil {
		return err
	}
	if err := a.load(); err != nil {
		return err
	}
	f, errs := account.Load(a.cfg.AccountsFile)
	for _, err := range errs {
		if f == nil && errors.Is(err, os.ErrNotExist) {
			f = &account.File{} // no file yet: no accounts
			continue
		}
		fmt.Fprintf(a.stderr, "postern: warning: %v\n", err)
	}
	if f == nil {
		return fmt.Errorf("cannot read %s", a.cfg.AccountsFile)
	}
	list := []userEntry{}
	for _, acct := range f.Accounts() {
		list = append(list, userEntry{Address: acct.Address, Scheme: acct.Scheme(), Home: acct.Home})
	}
	if *asJSON {
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(list)
	}
	for _, u := range list {
		fmt.Fprintln(a.stdout, u.Address)
	}
	return nil
}

func (a *app) localDomain(domain string) bool {
	for _, d := range a.cfg.MyDestination {
		if strings.EqualFold(d, domain) {
			return true
		}
	}
	return false
}

// maxPassword bounds a password read from standard input; a longer line
// is a mistake (a file piped in whole), not a password.
const maxPassword = 1024

// newPassword asks for the password of addr and returns its hash.
func (a *app) newPassword(addr string) (string, error) {
	var pw []byte
	if a.tty.IsTerminal() {
		p1, err := a.tty.ReadPassword(fmt.Sprintf("New password for %s: ", addr))
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		p2, err := a.tty.ReadPassword("Retype it: ")
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		if string(p1) != string(p2) {
			return "", errors.New("the passwords differ; nothing changed")
		}
		pw = p1
	} else {
		line, err := bufio.NewReaderSize(a.stdin, maxPassword+2).ReadSlice('\n')
		if err != nil && !(errors.Is(err, io.EOF) && len(line) > 0) {
			if errors.Is(err, bufio.ErrBufferFull) {
				return "", fmt.Errorf("password longer than %d bytes", maxPassword)
			}
			return "", fmt.Errorf("read password from standard input: %w", err)
		}
		pw = []byte(strings.TrimSuffix(strings.TrimSuffix(string(line), "\n"), "\r"))
	}
	switch {
	case len(pw) == 0:
		return "", errors.New("empty password; nothing changed")
	case len(pw) > maxPassword:
		return "", fmt.Errorf("password longer than %d bytes", maxPassword)
	case strings.ContainsAny(string(pw), "\x00\r\n"):
		// SASL PLAIN separates its fields with NUL (RFC 4616): such a
		// password could never be sent.
		return "", errors.New("the password contains a NUL, CR or LF")
	}
	return account.Hash(string(pw))
}
