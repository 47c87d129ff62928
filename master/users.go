package master

import (
	"fmt"
	"os"

	"postern.dev/postern/libmail/config"
	"postern.dev/postern/libmail/daemon"
)

// identity is who the master is and as whom it starts daemons.
type identity struct {
	root  bool
	owner *daemon.User // mail_owner, or the invoking user when not root
	vmail *daemon.User // vmail_user, or the invoking user when not root
}

// resolveIdentity looks up the users the configuration names. Without
// root everything runs as the invoking user, whatever the file says, so
// that development and tests exercise the same code.
func resolveIdentity(p *config.Params) (*identity, error) {
	if os.Geteuid() != 0 {
		me, err := daemon.Current()
		if err != nil {
			return nil, err
		}
		return &identity{owner: me, vmail: me}, nil
	}
	owner, err := daemon.LookupUser(p.MailOwner)
	if err != nil {
		return nil, fmt.Errorf("mail_owner: %w (create it, e.g. adduser --system --group %s)", err, p.MailOwner)
	}
	vmail, err := daemon.LookupUser(p.VmailUser)
	if err != nil {
		return nil, fmt.Errorf("vmail_user: %w (create it, e.g. adduser --system --group %s)", err, p.VmailUser)
	}
	if owner.UID == 0 || vmail.UID == 0 {
		return nil, fmt.Errorf("mail_owner and vmail_user must not have uid 0")
	}
	return &identity{root: true, owner: owner, vmail: vmail}, nil
}

// userFor returns the user a service runs as.
func (id *identity) userFor(s *config.Service) (*daemon.User, error) {
	if !id.root || s.User == "" || s.User == s.Params.MailOwner {
		return id.owner, nil
	}
	u, err := daemon.LookupUser(s.User)
	if err != nil {
		return nil, fmt.Errorf("service %s: %w", s.Name, err)
	}
	if u.UID == 0 {
		return nil, fmt.Errorf("service %s: refusing to run a daemon as root", s.Name)
	}
	return u, nil
}
