package dkim

import (
	"bufio"
	"crypto"
	"errors"
	"fmt"
	"io"
	"strings"

	msgauth "github.com/emersion/go-msgauth/dkim"
)

// streamBuffer is how much of the stream a Signer or Verifier gathers
// before handing it to go-msgauth, whose signers and verifiers each read
// it in a goroutine of their own through a pipe: intake passes the body
// on line by line, and a goroutine switch per line would cost more than
// the hashing. It bounds what is held; the body as a whole never is.
const streamBuffer = 8 << 10

// Signer signs one message as intake takes it in: it sees the header
// fields and the body once, as they stream to the queue (it is an
// intake.Tap), and computes a DKIM-Signature (RFC 6376 §5) for every key
// of the From: domain, so no second read of the spooled message is
// needed. Signatures are rsa-sha256 or ed25519-sha256 (RFC 8463) by the
// key's type, relaxed/relaxed (RFC 6376 §3.4.2, §3.4.4: they survive the
// refolding and whitespace changes of relays), over the header fields of
// headerKeys, From: oversigned.
//
// The header is held until its end, since the domain and the list of
// signed fields are known only then (the header is bounded by
// header_size_limit); the body is hashed as it passes by, in go-msgauth's
// signers (github.com/emersion/go-msgauth/dkim), which hash their input
// incrementally and never hold the body.
//
// One of End or Abort must be called: each go-msgauth signer runs a
// goroutine until then.
type Signer struct {
	keys    *Keys
	header  [][]byte // copies of the fields, until HeaderEnd
	used    []*Key
	signers []*msgauth.Signer
	w       *bufio.Writer // in front of the signers
	closed  bool
	err     error
	fields  string
}

// NewSigner returns a Signer for one message with keys.
func NewSigner(keys *Keys) *Signer { return &Signer{keys: keys} }

// Header implements intake.Tap.
func (s *Signer) Header(field []byte) {
	s.header = append(s.header, append([]byte(nil), field...))
}

// HeaderEnd implements intake.Tap: the From: domain and the fields to
// sign are known, and the signing starts with the header held so far.
func (s *Signer) HeaderEnd() {
	header := s.header
	s.header = nil
	hkeys := headerKeys(header)
	for _, d := range authorDomains(header) {
		for _, k := range s.keys.For(d) {
			sg, err := msgauth.NewSigner(&msgauth.SignOptions{
				Domain: k.Domain, Selector: k.Selector, Signer: k.Signer, Hash: crypto.SHA256,
				HeaderCanonicalization: msgauth.CanonicalizationRelaxed, BodyCanonicalization: msgauth.CanonicalizationRelaxed,
				HeaderKeys: hkeys,
			})
			if err != nil {
				s.fail(fmt.Errorf("dkim: key %s: %w", k.File, err))
				s.Abort()
				return
			}
			s.signers = append(s.signers, sg)
			s.used = append(s.used, k)
		}
	}
	if len(s.signers) == 0 {
		return
	}
	ws := make([]io.Writer, len(s.signers))
	for i, sg := range s.signers {
		ws[i] = sg
	}
	s.w = bufio.NewWriterSize(io.MultiWriter(ws...), streamBuffer)
	for _, f := range header {
		s.write(f)
		if len(f) < 2 || f[len(f)-2] != '\r' || f[len(f)-1] != '\n' {
			s.write(crlf) // a last field the message ended in
		}
	}
	s.write(crlf)
}

// Body implements intake.Tap.
func (s *Signer) Body(p []byte) { s.write(p) }

// End implements intake.Tap: the signatures are made.
func (s *Signer) End() {
	if s.w == nil || s.closed {
		return
	}
	if err := s.w.Flush(); err != nil {
		s.fail(fmt.Errorf("dkim: %w", err))
	}
	s.closed = true
	var b strings.Builder
	for i, sg := range s.signers {
		if err := sg.Close(); err != nil {
			s.fail(fmt.Errorf("dkim: signing with %s: %w", s.used[i].File, err))
			continue
		}
		if s.err == nil {
			b.WriteString(sg.Signature())
		}
	}
	if s.err == nil {
		s.fields = b.String()
	}
}

// Abort ends the signing of a message that will not be stored.
func (s *Signer) Abort() {
	if s.closed {
		return
	}
	s.closed = true
	s.fail(errAborted)
	for _, sg := range s.signers {
		sg.Close()
	}
}

var errAborted = errors.New("dkim: message aborted")

// Fields returns the DKIM-Signature fields to put on top of the message,
// each ending in CRLF, after End: "" if its From: domain has no key (or
// it has no From:). An error means signing failed and the message must
// not leave as if it had been signed.
func (s *Signer) Fields() (string, error) {
	if s.err != nil {
		return "", s.err
	}
	return s.fields, nil
}

// Keys returns the keys that signed the message, after End, for the log.
func (s *Signer) Keys() []*Key {
	if s.err != nil || s.fields == "" {
		return nil
	}
	return s.used
}

func (s *Signer) write(p []byte) {
	if s.w == nil || s.err != nil || s.closed {
		return
	}
	if _, err := s.w.Write(p); err != nil {
		s.fail(fmt.Errorf("dkim: %w", err))
	}
}

func (s *Signer) fail(err error) {
	if s.err == nil {
		s.err = err
	}
}

var crlf = []byte("\r\n")
