package imapd

import (
	"strings"
	"testing"
)

// TestBodyFilterSameResults: BODY and TEXT searches give the same
// answers with the body filter as without, on messages where raw and
// decoded text differ (base64, quoted-printable soft breaks, 7-bit
// charsets that are not ASCII, encoded words, Unicode folding), and
// the plain ones are found.
func TestBodyFilterSameResults(t *testing.T) {
	msgs := []string{
		"Subject: plain\n\nthe ZanzibarQuux is here\n",
		"Subject: b64\nContent-Transfer-Encoding: base64\n\ndGhlIHphbnppYmFycXV1eCBpbiBiYXNlNjQ=\n",
		"Subject: qp\nContent-Transfer-Encoding: quoted-printable\n\nzanzi=\nbarquux split by a soft break\n",
		"Subject: qp2\nContent-Transfer-Encoding: Quoted-Printable\n\nzanzib=61rquux as hex\n",
		"Subject: utf7\nContent-Type: text/plain; charset=utf-7\n\nzanzi+AGI-arquux\n",
		"Subject: jis\nContent-Type: text/plain; charset=\"iso-2022-jp\"\n\nzanzi\x1b(Bbarquux\n",
		"Subject: utf16\nContent-Type: text/plain; charset=utf-16le\n\nz\x00a\x00n\x00\n",
		"Subject: kelvin\n\n\xe2\x84\xaaelvin sign\n",
		"Subject: embedded\nContent-Type: message/rfc822\n\nSubject: =?utf-8?q?zanzibarquux?=\n\ninner\n",
		"Subject: attach\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain; charset=us-ascii\n\nnothing\n--b\nContent-Type: application/octet-stream\n\nzanzibarquux\n--b--\n",
		"Subject: zanzibarquux in the header\n\nbody without it\n",
		"Subject: none\n\nnothing to see\n",
		"Subject: star\nContent-Type: text/plain; charset*=us-ascii''x\n\nZANZIBARQUUX\n",
	}
	searches := []string{
		`SEARCH BODY zanzibarquux`, `SEARCH TEXT zanzibarquux`, `SEARCH BODY kelvin`,
		`SEARCH BODY zan`, `SEARCH BODY "zanzi barquux"`, `SEARCH BODY zanzibarquux BODY here`,
		`SEARCH OR BODY zanzibarquux BODY nothing`, `SEARCH NOT BODY zanzibarquux`, `SEARCH BODY ""`,
		`SEARCH CHARSET UTF-8 BODY zanzibarquux`, `SEARCH TEXT inner`,
	}
	with := sameWithoutFilters(t, msgs, searches, false)
	t.Logf("%s\n%s", with[0], with[1])
	if !strings.Contains(with[0], "* SEARCH 1 ") {
		t.Errorf("the plain message is not found:\n%s", with[0])
	}
}
