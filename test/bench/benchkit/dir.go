package benchkit

import (
	"fmt"
	"io"
	"os"
)

// WorkDir returns dir, made if missing, or when dir is empty a new
// directory under $TMPDIR named from prefix, where a program's sandboxes
// go. It is opened to others (0755): as root the master runs the daemons
// as postern and vmail, which must reach the sandboxes through it. done
// removes it, unless keep, when it tells out (if not nil) where it was
// kept, as the line "kept DIR".
func WorkDir(dir, prefix string, keep bool, out io.Writer, kept string) (path string, done func(), err error) {
	if dir == "" {
		if dir, err = os.MkdirTemp("", prefix); err != nil {
			return "", nil, err
		}
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", nil, err
	}
	os.Chmod(dir, 0o755)
	return dir, func() {
		switch {
		case !keep:
			os.RemoveAll(dir)
		case out != nil:
			fmt.Fprintln(out, kept, dir)
		}
	}, nil
}
