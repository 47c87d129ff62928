package testkit

import (
	"net/netip"
	"slices"
	"testing"

	"postern.dev/postern/libmail/dns"
)

// LookupA and LookupAAAA answer one family each from AddHost, and a
// family the name lacks is NotFound, as the wire client says of NODATA.
func TestResolverFamilies(t *testing.T) {
	r := NewResolver()
	r.AddHost("both.example", "192.0.2.1", "2001:db8::1")
	r.AddHost("v4.example", "192.0.2.2")
	r.SetTemporaryFailure("down.example", true)
	ctx := t.Context()

	if a, _, err := r.LookupA(ctx, "both.example"); err != nil || !slices.Equal(a, []netip.Addr{netip.MustParseAddr("192.0.2.1")}) {
		t.Errorf("LookupA(both) = %v, %v", a, err)
	}
	if a, _, err := r.LookupAAAA(ctx, "both.example"); err != nil || !slices.Equal(a, []netip.Addr{netip.MustParseAddr("2001:db8::1")}) {
		t.Errorf("LookupAAAA(both) = %v, %v", a, err)
	}
	if _, _, err := r.LookupAAAA(ctx, "v4.example"); !dns.IsNotFound(err) {
		t.Errorf("LookupAAAA(v4) error %v, want NotFound", err)
	}
	if _, _, err := r.LookupA(ctx, "nowhere.example"); !dns.IsNotFound(err) {
		t.Errorf("LookupA(nowhere) error %v, want NotFound", err)
	}
	if _, _, err := r.LookupA(ctx, "down.example"); !dns.IsTemporary(err) {
		t.Errorf("LookupA(down) error %v, want temporary", err)
	}
	want := []string{"A both.example", "AAAA both.example", "AAAA v4.example", "A nowhere.example", "A down.example"}
	if got := r.Asked(); !slices.Equal(got, want) {
		t.Errorf("Asked() = %q, want %q", got, want)
	}
}
