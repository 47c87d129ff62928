// Command smtp is postern's outbound SMTP delivery agent; see package
// smtp and smtp(8).
package main

import (
	"os"
	"strings"

	"postern.dev/postern/libmail/daemon"
	"postern.dev/postern/smtp"
)

// service is the agent's row in the service table. It is not "smtp",
// which names the inbound server there, so unless the master says
// otherwise with -s, the agent picks it itself.
const service = "outbound"

func main() {
	if !hasServiceFlag(os.Args[1:]) {
		os.Args = append([]string{os.Args[0], "-s", service}, os.Args[1:]...)
	}
	daemon.Main("smtp", smtp.Run)
}

// hasServiceFlag reports whether args name a service (-s NAME, -s=NAME).
func hasServiceFlag(args []string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if strings.HasPrefix(a, "-") && name == "s" {
			return true
		}
	}
	return false
}
