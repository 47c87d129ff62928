#!/usr/bin/python3
"""Sign a message with dkimpy, an independent DKIM implementation, for the
end-to-end tests of postern's DKIM verification and DMARC.

usage: dkimsign.py DOMAIN SELECTOR KEYFILE [rsa|ed25519] < message > signed

KEYFILE is a PEM RSA private key (PKCS#1) for rsa, or the base64 of the
32-byte Ed25519 seed for ed25519. The message is read as bytes (CRLF line
ends) and written back with the DKIM-Signature field on top.
"""
import sys

import dkim


def main():
    if len(sys.argv) not in (4, 5):
        sys.exit(__doc__)
    domain, selector, keyfile = sys.argv[1:4]
    alg = sys.argv[4] if len(sys.argv) == 5 else "rsa"
    msg = sys.stdin.buffer.read()
    with open(keyfile, "rb") as f:
        key = f.read().strip()
    sig = dkim.sign(
        msg,
        selector.encode(),
        domain.encode(),
        key,
        canonicalize=(b"relaxed", b"relaxed"),
        include_headers=[b"from", b"to", b"subject", b"date", b"message-id"],
        signature_algorithm=b"ed25519-sha256" if alg == "ed25519" else b"rsa-sha256",
    )
    sys.stdout.buffer.write(sig + msg)


if __name__ == "__main__":
    main()
