// Package dane authenticates an SMTP server's certificate against the
// TLSA records of its MX host, as RFC 7672 (DANE for SMTP) profiles RFC
// 6698 and RFC 7671.
//
// The smtp delivery agent looks the records up (they count only when the
// answer was DNSSEC-validated), keeps the ones Usable returns, and if any
// remain it must authenticate the server with them: it hands Config (or
// VerifyConnection in a tls.Config of its own) to tls.Client. The
// handshake itself runs with InsecureSkipVerify, because the WebPKI plays
// no part here: the DNS names the server's key or its trust anchor, and
// Verify checks the presented chain against that.
//
// The package holds no state; the clock is passed in.
package dane
