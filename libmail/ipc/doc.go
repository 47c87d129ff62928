// Package ipc is the one framing used on every Unix socket between postern
// processes: newline-delimited JSON, one object per line, after a hello
// that names the channel and its version.
//
// JSON lines were chosen over a binary format because the frames are small
// and few (a delivery request names a queue ID; messages never travel over
// IPC), because an admin can read them with socat, and because the
// standard library encodes them. Each channel is its own package under
// libmail/ipc with its message types, version and fuzz target; `ls
// libmail/ipc` lists the edges of the process graph.
//
// Every frame carries a type named receiver-noun-verb (for example
// "local-delivery-request"), so a frame on the wrong socket is an error
// rather than a misunderstanding.
package ipc
