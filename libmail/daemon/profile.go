package daemon

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
)

// ProfileEnv names a directory into which every daemon writes a CPU
// profile (PROGRAM.PID.prof) for its whole life; `make bench` and
// developers use it to see where the time goes. The master passes it on.
const ProfileEnv = "POSTERN_CPUPROFILE"

// startProfile begins CPU profiling if ProfileEnv is set and returns the
// function that stops it.
func startProfile(program string) func() {
	dir := os.Getenv(ProfileEnv)
	if dir == "" {
		return func() {}
	}
	f, err := os.Create(filepath.Join(dir, fmt.Sprintf("%s.%d.prof", program, os.Getpid())))
	if err != nil {
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}
