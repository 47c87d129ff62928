package config

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

// Salvage reads what it can of a configuration file that does not load,
// for the commands that must work even then: with a typo in the file,
// `postern status` and `postern stop` still have to find the running
// master, which they do through queue_directory (its control socket and
// pid file live there). It returns the defaults with queue_directory and
// master_stop_timeout taken from the file where they can be read: by a
// lax TOML decode that ignores unknown and invalid keys, or, when the
// file is not TOML at all, from a top-level `queue_directory = "..."`
// line. The result is a best guess, never used to run anything.
func Salvage(name string, opt Options) *Params {
	p := Default(opt).Params
	text, err := os.ReadFile(name)
	if err != nil {
		return &p
	}
	var doc struct {
		QueueDirectory any `toml:"queue_directory"`
		StopTimeout    any `toml:"master_stop_timeout"`
	}
	if _, err := toml.Decode(string(text), &doc); err != nil {
		if dir, ok := scanString(text, "queue_directory"); ok {
			p.QueueDirectory = dir
		}
		return &p
	}
	if dir, ok := doc.QueueDirectory.(string); ok && dir != "" {
		p.QueueDirectory = dir
	}
	var d Duration
	switch v := doc.StopTimeout.(type) {
	case string:
		if d.UnmarshalText([]byte(v)) == nil {
			p.MasterStopTimeout = d
		}
	case int64:
		if d.UnmarshalText([]byte(strconv.FormatInt(v, 10))) == nil {
			p.MasterStopTimeout = d
		}
	}
	return &p
}

// scanString finds `key = "value"` on a line of its own before the first
// table header, for a file the TOML decoder gave up on.
func scanString(text []byte, key string) (string, bool) {
	sc := bufio.NewScanner(bytes.NewReader(text))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "[") {
			break
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || strings.TrimSpace(k) != key {
			continue
		}
		if s := quoted(strings.TrimSpace(v)); s != "" {
			return s, true
		}
	}
	return "", false
}

// quoted returns the string a TOML basic ("...") or literal ('...') string
// at the start of v stands for, ignoring what follows it (a comment), or
// "" if v does not start with one.
func quoted(v string) string {
	if strings.HasPrefix(v, "'") {
		if end := strings.IndexByte(v[1:], '\''); end >= 0 {
			return v[1 : 1+end]
		}
		return ""
	}
	if !strings.HasPrefix(v, `"`) {
		return ""
	}
	for i := 1; i < len(v); i++ {
		switch v[i] {
		case '\\':
			i++
		case '"':
			s, err := strconv.Unquote(v[:i+1])
			if err != nil {
				return ""
			}
			return s
		}
	}
	return ""
}
