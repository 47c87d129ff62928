package testkit

import (
	"bytes"
	"encoding/json"
	"testing"

	"postern.dev/postern/libmail/ipc"
)

// RoundTrip checks that v, decoded from an IPC frame, encodes and
// decodes again to the same thing, and returns the second decoding. The
// fuzz targets of every IPC protocol use it: a message that means one
// thing on the way in and another on the way back is a parser bug.
func RoundTrip[T any](t *testing.T, v *T) *T {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("decoded frame %+v does not encode: %v", v, err)
	}
	var v2 T
	if err := ipc.Decode(b, &v2); err != nil {
		t.Fatalf("re-encoded frame %q does not decode: %v", b, err)
	}
	if b2, _ := json.Marshal(&v2); !bytes.Equal(b, b2) {
		t.Fatalf("frame changed on the way back: %q became %q", b, b2)
	}
	return &v2
}

// validator is a pointer to an IPC message that checks itself.
type validator[T any] interface {
	*T
	Validate() error
}

// DecodeValid decodes data as a T the way a daemon reads a frame
// (ipc.Decode, then Validate) and returns it only if it validates, nil
// otherwise. On the way it fails t when the frame does not survive
// RoundTrip, or validates on one side of the round trip and not on the
// other.
func DecodeValid[T any, P validator[T]](t *testing.T, data []byte) P {
	t.Helper()
	var v T
	if err := ipc.Decode(data, &v); err != nil {
		return nil
	}
	verr := P(&v).Validate()
	if verr2 := P(RoundTrip(t, &v)).Validate(); (verr == nil) != (verr2 == nil) {
		t.Fatalf("Validate %v before the round trip, %v after", verr, verr2)
	}
	if verr != nil {
		return nil
	}
	return &v
}

// Validated decodes data as an IPC frame of type T, as a receiver does
// (ipc.Decode, then Validate), and checks that what decodes survives a
// round trip (RoundTrip) with the same verdict from Validate. ok is false
// when data does not decode; verr is Validate's verdict. Fuzz targets of
// frames with a Validate method start with it.
func Validated[T any, P interface {
	*T
	Validate() error
}](t *testing.T, data []byte) (v *T, verr error, ok bool) {
	t.Helper()
	v = new(T)
	if err := ipc.Decode(data, v); err != nil {
		return nil, nil, false
	}
	verr = P(v).Validate()
	if verr2 := P(RoundTrip(t, v)).Validate(); (verr == nil) != (verr2 == nil) {
		t.Fatalf("Validate %v before the round trip, %v after", verr, verr2)
	}
	return v, verr, true
}
