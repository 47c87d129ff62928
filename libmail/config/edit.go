package config

import (
	"fmt"
	"strings"
)

// Set returns text with parameter name set to value (given as text, lists
// comma-separated), the way `postern config set` edits the file: an
// existing top-level line for the parameter is replaced in place, a
// commented-out one ("#name = ...") is replaced by the new setting, and
// otherwise the setting goes after the last top-level line, before the
// first table. Comments and everything else stay as they were. The result
// is checked by parsing it. A list may also be given as a TOML array
// (["example.org smtp:[relay.example.org]", ...]), for items that hold
// spaces or commas.
func Set(text, name, value string, opt Options) (string, error) {
	prm, ok := Lookup(name)
	if !ok {
		return "", fmt.Errorf("unknown parameter %q", name)
	}
	newLine := name + " = " + literal(prm.Kind, value)
	if prm.Kind == List && strings.HasPrefix(strings.TrimSpace(value), "[") {
		// Taken as written; checked below with the rest of the file.
		newLine = name + " = " + strings.TrimSpace(value)
	}
	lines := strings.Split(text, "\n")
	firstTable, lastTop, commented := len(lines), -1, -1
	for i, l := range lines {
		t := strings.TrimSpace(l)
		if strings.HasPrefix(t, "[") {
			firstTable = i
			break
		}
		if k, _, ok := strings.Cut(t, "="); ok {
			k = strings.TrimSpace(k)
			switch {
			case k == name:
				lines[i] = newLine
				return checked(strings.Join(lines, "\n"), opt)
			case strings.TrimSpace(strings.TrimLeft(k, "#")) == name && strings.HasPrefix(k, "#") && commented < 0:
				commented = i
			case !strings.HasPrefix(k, "#"):
				lastTop = i
			}
		}
	}
	switch {
	case commented >= 0:
		lines = append(lines[:commented+1], append([]string{newLine}, lines[commented+1:]...)...)
	case lastTop >= 0:
		lines = append(lines[:lastTop+1], append([]string{newLine}, lines[lastTop+1:]...)...)
	default:
		at := firstTable
		lines = append(lines[:at], append([]string{newLine, ""}, lines[at:]...)...)
	}
	return checked(strings.Join(lines, "\n"), opt)
}

func checked(text string, opt Options) (string, error) {
	if _, err := Parse([]byte(text), "new configuration", opt); err != nil {
		return "", err
	}
	return text, nil
}
