// Package config reads postern's one configuration file.
//
// The file is TOML. Every parameter is described once, in Table: its name,
// kind, default and one-line documentation. That table drives everything
// else: decoding (a key that is not in the table is an error naming the
// file, line and key), `postern config show -d` and `-n`, the commented
// conf/postern.toml that ships with postern, and the parameter list in
// postern.toml(5). A test proves the four agree.
//
// Parameter names and defaults follow Postfix's main.cf where Postfix has
// the same parameter (myhostname, mydestination, mynetworks, relayhost,
// message_size_limit, ...), so an admin's knowledge carries over. String
// values may refer to other parameters as $name or ${name}, expanded after
// all files and overrides are applied, as Postfix does. The Go field of a
// parameter is its name in CamelCase (master_stop_timeout is
// MasterStopTimeout; TestFieldNamesAreParameterNames holds it so), so
// grepping for either finds the other; a daemon's own Config says next to
// each field which parameter it holds.
//
// The [services.NAME] tables play the role of Postfix's master.cf: which
// daemons run, as whom, on which addresses, with how many processes, and
// per-service parameter overrides.
package config
