// Command smtpd is postern's SMTP server; see package smtpd and smtpd(8).
package main

import (
	"postern.dev/postern/libmail/daemon"
	"postern.dev/postern/smtpd"
)

func main() { daemon.Main("smtpd", "smtp", smtpd.Run) }
