package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The shipped configuration file and the man page are generated from the
// parameter table; these tests fail when the committed copies drift.
// Regenerate them with `make generate` (UPDATE_GENERATED=1 go test).
func TestGeneratedFilesAreCurrent(t *testing.T) {
	for path, want := range map[string]string{
		"../../conf/postern.toml":       ShippedFile(),
		"../../man/man5/postern.toml.5": ManPage(),
	} {
		if os.Getenv("UPDATE_GENERATED") != "" {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run make generate)", err)
		}
		if string(got) != want {
			t.Errorf("%s is out of date with the parameter table; run make generate", path)
		}
	}
}

// Every default, uncommented, must decode to the default value: this
// proves the rendering of each kind and that the documented defaults are
// the real ones.
func TestShippedFileUncommented(t *testing.T) {
	var b strings.Builder
	for _, line := range strings.Split(ShippedFile(), "\n") {
		if strings.HasPrefix(line, "#") && (strings.Contains(line, " = ") || strings.HasPrefix(line, "#[")) && !strings.HasPrefix(line, "# ") {
			line = strings.TrimPrefix(line, "#")
		}
		b.WriteString(line + "\n")
	}
	c, err := Parse([]byte(b.String()), "uncommented", testOpt)
	if err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	d := Default(testOpt)
	var got, want strings.Builder
	WriteParams(&got, &c.Params, nil)
	WriteParams(&want, &d.Params, nil)
	if got.String() != want.String() {
		t.Errorf("uncommented defaults differ:\n%s\nwant\n%s", got.String(), want.String())
	}
	WriteServices(&got, c.Services)
	WriteServices(&want, d.Services)
	if got.String() != want.String() {
		t.Errorf("uncommented services differ:\n%s\nwant\n%s", got.String(), want.String())
	}
}

func TestTableComplete(t *testing.T) {
	seen := map[string]bool{}
	for _, p := range Table() {
		if p.Name == "" || p.Doc == "" || !strings.HasSuffix(p.Doc, ".") {
			t.Errorf("parameter %+v lacks a name or a one-sentence doc", p)
		}
		if seen[p.Name] {
			t.Errorf("parameter %s twice", p.Name)
		}
		seen[p.Name] = true
		if sectionTitles[p.Section] == "" {
			t.Errorf("section %s has no title", p.Section)
		}
	}
}

func TestSet(t *testing.T) {
	text := "# my config\nmyhostname = \"a.example\" # inline\n#relayhost = \"\"\n\n[services.smtp]\nlisten = [\":25\"]\n"
	got, err := Set(text, "relayhost", "[smarthost.example]:587", testOpt)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(got, "#relayhost = \"\"\nrelayhost = \"[smarthost.example]:587\"\n") {
		t.Errorf("relayhost not placed under its commented default:\n%s", got)
	}
	got, err = Set(got, "myhostname", "b.example", testOpt)
	if err != nil || !strings.Contains(got, "myhostname = \"b.example\"\n") || strings.Contains(got, "a.example") {
		t.Errorf("replace: %v\n%s", err, got)
	}
	got, err = Set(got, "mydestination", "example.test, localhost", testOpt)
	if err != nil || !strings.Contains(got, "mydestination = [\"example.test\", \"localhost\"]") {
		t.Errorf("list: %v\n%s", err, got)
	}
	got, err = Set(got, "transport_maps", `["example.org smtp:[relay.example.org]:587", ".corp.example local:"]`, testOpt)
	if err != nil || !strings.Contains(got, `transport_maps = ["example.org smtp:[relay.example.org]:587", ".corp.example local:"]`) {
		t.Errorf("list as a TOML array: %v\n%s", err, got)
	}
	if _, err := Set(got, "transport_maps", `["example.org nosuch:"]`, testOpt); err == nil {
		t.Error("an invalid transport_maps entry was accepted")
	}
	c, err := Parse([]byte(got), "x", testOpt)
	if err != nil || c.Service("smtp").Listen[0] != ":25" || c.RelayHost != "[smarthost.example]:587" || len(c.TransportMaps) != 2 {
		t.Errorf("result does not parse right: %v", err)
	}
	if _, err := Set(text, "message_size_limit", "lots", testOpt); err == nil {
		t.Error("a bad integer was accepted")
	}
	if _, err := Set(text, "no_such_thing", "1", testOpt); err == nil {
		t.Error("an unknown parameter was accepted")
	}
	got, err = Set("[services.smtp]\nlisten = [\":25\"]\n", "relayhost", "x", testOpt)
	if err != nil || !strings.HasPrefix(got, "relayhost = \"x\"\n\n[services.smtp]") {
		t.Errorf("insert before first table: %v\n%q", err, got)
	}
}
