package main

import (
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"postern.dev/postern/libmail/account"
	"postern.dev/postern/libmail/alias"
	"postern.dev/postern/libmail/config"
	"postern.dev/postern/libmail/daemon"
	"postern.dev/postern/libmail/dkim"
	"postern.dev/postern/libmail/maillog"
	"postern.dev/postern/libmail/queue"
	"postern.dev/postern/libmail/recipient"
	"postern.dev/postern/libmail/sasl"
)

// cmdCheck is postfix check: the configuration loads (main did that), the
// users exist, the files it names can be read, the spool has the right
// owners and modes. Problems are listed; any makes the exit status 1.
func cmdCheck(a *app, args []string) error {
	fs := a.flags("check", "[-c FILE]", "Check the configuration, the users it names, the files it needs and the spool's owners and modes.")
	if _, err := a.parse(fs, args, 0); err != nil {
		return err
	}
	if err := a.load(); err != nil {
		return err
	}
	c := a.cfg
	var problems []string
	warn := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	root := os.Geteuid() == 0
	owner := -1
	var ownerUser *daemon.User
	if root {
		for _, name := range []string{c.MailOwner, c.VmailUser, c.DefaultPrivs} {
			u, err := daemon.LookupUser(name)
			if err != nil {
				warn("%v", err)
			} else if name == c.MailOwner {
				owner, ownerUser = u.UID, u
			}
		}
	}
	certs, passwords, dkimKeys := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, s := range c.Services {
		if !s.Enabled {
			continue
		}
		if f := s.Params.SMTPSASLPasswordMaps; s.Params.SMTPSASLAuthEnable && filepath.Base(s.Command) == "smtp" && !passwords[f] {
			passwords[f] = true
			checkPasswords(warn, f, ownerUser)
		}
		p := commandPath(s.Command, c.DaemonDirectory)
		if st, err := os.Stat(p); err != nil || st.Mode()&0o111 == 0 {
			warn("service %s: program %s is missing or not executable", s.Name, p)
		}
		// Only smtpd serves TLS; services that share one certificate are
		// checked once.
		if cert := s.Params.SMTPDTLSCertFile; cert != "" && filepath.Base(s.Command) == "smtpd" && !certs[cert] {
			certs[cert] = true
			if _, err := tls.LoadX509KeyPair(cert, s.Params.SMTPDTLSKeyFile); err != nil {
				warn("service %s: TLS certificate: %v", s.Name, err)
			}
			checkSecret(warn, s.Params.SMTPDTLSKeyFile)
		}
		if filepath.Base(s.Command) == "smtpd" {
			checkDKIMKeys(warn, s.Name, s.Params.DKIMSigningKeys, dkimKeys)
		}
	}
	checkSecret(warn, c.AccountsFile)
	checkPostmaster(warn, &c.Params)
	for _, p := range c.AliasMaps {
		if _, errs := alias.Load(p); len(errs) > 0 {
			for _, e := range errs {
				if !errors.Is(e, os.ErrNotExist) {
					warn("%v", e)
				}
			}
		}
	}
	if _, errs := account.Load(c.AccountsFile); len(errs) > 0 {
		for _, e := range errs {
			if !errors.Is(e, os.ErrNotExist) {
				warn("%v", e)
			}
		}
	}
	for _, d := range append(queue.Layout[:len(queue.Layout):len(queue.Layout)], queue.MaildropSpec) {
		p := filepath.Join(c.QueueDirectory, d.Name)
		st, err := os.Stat(p)
		if err != nil {
			continue // the master creates what is missing
		}
		if keep := os.ModePerm | os.ModeSticky; st.Mode()&keep != d.Mode&keep {
			warn("%s has mode %o, want %o (the master fixes it at start)", p, octalMode(st.Mode()), octalMode(d.Mode))
		}
		if s, ok := st.Sys().(*syscall.Stat_t); ok && root && d.Owner == "mail_owner" && owner >= 0 && int(s.Uid) != owner {
			warn("%s is owned by uid %d, want %s (the master fixes it at start)", p, s.Uid, c.MailOwner)
		}
	}
	for _, p := range problems {
		fmt.Fprintf(a.stderr, "postern: warning: %s\n", p)
	}
	if len(problems) > 0 {
		return fmt.Errorf("%d problem(s) found", len(problems))
	}
	fmt.Fprintf(a.stdout, "postern: %s: no problems found\n", a.cfgPath)
	return nil
}

// octalMode is a mode as chmod writes it, the sticky bit included.
func octalMode(m os.FileMode) uint32 {
	v := uint32(m.Perm())
	if m&os.ModeSticky != 0 {
		v |= 0o1000
	}
	return v
}

// checkDKIMKeys warns about DKIM signing keys that smtpd could not load
// (it would not start) or that every user may read; each file once.
func checkDKIMKeys(warn func(string, ...any), service string, list []string, seen map[string]bool) {
	entries, _ := config.ParseDKIMSigningKeys(list) // checked when the file loaded
	for _, e := range entries {
		if seen[e.File] {
			continue
		}
		seen[e.File] = true
		if _, err := dkim.LoadKeys([]dkim.KeySpec{{Domain: e.Domain, Selector: e.Selector, File: e.File}}); err != nil {
			warn("service %s: %v", service, err)
			continue
		}
		checkSecret(warn, e.File)
	}
}

// checkSecret warns about a secret (a private key, password hashes) that
// every local user may read.
func checkSecret(warn func(string, ...any), path string) {
	if st, err := os.Stat(path); err == nil && st.Mode().Perm()&0o004 != 0 {
		warn("%s is readable by every user (mode %o); make it 0600, or 0640 to the group that must read it", path, st.Mode().Perm())
	}
}

// checkPasswords reads the smtp agent's credentials file as the agent
// would, and warns when it has errors (the agent then does not use
// it), when every user may read it, or, as root, when mail_owner, as
// whom the agent reads it, cannot.
func checkPasswords(warn func(string, ...any), path string, owner *daemon.User) {
	_, errs := sasl.LoadPasswords(path)
	for _, e := range errs {
		warn("smtp_sasl_password_maps: %v", e)
	}
	checkSecret(warn, path)
	st, err := os.Stat(path)
	if err != nil || owner == nil {
		return
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return
	}
	m := st.Mode().Perm()
	if !(int(sys.Uid) == owner.UID && m&0o400 != 0 || int(sys.Gid) == owner.GID && m&0o040 != 0 || m&0o004 != 0) {
		warn("%s cannot be read by %s, as whom smtp reads it (owner uid %d, gid %d, mode %o); make it 0600 owned by %s, or 0640 to its group",
			path, owner.Name, sys.Uid, sys.Gid, m, owner.Name)
	}
}

// checkPostmaster warns when mail to the postmaster, double bounces among
// it, would not stay on this host or would find nobody to read it.
func checkPostmaster(warn func(string, ...any), p *config.Params) {
	addr := "postmaster@" + p.MyHostname
	local := false
	for _, d := range p.MyDestination {
		local = local || strings.EqualFold(d, p.MyHostname)
	}
	if !local {
		warn("myhostname %s is not in mydestination: mail to %s, double bounces among it, leaves this host", p.MyHostname, addr)
		return
	}
	dir := recipient.New(p, maillog.Discard(), time.Now)
	if m, err := dir.Lookup(addr); err == nil && m.Kind == recipient.Unknown {
		warn("%s reaches nobody: add \"postmaster: someone\" to the aliases file", addr)
	}
}

func commandPath(cmd, dir string) string {
	if filepath.IsAbs(cmd) {
		return cmd
	}
	return filepath.Join(dir, cmd)
}
