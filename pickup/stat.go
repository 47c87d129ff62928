package pickup

import (
	"io/fs"
	"syscall"
)

// statUID is a file's owner.
func statUID(st fs.FileInfo) (int, bool) {
	s, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return int(s.Uid), true
}
