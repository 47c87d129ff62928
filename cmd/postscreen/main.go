// Command postscreen screens the clients of the MX port before smtpd
// sees them; see package postscreen and postscreen(8).
package main

import (
	"postern.dev/postern/libmail/daemon"
	"postern.dev/postern/postscreen"
)

func main() { daemon.Main("postscreen", "smtp", postscreen.Run) }
