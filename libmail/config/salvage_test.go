package config

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestSalvage: the queue directory of a file that does not load is still
// found, so that postern status and stop reach a running master.
func TestSalvage(t *testing.T) {
	def := Default(testOpt).Params
	for _, tc := range []struct {
		name, text, dir string
		stop            time.Duration
	}{
		{"unknown key", "queue_directory = \"/srv/spool\"\nmessage_size_limt = 5\nmaster_stop_timeout = \"7s\"\n", "/srv/spool", 7 * time.Second},
		{"invalid value", "queue_directory = '/srv/q'\nmynetworks = [\"300.1.1.1/8\"]\n", "/srv/q", def.MasterStopTimeout.D()},
		{"not TOML", "queue_directory = \"/srv/x\" # the spool\nthis is = = not toml\n", "/srv/x", def.MasterStopTimeout.D()},
		{"after a table", "[services.smtp]\nqueue_directory = \"/srv/nope\"\n= broken\n", def.QueueDirectory, def.MasterStopTimeout.D()},
		{"nothing", "", def.QueueDirectory, def.MasterStopTimeout.D()},
	} {
		path := filepath.Join(t.TempDir(), "postern.toml")
		if err := os.WriteFile(path, []byte(tc.text), 0o644); err != nil {
			t.Fatal(err)
		}
		p := Salvage(path, testOpt)
		if p.QueueDirectory != tc.dir || p.MasterStopTimeout.D() != tc.stop {
			t.Errorf("%s: queue_directory %q, stop timeout %s; want %q, %s", tc.name, p.QueueDirectory, p.MasterStopTimeout.D(), tc.dir, tc.stop)
		}
	}
	if p := Salvage("/nonexistent/postern.toml", testOpt); p.QueueDirectory != def.QueueDirectory {
		t.Errorf("missing file: %q", p.QueueDirectory)
	}
}
