// Package agent is what every delivery agent (local, smtp) runs on its
// side of the delivery channel (libmail/ipc/delivery): the loop that
// accepts qmgr's connections and works on its requests concurrently
// (Serve), opening the entry a request names (Open), making the results
// durable in the entry before qmgr hears them (Record), and the answer
// for a request that cannot be worked on (DeferAll).
//
// The channel package says what travels between qmgr and an agent; this
// one says what an agent does with it, so that every agent keeps the
// protocol's promises the same way: results recorded and fsynced before
// the answer, reply texts bounded, every answer small enough for a frame,
// requests given up on a stop answered with Retry.
package agent
