package main

import (
	"strings"
	"testing"
)

func TestHasServiceFlag(t *testing.T) {
	for args, want := range map[string]bool{
		"":                   false,
		"-c x":               false,
		"-s outbound":        true,
		"-c x -s=outbound":   true,
		"--s outbound":       true,
		"-v":                 false,
		"-- -s":              false,
		"-sv":                false,
		"-c postern.toml -v": false,
	} {
		if got := hasServiceFlag(strings.Fields(args)); got != want {
			t.Errorf("hasServiceFlag(%q) = %v", args, got)
		}
	}
}
