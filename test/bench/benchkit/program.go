package benchkit

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"
)

// ErrFailed ends a benchmark program with exit status 1 and no message:
// the failure is in its output already (a FAIL verdict).
var ErrFailed = errors.New("failed")

// Main runs a benchmark program's body, after its flags are parsed,
// under a context that ends after timeout. An error ends the program
// with exit status 1, and but for ErrFailed with "name: error" on
// standard error.
func Main(name string, timeout time.Duration, body func(ctx context.Context) error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	err := body(ctx)
	cancel()
	if err == nil {
		return
	}
	if !errors.Is(err, ErrFailed) {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
	}
	os.Exit(1)
}

// Flags are the flags of the programs that run sandboxes and sample
// their memory (bigmsg, deferred).
type Flags struct {
	PortBase int
	Bin      string // directory with the postern binaries
	Keep     bool   // keep the sandbox directory
	Interval time.Duration
}

// Register defines the flags on fs with f's values as their defaults.
func (f *Flags) Register(fs *flag.FlagSet) {
	fs.IntVar(&f.PortBase, "port-base", f.PortBase, "sandbox port base (SMTP on base+25)")
	fs.StringVar(&f.Bin, "bin", f.Bin, "directory with the postern binaries")
	fs.BoolVar(&f.Keep, "keep", f.Keep, "keep the sandbox directory")
	fs.DurationVar(&f.Interval, "interval", f.Interval, "memory sampling interval")
}
