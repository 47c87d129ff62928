#!/usr/bin/python3
"""A whole session of Python's poplib against a postern sandbox's pop3d,
through the login front with STLS: capa, login, stat, list, uidl, top,
retr, dele, rset, dele again, noop, quit; then a second session (POP3
over TLS on 995) that sees the deletion and the same UIDL, and quits.

Usage: pop3session.py BASE USER PASSWORD

Prints one line per response, with what changes from run to run (sizes,
UIDLs, dates, queue IDs) masked, for the golden file."""
import poplib, re, ssl, sys

base, user, password = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE


def mask(s):
    s = s.decode(errors="replace") if isinstance(s, bytes) else str(s)
    s = re.sub(r"\b[0-9A-F]{16}\b", "UIDL", s)
    s = re.sub(r"\b[0-9A-V]{16}\b", "QUEUEID", s)
    s = re.sub(r"\w\w\w, \d\d? \w\w\w \d{4} \d\d:\d\d:\d\d [+-]\d{4}", "DATE", s)
    s = re.sub(r"^(\+OK \d+|\d+) \d+$", r"\1 SIZE", s)
    s = re.sub(r"\d+ octets", "N octets", s)
    return s


def show(name, resp, lines=None):
    print(name, mask(resp))
    for l in lines or []:
        print("  ", mask(l))


p = poplib.POP3("127.0.0.1", base + 110)
print("greeting", mask(p.getwelcome()))
show("capa", b"+OK", [k.encode() for k in sorted(p.capa())])
p.stls(context=ctx)
p.user(user)
show("pass", p.pass_(password))
count, size = p.stat()
print("stat", count, "SIZE" if size > 0 else 0)
resp, lines, _ = p.list()
show("list", resp, lines)
resp, lines, _ = p.uidl()
show("uidl", resp, lines)
uidl_second = p.uidl(2).split()[2]
resp, lines, _ = p.top(1, 0)
show("top 1 0", resp, [l for l in lines if l.startswith(b"Subject:")])
resp, lines, _ = p.retr(2)
show("retr 2", resp, [l for l in lines if l.startswith(b"Subject:") or l.startswith(b"second")])
show("dele 1", p.dele(1))
try:
    p.retr(1)
except poplib.error_proto as e:
    print("retr deleted", mask(e.args[0]))
show("rset", p.rset())
count, _ = p.stat()
print("stat after rset", count)
show("dele 1", p.dele(1))
show("noop", p.noop())
show("quit", p.quit())

p = poplib.POP3_SSL("127.0.0.1", base + 995, context=ctx)
p.user(user)
show("pass again", p.pass_(password))
count, _ = p.stat()
print("stat again", count)
print("uidl of the message left is kept:", p.uidl(1).split()[2] == uidl_second)
show("quit again", p.quit())
