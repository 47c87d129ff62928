#!/usr/bin/python3
# dkim-verify.py - verify every DKIM-Signature of one message with dkimpy
# =====================================================================
#
# Usage: dkim-verify.py MESSAGE ZONE
#   MESSAGE  a message file (LF or CRLF line ends; smtp-sink -d dumps are
#            fine: its pseudo-header fields are not signed)
#   ZONE     zone-file lines "NAME. IN TXT "..." ..." as postern dkim
#            keygen prints them (lines starting with ";" are comments);
#            they answer dkimpy's DNS, nothing is asked on the network
#
# Prints one line per signature, top to bottom: "a=ALG pass" or
# "a=ALG fail (why)". Exit status 0 if there is at least one signature
# and all pass, 1 otherwise, 2 if dkimpy (Debian: python3-dkim) is
# missing.
# =====================================================================
import re
import sys

try:
    import dkim
except ImportError:
    print("dkim-verify: dkimpy not installed (Debian: apt-get install python3-dkim)", file=sys.stderr)
    sys.exit(2)

msg = open(sys.argv[1], "rb").read()
records = {}
for line in open(sys.argv[2]):
    line = line.strip()
    if not line or line.startswith(";"):
        continue
    name, rest = line.split(None, 1)
    records[name.rstrip(".").lower()] = "".join(re.findall(r'"([^"]*)"', rest)).encode()


def dnsfunc(name, timeout=5):
    return records.get(name.decode().rstrip(".").lower())


n = len(re.findall(rb"(?mi)^DKIM-Signature:", msg))
ok = n > 0
for i in range(n):
    d = dkim.DKIM(msg)
    try:
        good, why = d.verify(idx=i, dnsfunc=dnsfunc), ""
    except dkim.DKIMException as e:
        good, why = False, str(e)
    alg = d.signature_fields.get(b"a", b"?").decode()
    print("a=%s %s%s" % (alg, "pass" if good else "fail", " (%s)" % why if why else ""))
    ok = ok and good
sys.exit(0 if ok else 1)
