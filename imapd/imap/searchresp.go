package imap

// SearchResult is what SEARCH, SORT and THREAD found, to be written.
type SearchResult struct {
	Tag  string
	UID  bool     // UID SEARCH: numbers are UIDs
	Nums []uint32 // in the order to show (ascending for SEARCH, sorted for SORT)
	// ModSeq is the highest mod-sequence of the matches, shown when the
	// search used MODSEQ (RFC 7162 §3.1.5); 0 shows nothing.
	ModSeq uint64
}

// Search writes "* SEARCH n..." (name SEARCH or SORT).
func (w *Writer) Search(name string, r *SearchResult) error {
	w.Untagged().Atom(name)
	for _, n := range r.Nums {
		w.SP().Number(uint64(n))
	}
	if r.ModSeq != 0 && len(r.Nums) > 0 {
		w.Atom(" (MODSEQ ").Number(r.ModSeq).Close()
	}
	return w.End()
}

// ESearch writes the ESEARCH response (RFC 4731) for the RETURN
// options; RETURN () means ALL. With SAVE alone nothing is written
// (RFC 5182 §2.1): the client asked only to keep the result.
func (w *Writer) ESearch(ret []string, r *SearchResult) error {
	want := map[string]bool{}
	for _, o := range ret {
		want[o] = true
	}
	if len(ret) == 0 {
		want["ALL"] = true
	}
	if len(ret) == 1 && want["SAVE"] {
		return nil
	}
	w.Untagged().Atom("ESEARCH (TAG ").String(r.Tag).Close()
	if r.UID {
		w.Atom(" UID")
	}
	if len(r.Nums) > 0 {
		lo, hi := r.Nums[0], r.Nums[0]
		for _, n := range r.Nums {
			lo, hi = min(lo, n), max(hi, n)
		}
		if want["MIN"] {
			w.Atom(" MIN ").Number(uint64(lo))
		}
		if want["MAX"] {
			w.Atom(" MAX ").Number(uint64(hi))
		}
		if want["ALL"] {
			w.Atom(" ALL ").Set(SetOf(r.Nums))
		}
	}
	if want["COUNT"] {
		w.Atom(" COUNT ").Number(uint64(len(r.Nums)))
	}
	if r.ModSeq != 0 && len(r.Nums) > 0 {
		w.Atom(" MODSEQ ").Number(r.ModSeq)
	}
	return w.End()
}
