// Package dkim signs and verifies DomainKeys Identified Mail signatures
// (RFC 6376; ed25519-sha256, RFC 8463) on messages as intake takes them
// in, on top of github.com/emersion/go-msgauth/dkim.
//
// Signing: a Signer (an intake.Tap) sees a message's header fields and
// body once as they stream to the queue and, at the end, returns a
// DKIM-Signature field for every key of the From: domain, which intake
// prepends to the entry in the same commit. The keys are loaded from
// dkim_signing_keys (LoadKeys); Generate, MarshalPrivateKey, Record and
// ZoneLine are for `postern dkim keygen`.
//
// Verifying: a Verifier (an intake.Tap too) checks the DKIM-Signature
// fields of a message as it streams in, looking the keys up through
// postern's resolver, and gives one Result per signature: pass, fail,
// temperror (a DNS failure or timeout: mail waits for no one, and DMARC
// decides what a temperror means), permerror or neutral, with the
// signing domain DMARC aligns with the From: domain.
//
// Why go-msgauth and what it is used for: its signer and verifier hash
// the body incrementally from an io.Writer fed through a pipe, so a tap
// can drive them without buffering the body; this package adds what a
// tap needs around them (holding the header until the From: domain and
// the signed-field list are known, batching the per-line writes, the
// result type, DNS errors mapped to temperror/permerror, and the key
// files and records).
//
// # Why in libmail
//
// intake, which every queue writer runs (smtpd and pickup), signs and
// verifies with it, and both load their keys with LoadConfigured; `postern dkim keygen` makes the keys it reads.
package dkim
