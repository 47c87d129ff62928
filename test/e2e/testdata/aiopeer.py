#!/usr/bin/python3
"""aiopeer: Debian's aiosmtpd as an independent receiving SMTP server.

The outbound tests check what a server written apart from postern makes
of what postern's SMTP client sends, so that a misreading shared by the
client and a sink written beside it cannot hide a defect.

Usage: aiopeer.py OUTFILE [--strict-7bit] [--reject ADDR]...
                  [--tls CERT KEY] [--auth USER:PASSWORD]

Listens on 127.0.0.1, on a port of the kernel's choosing, and prints
that port on the first line of standard output. Each message accepted
is appended to OUTFILE as one JSON line: the envelope as aiosmtpd parsed
it (mail_from and rcpt_tos in RFC 5321 form, quoted where needed; the
parameters) and the message bytes, base64. --strict-7bit leaves 8BITMIME
out of the EHLO reply and refuses any octet over 127 in the message
("500 Error: strict ASCII mode"). aiosmtpd refuses a message with a line
over 1001 octets ("500 Line too long"). --reject ADDR answers RCPT for
ADDR (as aiosmtpd renders it) with 550. --tls offers STARTTLS with the
PEM certificate chain CERT and its key KEY. --auth requires a login
before MAIL, with aiosmtpd's PLAIN and LOGIN, which it offers inside
TLS only; each login is appended to OUTFILE.auth as a line "MECHANISM
USER ok" (or "failed").
"""

import asyncio
import base64
import json
import logging
import ssl
import sys

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class Handler:
    def __init__(self, out, reject):
        self.out = out
        self.reject = reject

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.reject:
            return "550 5.1.1 <%s>: no such user here" % address
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.append(rcpt_options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        rec = {
            "mail_from": envelope.mail_from,
            "mail_options": envelope.mail_options,
            "rcpt_tos": envelope.rcpt_tos,
            "rcpt_options": envelope.rcpt_options,
            "data": base64.b64encode(envelope.original_content).decode(),
        }
        with open(self.out, "a") as f:
            f.write(json.dumps(rec) + "\n")
        return "250 2.0.0 OK: queued"


async def main():
    args = sys.argv[1:]
    out, strict, reject = args[0], False, set()
    tls, auth = None, None
    i = 1
    while i < len(args):
        if args[i] == "--strict-7bit":
            strict = True
        elif args[i] == "--reject":
            i += 1
            reject.add(args[i])
        elif args[i] == "--tls":
            tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            tls.load_cert_chain(args[i + 1], args[i + 2])
            i += 2
        elif args[i] == "--auth":
            i += 1
            auth = args[i].split(":", 1)
        else:
            sys.exit("aiopeer: unknown argument " + args[i])
        i += 1
    handler = Handler(out, reject)

    def authenticator(server, session, envelope, mechanism, data):
        ok = (isinstance(data, LoginPassword)
              and [data.login.decode(), data.password.decode()] == auth)
        user = data.login.decode() if isinstance(data, LoginPassword) else ""
        with open(out + ".auth", "a") as f:
            f.write("%s %s %s\n" % (mechanism, user, "ok" if ok else "failed"))
        return AuthResult(success=ok)

    # aiosmtpd 1.4 logs a warning about its own use of a field it
    # deprecated at every successful login; errors still show.
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    extra = {}
    if tls is not None:
        extra["tls_context"] = tls
    if auth is not None:
        extra.update(authenticator=authenticator, auth_required=True,
                     auth_require_tls=True)
    loop = asyncio.get_running_loop()
    srv = await loop.create_server(
        lambda: SMTP(handler, hostname="aiopeer.example", decode_data=strict,
                     enable_SMTPUTF8=False, **extra),
        "127.0.0.1", 0)
    print(srv.sockets[0].getsockname()[1], flush=True)
    # The test ends the peer by closing its standard input.
    await loop.run_in_executor(None, sys.stdin.read)
    srv.close()


if __name__ == "__main__":
    asyncio.run(main())
