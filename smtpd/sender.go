package smtpd

import (
	"bytes"
	"fmt"
	"io"
	"mime"
	"net/mail"

	"postern.dev/postern/libmail/address"
)

// The sender login check (smtpd_sender_login_check): an authenticated
// client may use as MAIL FROM, and in the message's From:, only addresses
// its account owns (recipient.Directory.OwnsSender says which), so that a
// stolen or shared password cannot send in anybody else's name, and
// mail from this server's users is what DMARC-checking receivers expect
// of it. Unauthenticated sessions (port 25) are not checked here: they
// are not the server's users, and SPF and DMARC judge them.
//
// The null sender is allowed: it claims no address, and the From: of a
// bounce a client sends is checked like any other.

// maxFromAddrs bounds the From: addresses checked; a message with more
// is not one person's.
const maxFromAddrs = 100

// checkSender applies the check to addr, an envelope address or one from
// From:; what names it in the refusal, as Postfix's "Sender address
// rejected: not owned by user ..." (reject_sender_login_mismatch).
func (c *conn) checkSender(addr, what string) *Reply {
	if c.authUser == "" || !c.srv.cfg.SenderLoginCheck {
		return nil
	}
	ok, err := c.srv.dir.OwnsSender(c.authUser, addr)
	if err != nil {
		c.srv.log.Warn("%s: sender login check of <%s> for %s: %v", c.client.label(), quoted(addr), c.authUser, err)
		return reply(451, "4.3.0", "<%s>: %s: Temporary lookup failure", quoted(addr), what)
	}
	if !ok {
		return reply(553, "5.7.1", "<%s>: %s: not owned by user %s", quoted(addr), what, c.authUser)
	}
	return nil
}

// checkFrom applies the check to the addresses of the message's From:
// fields, at the end of the message, before it is committed: a refused
// message is not queued.
func (c *conn) checkFrom(t *fromTap) *Reply {
	if t == nil {
		return nil
	}
	if t.err != nil {
		return reply(553, "5.7.1", "From: header not understood (%s): cannot check that user %s owns it", printable(t.err.Error()), c.authUser)
	}
	for _, a := range t.addrs {
		if r := c.checkSender(a, "From: header address rejected"); r != nil {
			return r
		}
	}
	return nil
}

// fromTap collects the addresses of the From: fields (RFC 5322 §3.6.2)
// as intake streams the header by, so that checking them needs no second
// read of the message.
type fromTap struct {
	addrs []string
	err   error // the first From: field that does not parse
}

// parseAddressList reads an address list. An encoded word in a charset
// Go does not know is kept as it is: a display name is not what is
// checked.
func parseAddressList(s string) ([]*mail.Address, error) {
	p := mail.AddressParser{WordDecoder: &mime.WordDecoder{
		CharsetReader: func(_ string, r io.Reader) (io.Reader, error) { return r, nil },
	}}
	return p.ParseList(s)
}

func (t *fromTap) Header(field []byte) {
	name, value, ok := bytes.Cut(field, []byte(":"))
	if !ok || !bytes.EqualFold(bytes.TrimRight(name, " \t"), []byte("From")) || t.err != nil {
		return
	}
	// Unfold (RFC 5322 §2.2.3): the CRLFs go, the white space stays.
	value = bytes.ReplaceAll(value, []byte("\r\n"), nil)
	list, err := parseAddressList(string(value))
	if err != nil {
		t.err = err
		return
	}
	for _, a := range list {
		if len(t.addrs) == maxFromAddrs {
			t.err = fmt.Errorf("more than %d addresses", maxFromAddrs)
			return
		}
		t.addrs = append(t.addrs, address.Canonical(a.Address))
	}
}

func (t *fromTap) HeaderEnd()  {}
func (t *fromTap) Body([]byte) {}
func (t *fromTap) End()        {}
