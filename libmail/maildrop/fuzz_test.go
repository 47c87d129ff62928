package maildrop

import (
	"bufio"
	"bytes"
	"io"
	"reflect"
	"testing"
)

// FuzzReadEnvelope feeds ReadEnvelope what a hostile user could put in
// maildrop/: it must never panic, never accept what it could not write
// back, and what it accepts must survive a round trip.
func FuzzReadEnvelope(f *testing.F) {
	f.Add([]byte(Magic + "\nsender \"alice@example.org\"\nrcpt \"bob\"\n\nSubject: x\n\nhi\n"))
	f.Add([]byte(Magic + "\nfullname \"A\"\nenvid \"e\"\nret \"FULL\"\nbody \"7BIT\"\nrcpt \"a@b\" \"NEVER\"\nrcpt \"c\"\n\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := ReadEnvelope(bufio.NewReaderSize(bytes.NewReader(data), 16))
		if err != nil {
			return
		}
		var b bytes.Buffer
		if err := WriteEnvelope(&b, e); err != nil {
			t.Fatalf("accepted %+v but cannot write it: %v", e, err)
		}
		again, err := ReadEnvelope(bufio.NewReader(io.MultiReader(&b)))
		if err != nil {
			t.Fatalf("cannot read back %+v: %v", e, err)
		}
		if !reflect.DeepEqual(again, e) {
			t.Fatalf("round trip changed %+v to %+v", e, again)
		}
	})
}
