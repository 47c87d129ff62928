package config

import (
	"bufio"
	"bytes"
	"strings"

	"github.com/BurntSushi/toml"
)

// keyLine finds the line on which key is defined in a TOML text, or 0.
// BurntSushi/toml knows key positions but does not export them, and an
// admin needs the line of an unknown key, so this follows table headers
// ([a.b]) and bare keys (k = v) well enough for configuration files.
func keyLine(text []byte, key toml.Key) int {
	if len(key) == 0 {
		return 0
	}
	var table []string
	sc := bufio.NewScanner(bytes.NewReader(text))
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "[") {
			h := strings.Trim(line, "[] \t")
			if i := strings.Index(h, "]"); i >= 0 {
				h = h[:i]
			}
			table = splitKey(h)
			if equalKey(table, key) {
				return n
			}
			continue
		}
		k, _, ok := strings.Cut(line, "=")
		if !ok || strings.HasPrefix(line, "#") {
			continue
		}
		full := append(append([]string{}, table...), splitKey(k)...)
		if equalKey(full, key) {
			return n
		}
	}
	return 0
}

func splitKey(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ".") {
		out = append(out, strings.Trim(strings.TrimSpace(part), `"'`))
	}
	return out
}

func equalKey(a []string, b toml.Key) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
