package maildir

import (
	"os"
	"path/filepath"
	"testing"
)

func TestCreate(t *testing.T) {
	base := t.TempDir()
	tests := []struct {
		name    string
		setup   func(root string)
		wantErr bool
	}{
		{"fresh", func(string) {}, false},
		{"missing parents", func(string) {}, false},
		{"already there", func(root string) { Create(root, 0o700) }, false},
		{"partial", func(root string) { os.MkdirAll(filepath.Join(root, "new"), 0o700) }, false},
		{"file in the way", func(root string) {
			os.MkdirAll(root, 0o700)
			os.WriteFile(filepath.Join(root, "cur"), nil, 0o600)
		}, true},
		{"root is a file", func(root string) { os.WriteFile(root, nil, 0o600) }, true},
	}
	for i, tt := range tests {
		root := filepath.Join(base, tt.name, "x", "Maildir")
		if i == 0 {
			root = filepath.Join(base, "Maildir")
		}
		if i != 1 {
			os.MkdirAll(filepath.Dir(root), 0o700)
		}
		tt.setup(root)
		err := Create(root, 0o700)
		if (err != nil) != tt.wantErr {
			t.Fatalf("%s: Create error = %v, want error: %v", tt.name, err, tt.wantErr)
		}
		if tt.wantErr {
			continue
		}
		for _, sub := range []string{"tmp", "new", "cur"} {
			fi, err := os.Stat(filepath.Join(root, sub))
			if err != nil || !fi.IsDir() {
				t.Fatalf("%s: %s: %v", tt.name, sub, err)
			}
			if fi.Mode().Perm()&0o077 != 0 {
				t.Errorf("%s: %s has mode %v", tt.name, sub, fi.Mode())
			}
		}
	}
}
