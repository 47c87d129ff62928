package imap

import (
	"bufio"
	"errors"
	"fmt"
	"io"
)

// inflater decodes the client's half of COMPRESS=DEFLATE: raw deflate
// (RFC 1951) that hands over what it has decoded before it would wait
// for more input. Neither compress/flate nor klauspost's flate does
// that for every flush a zlib client uses: compress/flate returns a
// Huffman block's data only at a stored block, a final block or a full
// window, and klauspost's reader reads ten bits past a dynamic block's
// end, which Z_PARTIAL_FLUSH (isync's flush: an empty fixed block, its
// last bits still in the client's buffer) does not send. Either way the
// command waits in the decoder while the client waits for the answer.
//
// It reads codes bit by bit, as RFC 1951 §3.2.2 describes them: the
// client's side of IMAP is small (commands, APPEND literals), and
// exact reads are what makes it never ask for a byte it does not need.
type inflater struct {
	r     *bufio.Reader
	bits  uint32
	nbits uint
	win   [1 << 15]byte
	wpos  int // bytes written ever; win[wpos&winMask] is the next

	state     int
	final     bool
	stored    int // bytes left in a stored block
	lit, dist huffman
	copyLen   int // a back-reference being copied
	copyDist  int
	err       error
}

const winMask = 1<<15 - 1

const (
	stHeader = iota
	stStored
	stHuffman
	stDone
)

// huffman is a canonical code: how many codes of each length, and the
// symbols in code order.
type huffman struct {
	count  [16]uint16
	symbol [288]uint16
}

var errInflate = errors.New("deflate: corrupt input")

func newInflater(r io.Reader) *inflater {
	return &inflater{r: bufio.NewReader(r)}
}

func (f *inflater) getBits(n uint) (int, error) {
	for f.nbits < n {
		c, err := f.r.ReadByte()
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return 0, err
		}
		f.bits |= uint32(c) << f.nbits
		f.nbits += 8
	}
	v := int(f.bits & (1<<n - 1))
	f.bits >>= n
	f.nbits -= n
	return v, nil
}

// decode reads one symbol of h, a bit at a time.
func (f *inflater) decode(h *huffman) (int, error) {
	code, first, index := 0, 0, 0
	for l := 1; l < 16; l++ {
		b, err := f.getBits(1)
		if err != nil {
			return 0, err
		}
		code |= b
		count := int(h.count[l])
		if code-count < first {
			return int(h.symbol[index+code-first]), nil
		}
		index += count
		first += count
		first <<= 1
		code <<= 1
	}
	return 0, errInflate
}

// build makes the canonical code of lengths; it refuses an
// over-subscribed set (an incomplete one is legal for distances).
func (h *huffman) build(lengths []uint8) error {
	*h = huffman{}
	for _, l := range lengths {
		h.count[l]++
	}
	left := 1
	for l := 1; l < 16; l++ {
		left <<= 1
		left -= int(h.count[l])
		if left < 0 {
			return errInflate
		}
	}
	var offs [16]int
	for l := 1; l < 15; l++ {
		offs[l+1] = offs[l] + int(h.count[l])
	}
	for s, l := range lengths {
		if l != 0 {
			h.symbol[offs[l]] = uint16(s)
			offs[l]++
		}
	}
	h.count[0] = 0
	return nil
}

var (
	lenBase   = [29]int{3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258}
	lenExtra  = [29]uint{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
	distBase  = [30]int{1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577}
	distExtra = [30]uint{0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13}
	clOrder   = [19]int{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}
)

func (f *inflater) Read(p []byte) (int, error) {
	if f.err != nil {
		return 0, f.err
	}
	n, err := f.read(p)
	if err != nil {
		f.err = err
		if n > 0 {
			return n, nil
		}
	}
	return n, err
}

func (f *inflater) put(p []byte, n int, b byte) int {
	f.win[f.wpos&winMask] = b
	f.wpos++
	p[n] = b
	return n + 1
}

func (f *inflater) read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if f.copyLen > 0 {
			n = f.put(p, n, f.win[(f.wpos-f.copyDist)&winMask])
			f.copyLen--
			continue
		}
		// Never wait for input with decoded data in hand: the client
		// may be waiting for the answer to it.
		if n > 0 && f.r.Buffered() == 0 {
			return n, nil
		}
		switch f.state {
		case stDone:
			return n, io.EOF
		case stHeader:
			if f.final {
				f.state = stDone
				continue
			}
			if err := f.header(); err != nil {
				return n, err
			}
		case stStored:
			if f.stored == 0 {
				f.state = stHeader
				continue
			}
			c, err := f.r.ReadByte()
			if err != nil {
				return n, fmt.Errorf("deflate: %w", io.ErrUnexpectedEOF)
			}
			n = f.put(p, n, c)
			f.stored--
		case stHuffman:
			sym, err := f.decode(&f.lit)
			if err != nil {
				return n, err
			}
			switch {
			case sym < 256:
				n = f.put(p, n, byte(sym))
			case sym == 256:
				f.state = stHeader
			default:
				if err := f.backref(sym - 257); err != nil {
					return n, err
				}
			}
		}
	}
	return n, nil
}

