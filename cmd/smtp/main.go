// Command smtp is postern's outbound SMTP delivery agent; see package
// smtp and smtp(8).
package main

import (
	"postern.dev/postern/libmail/daemon"
	"postern.dev/postern/smtp"
)

// Its row in the service table is "outbound", not "smtp", which names the
// inbound server there (as "smtp" is smtpd's row in Postfix's master.cf).
func main() { daemon.Main("smtp", "outbound", smtp.Run) }
