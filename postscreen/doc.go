// Package postscreen is postern's screen in front of smtpd on the MX
// port, after Postfix's postscreen(8).
//
// # Role
//
// Most connections to port 25 come from bots that a real MTA never
// needs to talk to. postscreen takes every new client first, keeps it
// for postscreen_greet_wait with nothing but the first line of a
// multi-line greeting (220-), and meanwhile asks the DNS lists of
// postscreen_dnsbl_sites about it. A client that talks before its turn
// (PREGREET) or whose weighted DNS list score reaches
// postscreen_dnsbl_threshold hears 421 4.7.1 and is disconnected; one
// that passes is remembered for postscreen_cache_ttl and handed to smtpd
// (PASS NEW), and its next connections go to smtpd at once (PASS OLD).
// postscreen_access_list allows or denies networks for good. The client
// never talks to postscreen: smtpd gets the very TCP connection, by
// descriptor passing (libmail/ipc/pass), and sends the final 220 line.
//
// One process holds every client in its tests. A held client costs a
// goroutine parked on Go's netpoller (epoll) with the minimum stack and
// a few hundred bytes of state (arrive and hold in screen.go say how);
// the measurements are in docs/architecture.md and test/bench/idleconns.
//
// # Runs as
//
// mail_owner, with the smtp service's listening socket inherited from
// the master.
//
// # Talks to
//
// Clients over TCP; the DNS lists through the resolver (dns_servers);
// smtpd through private/smtpd (libmail/ipc/pass).
//
// # Files
//
// None: the cache of clients that passed is in memory. Manual page:
// postscreen(8).
package postscreen
