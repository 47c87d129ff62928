// Command anvil is postern's connection and rate counter; see package
// anvil and anvil(8).
package main

import (
	"postern.dev/postern/anvil"
	"postern.dev/postern/libmail/daemon"
)

func main() { daemon.Main("anvil", "anvil", anvil.Run) }
