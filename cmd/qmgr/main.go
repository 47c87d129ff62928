// Command qmgr is postern's queue manager; see package qmgr and qmgr(8).
package main

import (
	"postern.dev/postern/libmail/daemon"
	"postern.dev/postern/qmgr"
)

func main() { daemon.Main("qmgr", "qmgr", qmgr.Run) }
