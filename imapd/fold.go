package imapd

import "encoding/binary"

// foldASCII appends src to dst with A-Z lowered, and reports false (with
// what was appended so far) at the first byte of 0x80 or above. dst may
// be src[:0]. The search prefilters fold every byte of what they search,
// so it works eight bytes at a time: a byte below 0x80 plus 0x80-'A'
// has its top bit set exactly when it is 'A' or above, and no carry
// crosses into the next byte.
func foldASCII(dst, src []byte) ([]byte, bool) {
	const (
		ones = 0x0101010101010101
		high = 0x8080808080808080
	)
	i := 0
	for ; i+8 <= len(src); i += 8 {
		x := binary.LittleEndian.Uint64(src[i:])
		if x&high != 0 {
			return dst, false
		}
		ge := x + ones*(0x80-'A')
		gt := x + ones*(0x80-'Z'-1)
		x |= (ge &^ gt & high) >> 2
		dst = binary.LittleEndian.AppendUint64(dst, x)
	}
	for ; i < len(src); i++ {
		c := src[i]
		if c >= 0x80 {
			return dst, false
		}
		dst = append(dst, lowerASCII(c))
	}
	return dst, true
}
