// Command showq lists the mail queue for any local user; see package
// showq and postern(1).
package main

import (
	"postern.dev/postern/libmail/daemon"
	"postern.dev/postern/showq"
)

func main() { daemon.Main("showq", "showq", showq.Run) }
