package mailbox

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// subscriptionsFile holds the subscribed names, one a line, as Courier
// and Dovecot's Maildir++ keep them.
const subscriptionsFile = "subscriptions"

func (s *Maildir) subscriptions() ([]string, error) {
	data, err := os.ReadFile(filepath.Join(s.root, subscriptionsFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read subscriptions: %w", err)
	}
	var out []string
	for _, l := range strings.Split(string(data), "\n") {
		// Dovecot 2.3 writes a "V\t2" header and tab-separated fields.
		if l == "" || strings.HasPrefix(l, "V\t") {
			continue
		}
		out = append(out, strings.ReplaceAll(l, "\t", "/"))
	}
	return out, nil
}

// Subscriptions implements Store.
func (s *Maildir) Subscriptions(ctx context.Context) ([]string, error) { return s.subscriptions() }

// Subscribe implements Store.
func (s *Maildir) Subscribe(ctx context.Context, name string, on bool) error {
	if err := checkName(name); err != nil {
		return err
	}
	if isInbox(name) {
		name = Inbox
	}
	subs, err := s.subscriptions()
	if err != nil {
		return err
	}
	has := slices.Contains(subs, name)
	switch {
	case on && !has:
		subs = append(subs, name)
	case !on && has:
		subs = slices.DeleteFunc(subs, func(n string) bool { return n == name })
	default:
		return nil
	}
	tmp := filepath.Join(s.root, subscriptionsFile+".tmp")
	data := strings.Join(subs, "\n") + "\n"
	if len(subs) == 0 {
		data = ""
	}
	if err := os.WriteFile(tmp, []byte(data), 0o600); err != nil {
		return fmt.Errorf("subscribe: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(s.root, subscriptionsFile)); err != nil {
		return fmt.Errorf("subscribe: %w", err)
	}
	return nil
}
