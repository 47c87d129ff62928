package handoff

import (
	"strings"
	"testing"
)

func TestRequestValidate(t *testing.T) {
	good := func() Request {
		return Request{Type: RequestType, Protocol: IMAP, Mechanism: "PLAIN", User: "demo@example.test", Password: "pw",
			Tag: "a1", Client: "127.0.0.1:4000", Local: "127.0.0.1:143", TLS: true}
	}
	r := good()
	if err := r.Validate(); err != nil {
		t.Fatalf("good request: %v", err)
	}
	for name, change := range map[string]func(*Request){
		"type":        func(r *Request) { r.Type = ReplyType },
		"protocol":    func(r *Request) { r.Protocol = "smtp" },
		"mechanism":   func(r *Request) { r.Mechanism = "CRAM-MD5" },
		"user CR":     func(r *Request) { r.User = "a\rb" },
		"user long":   func(r *Request) { r.User = strings.Repeat("a", MaxUser+1) },
		"password":    func(r *Request) { r.Password = strings.Repeat("p", MaxPassword+1) },
		"imap no tag": func(r *Request) { r.Tag = "" },
		"client":      func(r *Request) { r.Client = "127.0.0.1" },
		"buffered":    func(r *Request) { r.Buffered = make([]byte, MaxBuffered+1) },
	} {
		r := good()
		change(&r)
		if err := r.Validate(); err == nil {
			t.Errorf("%s: validated %+v", name, r)
		}
	}
	r = good()
	r.Protocol, r.Tag, r.Mechanism = POP3, "", "USER"
	if err := r.Validate(); err != nil {
		t.Errorf("POP3 without a tag: %v", err)
	}
}
