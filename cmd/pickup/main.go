// Command pickup takes local submissions from maildrop/ into the queue;
// see package pickup and pickup(8).
package main

import (
	"postern.dev/postern/libmail/daemon"
	"postern.dev/postern/pickup"
)

func main() { daemon.Main("pickup", "pickup", pickup.Run) }
