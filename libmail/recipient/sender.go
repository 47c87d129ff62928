package recipient

import (
	"slices"
	"strings"

	"postern.dev/postern/libmail/address"
	"postern.dev/postern/libmail/alias"
)

// Bounds on the alias expansion OwnsSender walks: local's depth limit
// (deeper is a loop the seen-set missed), and a number of addresses past
// which a list is too large to be anyone's own address.
const (
	maxOwnerDepth = 20
	maxOwnerAddrs = 1000
)

// OwnsSender reports whether the account login (an authenticated SASL
// user: an account address) may use addr as its sender, in MAIL FROM and
// in From:. The account owns:
//
//   - its own address, with any address extension (demo+lists@ is
//     demo's);
//   - an address of a local domain whose alias expansion reaches the
//     account, through aliases of aliases and address extensions, as local
//     would deliver it: a list's members may send as the list, as
//     Postfix's usual smtpd_sender_login_maps = $virtual_alias_maps lets
//     them. :include: files, commands and files are not followed;
//   - what the sender login maps give it: the first entry for the
//     address, else for the address without its extension, else for its
//     @domain (Postfix's lookup order), in the maps' order.
//
// An error means a file that says who owns what cannot be read: the
// caller answers with a temporary failure.
func (d *Directory) OwnsSender(login, addr string) (bool, error) {
	login, addr = strings.ToLower(login), strings.ToLower(addr)
	local, domain := address.Split(addr)
	base, _ := address.StripExtension(local, d.delim)
	if addr == login || base+"@"+domain == login {
		return true, nil
	}
	if ok, err := d.loginMapOwns(login, addr, base+"@"+domain, domain); ok || err != nil {
		return ok, err
	}
	if !d.IsLocal(domain) {
		return false, nil
	}
	seen := map[string]bool{}
	return d.aliasReaches(login, addr, 0, seen)
}

// loginMapOwns looks the address up in the sender login maps.
func (d *Directory) loginMapOwns(login, addr, baseAddr, domain string) (bool, error) {
	d.refresh()
	d.mu.Lock()
	maps := d.logins
	d.mu.Unlock()
	if len(maps) == 0 {
		return false, nil
	}
	keys := []string{addr}
	if baseAddr != addr {
		keys = append(keys, baseAddr)
	}
	keys = append(keys, "@"+domain)
	for _, key := range keys {
		for _, m := range maps {
			if m.err != nil {
				return false, m.err
			}
			if logins, ok := m.val.Lookup(key); ok {
				return slices.Contains(logins, login), nil
			}
		}
	}
	return false, nil
}

// aliasReaches reports whether addr, an address of a local domain,
// resolves to the account login, following aliases as local expands
// them (local/expand.go): a target without a domain takes the domain of
// the address that named it.
func (d *Directory) aliasReaches(login, addr string, depth int, seen map[string]bool) (bool, error) {
	if depth > maxOwnerDepth || len(seen) >= maxOwnerAddrs || seen[addr] {
		return false, nil
	}
	seen[addr] = true
	m, err := d.Lookup(addr)
	if err != nil {
		return false, err
	}
	switch m.Kind {
	case Account:
		return m.Account.Address == login, nil
	case Alias:
		_, domain := address.Split(addr)
		for _, t := range m.Targets {
			if t.Kind != alias.Address {
				continue
			}
			dest := t.Value
			if !strings.Contains(dest, "@") {
				dest += "@" + domain
			}
			dest = strings.ToLower(dest)
			if dest == login {
				return true, nil
			}
			if _, dd := address.Split(dest); !d.IsLocal(dd) {
				continue
			}
			if ok, err := d.aliasReaches(login, dest, depth+1, seen); ok || err != nil {
				return ok, err
			}
		}
	}
	return false, nil
}
