package dane

import (
	"bytes"
	"slices"
	"testing"

	"postern.dev/postern/libmail/dns"
)

func TestUsable(t *testing.T) {
	d32 := bytes.Repeat([]byte{1}, 32)
	d64 := bytes.Repeat([]byte{2}, 64)
	tests := []struct {
		name string
		rec  dns.TLSA
		want bool
	}{
		{"DANE-EE SPKI SHA-256", rr(3, 1, 1, d32), true},
		{"DANE-EE cert SHA-512", rr(3, 0, 2, d64), true},
		{"DANE-TA cert full", rr(2, 0, 0, []byte("der")), true},
		{"DANE-TA SPKI SHA-256", rr(2, 1, 1, d32), true},
		{"PKIX-TA", rr(0, 0, 1, d32), false},
		{"PKIX-EE", rr(1, 1, 1, d32), false},
		{"unknown usage", rr(4, 1, 1, d32), false},
		{"unknown selector", rr(3, 2, 1, d32), false},
		{"unknown matching type", rr(3, 1, 3, d32), false},
		{"SHA-256 too short", rr(3, 1, 1, d32[:31]), false},
		{"SHA-256 given SHA-512 length", rr(3, 1, 1, d64), false},
		{"SHA-512 given SHA-256 length", rr(3, 1, 2, d32), false},
		{"full but empty", rr(3, 1, 0, nil), false},
	}
	var all, want []dns.TLSA
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Usable([]dns.TLSA{tt.rec})
			if (len(got) == 1) != tt.want {
				t.Errorf("Usable(%v) = %v, want usable %v", tt.rec, got, tt.want)
			}
		})
		all = append(all, tt.rec)
		if tt.want {
			want = append(want, tt.rec)
		}
	}
	got := Usable(all)
	if !slices.EqualFunc(got, want, func(a, b dns.TLSA) bool {
		return a.Usage == b.Usage && a.Selector == b.Selector && a.MatchingType == b.MatchingType && bytes.Equal(a.Data, b.Data)
	}) {
		t.Errorf("Usable(all) = %v, want %v", got, want)
	}
	if got := Usable(nil); got != nil {
		t.Errorf("Usable(nil) = %v", got)
	}
}

func TestStrongest(t *testing.T) {
	d32 := bytes.Repeat([]byte{1}, 32)
	d64 := bytes.Repeat([]byte{2}, 64)
	in := []dns.TLSA{
		rr(3, 1, 1, d32), // dropped: 3 1 2 exists
		rr(3, 1, 2, d64),
		rr(3, 1, 0, []byte("spki")),
		rr(3, 0, 1, d32), // kept: no 3 0 2
		rr(2, 1, 1, d32), // kept: the SHA-512 record is DANE-EE
	}
	got := strongest(in)
	if len(got) != 4 || got[0].MatchingType != 2 || got[1].MatchingType != 0 || got[2].Selector != 0 || got[3].Usage != 2 {
		t.Errorf("strongest = %v", got)
	}
}

func rr(usage, selector, mtype uint8, data []byte) dns.TLSA {
	return dns.TLSA{Usage: usage, Selector: selector, MatchingType: mtype, Data: data}
}
