package commit

import "os"

// Policy is how a writer makes a new file durable. It calls File after
// writing the data and before the rename, and Dir after renaming the file
// into dir; once Dir returns nil, both the data and the name are on
// stable storage. Appended calls for what was appended to a file that
// already has its name (a queue entry's records): once it returns nil,
// the appended bytes are on stable storage.
type Policy interface {
	File(f *os.File) error
	Dir(dir string) error
	Appended(f *os.File) error
}

// PerFile fsyncs each file's data, then the directory it was renamed
// into, sharing the directory fsync between concurrent callers: the
// classic Maildir protocol, and what Postfix does.
type PerFile struct{ Dirs Dirs }

// File implements Policy.
func (p *PerFile) File(f *os.File) error { return File(f) }

// Dir implements Policy.
func (p *PerFile) Dir(dir string) error { return p.Dirs.Sync(dir) }

// Appended implements Policy: an fdatasync of the file.
func (p *PerFile) Appended(f *os.File) error { return File(f) }

// Close releases the directories kept open.
func (p *PerFile) Close() error { return p.Dirs.Close() }
