package wake

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"testing"

	"postern.dev/postern/libmail/ipc"
	"postern.dev/postern/libmail/queue"
)

// FuzzFrame decodes arbitrary bytes as a wake-up frame the way qmgr does
// (ipc.Decode, then Validate). A frame that validates has the wake type
// and only IDs that are safe as file names in a queue directory; any
// frame that decodes encodes and decodes again to the same frame, with
// the same verdict from Validate.
func FuzzFrame(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		var fr Frame
		if err := ipc.Decode(data, &fr); err != nil {
			return
		}
		verr := fr.Validate()

		b, err := json.Marshal(fr)
		if err != nil {
			t.Fatalf("decoded frame %+v does not encode: %v", fr, err)
		}
		var fr2 Frame
		if err := ipc.Decode(b, &fr2); err != nil {
			t.Fatalf("re-encoded frame %q does not decode: %v", b, err)
		}
		b2, _ := json.Marshal(fr2)
		if !bytes.Equal(b, b2) {
			t.Fatalf("frame changed on the way back: %q became %q", b, b2)
		}
		if verr2 := fr2.Validate(); (verr == nil) != (verr2 == nil) {
			t.Fatalf("Validate %v before the round trip, %v after", verr, verr2)
		}

		if verr != nil {
			return
		}
		if fr.Type != Type {
			t.Fatalf("validated a frame of type %q", fr.Type)
		}
		for _, id := range fr.IDs {
			if !queue.Valid(id) {
				t.Fatalf("validated bad queue ID %q", id)
			}
			if p := filepath.Join("/spool", queue.Incoming, id); filepath.Dir(p) != "/spool/"+queue.Incoming || filepath.Base(p) != id {
				t.Fatalf("queue ID %q climbs out of its directory: %s", id, p)
			}
		}
	})
}
