// Package logintest runs a login server (libmail/login) on loopback
// with a fake session service behind it, for the tests of imapd's and
// pop3d's login roles.
//
// # Why in libmail
//
// No program uses it: only the tests of imapd/imaplogin and
// pop3d/pop3login do. It is not in libmail/testkit because it imports
// libmail/login, whose dependencies' tests import testkit.
package logintest
