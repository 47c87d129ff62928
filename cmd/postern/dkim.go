package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"postern.dev/postern/libmail/config"
	"postern.dev/postern/libmail/daemon"
	"postern.dev/postern/libmail/dkim"
)

const dkimSynopsis = "keygen DOMAIN SELECTOR [-t rsa|ed25519] [-d DIR] [-f]"

const dkimHelp = `Make a DKIM signing key for DOMAIN under SELECTOR and print the TXT
record to publish as SELECTOR._domainkey.DOMAIN (a zone-file line, with
comments that say where the key went and the dkim_signing_keys entry
that signs with it). -t picks RSA (2048 bits, the default) or Ed25519
(RFC 8463); publish both, under two selectors, and mail is signed with
both. The key is written as DIR/DOMAIN.SELECTOR.key (PEM, PKCS#8),
mode 0600, owned by the daemon that signs: mail_owner when root runs
the command, else the user who does.`

// cmdDKIM dispatches "postern dkim SUBCOMMAND".
func cmdDKIM(a *app, args []string) error {
	return a.subcommands("dkim", dkimSynopsis, dkimHelp, args, map[string]func(*app, []string) error{"keygen": dkimKeygen})
}

// dkimKeygen writes a new key and prints its record. It does not touch
// the configuration: publishing the record comes first, or receivers
// would see signatures they cannot check.
func dkimKeygen(a *app, args []string) error {
	fs := a.flags("dkim keygen", "DOMAIN SELECTOR [-t rsa|ed25519] [-d DIR] [-f]", dkimHelp)
	typ := fs.String("t", "rsa", "key `type`: rsa (2048 bits) or ed25519")
	dir := fs.String("d", "", "write the key into `DIR` (default: dkim/ beside the configuration file)")
	force := fs.Bool("f", false, "replace an existing key file")
	pos, err := a.parse(fs, args, 2)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return usageError("DOMAIN and SELECTOR expected")
	}
	if *typ != "rsa" && *typ != "ed25519" {
		return usageError(fmt.Sprintf("key type %q: want rsa or ed25519", *typ))
	}
	if *dir == "" {
		*dir = filepath.Join(filepath.Dir(a.cfgPath), "dkim")
	}
	d, err := filepath.Abs(*dir)
	if err != nil {
		return err
	}
	// The names are checked as the configuration will check them.
	keys, err := config.ParseDKIMSigningKeys([]string{pos[0] + " " + pos[1] + " /"})
	if err != nil {
		return usageError(err.Error())
	}
	domain, err := dkim.Domain(keys[0].Domain)
	if err != nil {
		return usageError(err.Error())
	}
	selector := keys[0].Selector
	file := filepath.Join(d, domain+"."+selector+".key")
	entry := domain + " " + selector + " " + file
	if _, err := os.Stat(file); err == nil && !*force {
		return fmt.Errorf("%s exists; a new key needs a new selector (or -f to replace it)", file)
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	key, err := dkim.Generate(*typ)
	if err != nil {
		return err
	}
	pemBytes, err := dkim.MarshalPrivateKey(key)
	if err != nil {
		return err
	}
	record, err := dkim.Record(key.Public())
	if err != nil {
		return err
	}
	if err := os.MkdirAll(d, 0o755); err != nil {
		return err
	}
	owner, err := a.signer()
	if err != nil {
		return err
	}
	if err := writePrivate(file, pemBytes, owner); err != nil {
		return err
	}
	size := "Ed25519"
	if *typ == "rsa" {
		size = fmt.Sprintf("RSA %d-bit", dkim.RSABits)
	}
	fmt.Fprintf(a.stdout, "; %s DKIM key of %s, selector %s, written to %s\n", size, domain, selector, file)
	fmt.Fprintf(a.stdout, "; publish this record in the DNS zone of %s:\n", domain)
	fmt.Fprintln(a.stdout, dkim.ZoneLine(selector, domain, record))
	fmt.Fprintf(a.stdout, "; then sign with it: add %q to dkim_signing_keys and run postern reload\n", entry)
	return nil
}

// signer is the user the key file goes to: nil (the user who runs the
// command, as whom an unprivileged sandbox's daemons run) unless root
// runs it, when it is mail_owner, as whom smtpd signs. A configuration
// that does not load yet still names the default owner: keys are often
// made before the file is finished.
func (a *app) signer() (*daemon.User, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	name := config.Default(config.Options{}).Params.MailOwner
	if cfg, err := config.Load(a.cfgPath, config.Options{}); err == nil {
		name = cfg.Params.MailOwner
	}
	u, err := daemon.LookupUser(name)
	if err != nil {
		return nil, fmt.Errorf("mail_owner: %w", err)
	}
	return u, nil
}