func (f *inflater) backref(i int) error {
	if i >= 29 {
		return errInflate
	}
	e, err := f.getBits(lenExtra[i])
	if err != nil {
		return err
	}
	length := lenBase[i] + e
	d, err := f.decode(&f.dist)
	if err != nil {
		return err
	}
	if d >= 30 {
		return errInflate
	}
	e, err = f.getBits(distExtra[d])
	if err != nil {
		return err
	}
	dist := distBase[d] + e
	if dist > f.wpos || dist > len(f.win) {
		return errInflate
	}
	f.copyLen, f.copyDist = length, dist
	return nil
}

func (f *inflater) header() error {
	h, err := f.getBits(3)
	if err != nil {
		return err
	}
	f.final = h&1 == 1
	switch h >> 1 {
	case 0:
		// A stored block starts on a byte boundary: the bits left of
		// this byte are padding (fewer than 8, as reads are exact).
		f.bits, f.nbits = 0, 0
		var b [4]byte
		if _, err := io.ReadFull(f.r, b[:]); err != nil {
			return fmt.Errorf("deflate: %w", io.ErrUnexpectedEOF)
		}
		l := int(b[0]) | int(b[1])<<8
		if l != ^(int(b[2])|int(b[3])<<8)&0xffff {
			return errInflate
		}
		f.stored, f.state = l, stStored
		return nil
	case 1:
		var l [288 + 30]uint8
		for i := range 288 {
			switch {
			case i < 144:
				l[i] = 8
			case i < 256:
				l[i] = 9
			case i < 280:
				l[i] = 7
			default:
				l[i] = 8
			}
		}
		for i := range 30 {
			l[288+i] = 5
		}
		f.lit.build(l[:288])
		f.dist.build(l[288:])
		f.state = stHuffman
		return nil
	case 2:
		if err := f.dynamic(); err != nil {
			return err
		}
		f.state = stHuffman
		return nil
	}
	return errInflate
}

func (f *inflater) dynamic() error {
	nlen, err := f.getBits(5)
	if err != nil {
		return err
	}
	ndist, err := f.getBits(5)
	if err != nil {
		return err
	}
	ncode, err := f.getBits(4)
	if err != nil {
		return err
	}
	nlen, ndist, ncode = nlen+257, ndist+1, ncode+4
	if nlen > 286 || ndist > 30 {
		return errInflate
	}
	var cl [19]uint8
	for i := range ncode {
		v, err := f.getBits(3)
		if err != nil {
			return err
		}
		cl[clOrder[i]] = uint8(v)
	}
	var clh huffman
	if err := clh.build(cl[:]); err != nil {
		return err
	}
	var l [286 + 30]uint8
	for i := 0; i < nlen+ndist; {
		sym, err := f.decode(&clh)
		if err != nil {
			return err
		}
		if sym < 16 {
			l[i] = uint8(sym)
			i++
			continue
		}
		var v uint8
		var rep int
		switch sym {
		case 16:
			if i == 0 {
				return errInflate
			}
			v = l[i-1]
			rep, err = f.getBits(2)
			rep += 3
		case 17:
			rep, err = f.getBits(3)
			rep += 3
		default:
			rep, err = f.getBits(7)
			rep += 11
		}
		if err != nil {
			return err
		}
		if i+rep > nlen+ndist {
			return errInflate
		}
		for ; rep > 0; rep-- {
			l[i] = v
			i++
		}
	}
	if l[256] == 0 {
		return errInflate
	}
	if err := f.lit.build(l[:nlen]); err != nil {
		return err
	}
	return f.dist.build(l[nlen : nlen+ndist])
}
