// Package maillog writes the mail log in the classic form that admins,
// pflogsumm, fail2ban and log exporters read:
//
//	Nov 23 14:32:01 mail postern/smtpd[812]: 1J0UG67L94S6LET3: client=unknown[192.0.2.7]
//
// One event is one line, the queue ID comes first when there is one, and
// warnings start with "warning: ", as in Postfix. A line is written with
// one write(2), so lines from several daemons sharing one O_APPEND file
// (the master hands each daemon the log file as its standard error) never
// interleave.
package maillog
