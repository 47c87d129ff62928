package imap

import (
	"sort"
	"strings"
)

// BodyStructure writes FETCH BODYSTRUCTURE (ext true: with extension
// data) or BODY (ext false) of a part (RFC 9051 §7.5.2, body).
func (w *Writer) BodyStructure(p *Part, ext bool) *Writer {
	w.Open()
	if len(p.Children) > 0 {
		for _, c := range p.Children {
			w.BodyStructure(c, ext)
		}
		w.SP().String(strings.ToUpper(p.Subtype))
		if ext {
			w.SP().params(p.Params, "").SP().disposition(p).SP().language(p).SP().NString(headerN(p, "Content-Location"))
		}
		return w.Close()
	}
	typ, sub := strings.ToUpper(p.Type), strings.ToUpper(p.Subtype)
	if p.Type == "multipart" { // no parts found: show it as empty text
		typ, sub = "TEXT", "PLAIN"
	}
	enc := strings.ToUpper(strings.TrimSpace(p.Header.Get("Content-Transfer-Encoding")))
	if enc == "" {
		enc = "7BIT"
	}
	w.String(typ).SP().String(sub).SP().params(p.Params, "").SP().
		NString(headerN(p, "Content-Id")).SP().NString(headerN(p, "Content-Description")).SP().
		String(enc).SP().Number(uint64(p.End - p.BodyStart))
	switch {
	case p.Embedded != nil:
		w.SP().Envelope(EnvelopeOf(&p.Embedded.Header)).SP().BodyStructure(p.Embedded, ext).SP().Number(uint64(p.Lines))
	case p.Type == "text":
		w.SP().Number(uint64(p.Lines))
	}
	if ext {
		w.SP().NString(headerN(p, "Content-Md5")).SP().disposition(p).SP().language(p).SP().NString(headerN(p, "Content-Location"))
	}
	return w.Close()
}

// headerN is a field's trimmed value, nil when absent.
func headerN(p *Part, name string) *string {
	if !p.Header.Has(name) {
		return nil
	}
	v := strings.TrimSpace(p.Header.Get(name))
	return &v
}

// params writes body-fld-param: names upper case, sorted, so the output
// is stable (go-message hands them over as a map); skip leaves one out.
func (w *Writer) params(params map[string]string, skip string) *Writer {
	keys := make([]string, 0, len(params))
	for k := range params {
		if k != skip || skip == "" {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return w.Atom("NIL")
	}
	sort.Strings(keys)
	w.Open()
	for i, k := range keys {
		if i > 0 {
			w.SP()
		}
		w.String(strings.ToUpper(k)).SP().String(params[k])
	}
	return w.Close()
}

func (w *Writer) disposition(p *Part) *Writer {
	if !p.Header.Has("Content-Disposition") {
		return w.Atom("NIL")
	}
	disp, params, err := p.Header.message().ContentDisposition()
	if err != nil || disp == "" {
		return w.Atom("NIL")
	}
	return w.Open().String(strings.ToUpper(disp)).SP().params(params, "").Close()
}

func (w *Writer) language(p *Part) *Writer {
	var langs []string
	for _, l := range strings.Split(p.Header.Get("Content-Language"), ",") {
		if l = strings.TrimSpace(l); l != "" {
			langs = append(langs, l)
		}
	}
	switch len(langs) {
	case 0:
		return w.Atom("NIL")
	case 1:
		return w.String(langs[0])
	}
	w.Open()
	for i, l := range langs {
		if i > 0 {
			w.SP()
		}
		w.String(l)
	}
	return w.Close()
}
