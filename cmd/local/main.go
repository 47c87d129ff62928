// Command local is postern's local delivery agent; see package local and
// local(8). Run with -child it is a per-delivery child (as a system user).
package main

import (
	"os"

	"postern.dev/postern/libmail/daemon"
	"postern.dev/postern/local"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == local.ChildFlag {
		local.ChildMain()
		return
	}
	daemon.Main("local", "local", local.Run)
}
