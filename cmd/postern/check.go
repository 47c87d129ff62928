package main

import (
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"postern.dev/postern/libmail/account"
	"postern.dev/postern/libmail/alias"
	"postern.dev/postern/libmail/daemon"
	"postern.dev/postern/libmail/queue"
)

// cmdCheck is postfix check: the configuration loads (main did that), the
// users exist, the files it names can be read, the spool has the right
// owners and modes. Problems are listed; any makes the exit status 1.
func cmdCheck(a *app, args []string) error {
	c := a.cfg
	var problems []string
	warn := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	root := os.Geteuid() == 0
	owner := -1
	if root {
		for _, name := range []string{c.MailOwner, c.VmailUser, c.DefaultPrivs} {
			u, err := daemon.LookupUser(name)
			if err != nil {
				warn("%v", err)
			} else if name == c.MailOwner {
				owner = u.UID
			}
		}
	}
	for _, s := range c.Services {
		if !s.Enabled {
			continue
		}
		p := commandPath(s.Command, c.DaemonDirectory)
		if st, err := os.Stat(p); err != nil || st.Mode()&0o111 == 0 {
			warn("service %s: program %s is missing or not executable", s.Name, p)
		}
		if s.Params.SMTPDTLSCertFile != "" {
			if _, err := tls.LoadX509KeyPair(s.Params.SMTPDTLSCertFile, s.Params.SMTPDTLSKeyFile); err != nil {
				warn("service %s: TLS certificate: %v", s.Name, err)
			}
		}
	}
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
	for _, d := range queue.Layout {
		p := filepath.Join(c.QueueDirectory, d.Name)
		st, err := os.Stat(p)
		if err != nil {
			continue // the master creates what is missing
		}
		if st.Mode().Perm() != d.Mode.Perm() {
			warn("%s has mode %o, want %o (the master fixes it at start)", p, st.Mode().Perm(), d.Mode.Perm())
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

func commandPath(cmd, dir string) string {
	if filepath.IsAbs(cmd) {
		return cmd
	}
	return filepath.Join(dir, cmd)
}
