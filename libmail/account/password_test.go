package account

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// Vectors made by other implementations. The argon2id ones come from the
// reference C implementation (libargon2's argon2id_hash_encoded), the bcrypt
// ones from libxcrypt's crypt(3), so they check compatibility and not only
// agreement with the library this package uses.
var foreignVectors = []struct {
	name, field, password string
}{
	{"libargon2 OWASP settings", "{ARGON2ID}$argon2id$v=19$m=19456,t=2,p=1$cG9zdGVybi1zYWx0LTAxNg$cEOYAgkpiMrC6T39L7G5mQoH9sWqv6FVCkypybv3Ttk", "correct horse battery staple"},
	{"libargon2 four lanes", "{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHRzYWx0c2FsdA$pPTP3jRT/pIWWzxcv3EAVcpUi/BYRV15jdAXhnnzTak", "hunter2"},
	{"libxcrypt $2y$", "{BLF-CRYPT}$2y$06$0123456789abcdefghijkeu4287bni1kIKEr9s2LpQlOLdJcoiLV.", "s3cret pass"},
	{"libxcrypt $2b$", "{BLF-CRYPT}$2b$04$ABCDEFGHIJKLMNOPQRSTUO3u1qT0zJtu7kiwEZ9DoDx8UjbUTGwF.", "s3cret pass"},
	{"libxcrypt $2a$", "{BCRYPT}$2a$05$abcdefghijklmnopqrstuu1qdcFaS0PtqFUPzaCxLQ8/0lspH0ZEW", "s3cret pass"},
	// bcrypt uses only the first 72 bytes of a password; libxcrypt gave
	// this hash for 72 and for 80 'x's alike.
	{"libxcrypt 80 bytes", "{BLF-CRYPT}$2b$04$abcdefghijklmnopqrstuubzadhGtS2zEF.gu0yd0opP6cVzb.e0i", strings.Repeat("x", 80)},
}

func TestVerifyForeignVectors(t *testing.T) {
	for _, v := range foreignVectors {
		t.Run(v.name, func(t *testing.T) {
			p, err := parsePassword(v.field)
			if err != nil {
				t.Fatal(err)
			}
			if !p.verify(v.password) {
				t.Error("correct password rejected")
			}
			// The change is at the front because bcrypt ignores bytes
			// after the 72nd.
			if p.verify("!" + v.password) {
				t.Error("wrong password accepted")
			}
		})
	}
}

