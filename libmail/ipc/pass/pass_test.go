package pass

import "testing"

func TestRequestValidate(t *testing.T) {
	good := func() Request {
		return Request{Type: RequestType, Client: "192.0.2.1:4000", Local: "127.0.0.1:25", Verdict: PassNew}
	}
	r := good()
	if err := r.Validate(); err != nil {
		t.Fatalf("good request: %v", err)
	}
	for name, change := range map[string]func(*Request){
		"type":     func(r *Request) { r.Type = "login-session-reply" },
		"verdict":  func(r *Request) { r.Verdict = "FAIL" },
		"client":   func(r *Request) { r.Client = "192.0.2.1" },
		"local":    func(r *Request) { r.Local = "" },
		"no port":  func(r *Request) { r.Client = "[::1]" },
		"hostname": func(r *Request) { r.Client = "mx.example:25" },
	} {
		r := good()
		change(&r)
		if err := r.Validate(); err == nil {
			t.Errorf("%s: validated %+v", name, r)
		}
	}
}
