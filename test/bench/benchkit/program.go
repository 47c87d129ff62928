package benchkit

import (
	"context"
	"errors"
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
