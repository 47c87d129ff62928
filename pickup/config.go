package pickup

import (
	"os"
	"path/filepath"
	"time"

	"postern.dev/postern/libmail/config"
	"postern.dev/postern/libmail/dkim"
	"postern.dev/postern/libmail/intake"
	"postern.dev/postern/libmail/maildrop"
)

// Config is what pickup needs from the parameters.
type Config struct {
	Maildrop  string          // queue_directory/maildrop
	Corrupt   string          // queue_directory/corrupt
	Origin    string          // myorigin: the domain of unqualified addresses
	Trusted   map[string]bool // sendmail_trusted_users
	SelfUID   int             // the user pickup runs as, always trusted
	SizeLimit int64           // message_size_limit
	Interval  time.Duration   // pickup_scan_interval
	Intake    intake.Config
}

// NewConfig converts parameters, reading the DKIM keys.
func NewConfig(p *config.Params) (*Config, error) {
	keys, err := dkim.LoadConfigured(p.DKIMSigningKeys)
	if err != nil {
		return nil, err
	}
	c := &Config{
		Maildrop: filepath.Join(p.QueueDirectory, maildrop.Dir), Corrupt: filepath.Join(p.QueueDirectory, "corrupt"),
		Origin: p.MyOrigin, Trusted: map[string]bool{}, SelfUID: os.Geteuid(),
		SizeLimit: p.MessageSizeLimit, Interval: p.PickupScanInterval.D(),
		Intake: intake.Config{Hostname: p.MyHostname, MailName: p.MailName, SizeLimit: p.MessageSizeLimit,
			HeaderLimit: p.HeaderSizeLimit, DKIM: keys},
	}
	for _, u := range p.SendmailTrustedUsers {
		c.Trusted[u] = true
	}
	if c.Interval <= 0 {
		c.Interval = time.Minute
	}
	return c, nil
}