func TestVerify(t *testing.T) {
	// An argon2id string built here straight from golang.org/x/crypto, so
	// that parsing is checked against an encoding this package did not
	// write.
	salt := []byte("0123456789abcdef")
	key := argon2.IDKey([]byte("pa55word"), salt, 1, 64, 1, 32)
	argonField := fmt.Sprintf("{ARGON2ID}$argon2id$v=19$m=64,t=1,p=1$%s$%s",
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
	bc, err := bcrypt.GenerateFromPassword([]byte("pa55word"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	fields := []string{
		argonField,
		"{BLF-CRYPT}" + string(bc),
		"{BCRYPT}" + string(bc),
		"{PLAIN}pa55word",
		"{CLEARTEXT}pa55word",
		"{plain}pa55word",
	}
	for _, field := range fields {
		p, err := parsePassword(field)
		if err != nil {
			t.Errorf("parsePassword(%q): %v", field, err)
			continue
		}
		for pw, want := range map[string]bool{"pa55word": true, "pa55worD": false, "pa55word ": false, "pa55wor": false, "": false} {
			if got := p.verify(pw); got != want {
				t.Errorf("%q: verify(%q) = %v, want %v", field, pw, got, want)
			}
		}
	}
}

func TestParsePasswordErrors(t *testing.T) {
	good := "$argon2id$v=19$m=64,t=1,p=1$MDEyMzQ1Njc4OWFiY2RlZg$c2l4dGVlbiBieXRlcyBrZXk"
	bc := "$2b$04$ABCDEFGHIJKLMNOPQRSTUO3u1qT0zJtu7kiwEZ9DoDx8UjbUTGwF."
	if _, err := parsePassword("{ARGON2ID}" + good); err != nil {
		t.Fatalf("control case: %v", err)
	}
	tests := []struct{ field, want string }{
		{"secret", "password lacks a {SCHEME} prefix"},
		{"{PLAIN", "password scheme lacks its closing brace"},
		{"{SHA512-CRYPT}$6$x$y", `unknown password scheme "{SHA512-CRYPT}"`},
		{"{}x", `unknown password scheme "{}"`},
		{"{ARGON2ID}", "not of the form $argon2id$v=19$m=M,t=T,p=P$salt$hash"},
		{"{ARGON2ID}$argon2i$v=19$m=64,t=1,p=1$MDEyMzQ1Njc4OWFiY2RlZg$c2l4dGVlbiBieXRlcyBrZXk", "not of the form $argon2id$v=19$m=M,t=T,p=P$salt$hash"},
		{"{ARGON2ID}$argon2id$m=64,t=1,p=1$MDEyMzQ1Njc4OWFiY2RlZg$c2l4dGVlbiBieXRlcyBrZXk", "not of the form $argon2id$v=19$m=M,t=T,p=P$salt$hash"},
		{"{ARGON2ID}$argon2id$v=16$m=64,t=1,p=1$MDEyMzQ1Njc4OWFiY2RlZg$c2l4dGVlbiBieXRlcyBrZXk", `unsupported argon2 version "v=16"`},
		{"{ARGON2ID}$argon2id$v=19$t=1,m=64,p=1$MDEyMzQ1Njc4OWFiY2RlZg$c2l4dGVlbiBieXRlcyBrZXk", `argon2 parameter "t=1", want m=N`},
		{"{ARGON2ID}$argon2id$v=19$m=64,t=1$MDEyMzQ1Njc4OWFiY2RlZg$c2l4dGVlbiBieXRlcyBrZXk", "argon2 parameters are not m=M,t=T,p=P"},
		{"{ARGON2ID}$argon2id$v=19$m=-64,t=1,p=1$MDEyMzQ1Njc4OWFiY2RlZg$c2l4dGVlbiBieXRlcyBrZXk", `argon2 parameter "m=-64": strconv.ParseUint: parsing "-64": invalid syntax`},
		{"{ARGON2ID}$argon2id$v=19$m=64,t=0,p=1$MDEyMzQ1Njc4OWFiY2RlZg$c2l4dGVlbiBieXRlcyBrZXk", "argon2 iterations must be at least 1"},
		{"{ARGON2ID}$argon2id$v=19$m=64,t=1,p=0$MDEyMzQ1Njc4OWFiY2RlZg$c2l4dGVlbiBieXRlcyBrZXk", "argon2 parallelism 0 not in 1..255"},
		{"{ARGON2ID}$argon2id$v=19$m=9000,t=1,p=256$MDEyMzQ1Njc4OWFiY2RlZg$c2l4dGVlbiBieXRlcyBrZXk", "argon2 parallelism 256 not in 1..255"},
		{"{ARGON2ID}$argon2id$v=19$m=15,t=1,p=2$MDEyMzQ1Njc4OWFiY2RlZg$c2l4dGVlbiBieXRlcyBrZXk", "argon2 memory 15 KiB below 8 KiB per lane"},
		{"{ARGON2ID}$argon2id$v=19$m=4294967295,t=1,p=1$MDEyMzQ1Njc4OWFiY2RlZg$c2l4dGVlbiBieXRlcyBrZXk", "argon2 memory 4294967295 KiB above the limit of 4194304 KiB"},
		{"{ARGON2ID}$argon2id$v=19$m=64,t=1,p=1$MDEyMzQ1Ng$c2l4dGVlbiBieXRlcyBrZXk", "argon2 salt shorter than 8 bytes"},
		{"{ARGON2ID}$argon2id$v=19$m=64,t=1,p=1$MDEy*zQ1Njc4OWFiY2RlZg$c2l4dGVlbiBieXRlcyBrZXk", "argon2 salt: decode base64: illegal base64 data at input byte 4"},
		{"{ARGON2ID}$argon2id$v=19$m=64,t=1,p=1$MDEyMzQ1Njc4OWFiY2RlZg$c2l4", "argon2 hash shorter than 4 bytes"},
		{"{ARGON2ID}$argon2id$v=19$m=64,t=1,p=1$MDEyMzQ1Njc4OWFiY2RlZh$c2l4dGVlbiBieXRlcyBrZXk", "argon2 salt: decode base64: illegal base64 data at input byte 20"},
		{"{BLF-CRYPT}" + bc[:59], "bcrypt hash is not 60 characters long"},
		{"{BLF-CRYPT}$2x$" + bc[4:], `unsupported bcrypt prefix "$2x$"`},
		{"{BLF-CRYPT}$2b$4$$" + bc[7:], "bcrypt cost is not two digits"},
		{"{BLF-CRYPT}" + bc[:20] + "_" + bc[21:], "bcrypt hash holds a character outside its alphabet"},
		{"{BLF-CRYPT}$2b$03$" + bc[7:], "bcrypt: crypto/bcrypt: cost 3 is outside allowed inclusive range 4..31"},
		{"{BLF-CRYPT}$2b$x4$" + bc[7:], "bcrypt cost is not two digits"},
	}
	for _, tt := range tests {
		_, err := parsePassword(tt.field)
		if err == nil {
			t.Errorf("parsePassword(%q) succeeded, want %q", tt.field, tt.want)
		} else if err.Error() != tt.want {
			t.Errorf("parsePassword(%q) = %q, want %q", tt.field, err, tt.want)
		}
	}
}

func TestPaddedBase64Accepted(t *testing.T) {
	p, err := parsePassword("{ARGON2ID}$argon2id$v=19$m=19456,t=2,p=1$cG9zdGVybi1zYWx0LTAxNg==$cEOYAgkpiMrC6T39L7G5mQoH9sWqv6FVCkypybv3Ttk=")
	if err != nil {
		t.Fatal(err)
	}
	if !p.verify("correct horse battery staple") {
		t.Error("correct password rejected")
	}
}

func TestHash(t *testing.T) {
	field, err := Hash("open sesame")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(field, "{ARGON2ID}$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("Hash = %q, want OWASP parameters", field)
	}
	p, err := parsePassword(field)
	if err != nil {
		t.Fatalf("parsePassword(Hash): %v", err)
	}
	if len(p.argon2.salt) != 16 || len(p.argon2.key) != 32 {
		t.Errorf("salt %d bytes, key %d bytes; want 16 and 32", len(p.argon2.salt), len(p.argon2.key))
	}
	// Check the key independently of this package's own derive.
	want := argon2.IDKey([]byte("open sesame"), p.argon2.salt, 2, 19456, 1, 32)
	if string(want) != string(p.argon2.key) {
		t.Error("Hash's key differs from argon2.IDKey's")
	}
	if !p.verify("open sesame") || p.verify("open sesame!") {
		t.Error("verify of Hash's output is wrong")
	}
	other, err := Hash("open sesame")
	if err != nil {
		t.Fatal(err)
	}
	if other == field {
		t.Error("two hashes of one password are equal; the salt is not random")
	}
}

func TestDummyHashParses(t *testing.T) {
	h, err := parseArgon2(dummyHash)
	if err != nil {
		t.Fatal(err)
	}
	if h.memory != hashMemory || h.time != hashTime || h.threads != hashThreads || len(h.key) != hashKeyLen {
		t.Error("dummyHash does not use Hash's settings, so it does not cost the same")
	}
}
