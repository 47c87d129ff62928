#!/usr/bin/python3
"""A whole session of Python's imaplib against a postern sandbox's
imapd: login, list, select, fetch (bodies, BODYSTRUCTURE, partials),
search, store, copy, move, append, expunge, idle (woken by a delivery
over SMTP), logout.

Usage: imapsession.py BASE USER PASSWORD

Prints one line per response, with what changes from run to run
(UIDVALIDITY, dates, sizes) masked, for the golden file."""
import imaplib, re, smtplib, socket, ssl, sys

base, user, password = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE


def mask(s):
    s = s.decode(errors="replace") if isinstance(s, bytes) else str(s)
    s = re.sub(r"(UIDVALIDITY|COPYUID|APPENDUID) \d+", r"\1 V", s)
    s = re.sub(r'"\d\d-\w\w\w-\d{4} \d\d:\d\d:\d\d [+-]\d{4}"', '"DATE"', s)
    s = re.sub(r"RFC822.SIZE \d+", "RFC822.SIZE N", s)
    s = re.sub(r"HIGHESTMODSEQ \d+", "HIGHESTMODSEQ M", s)
    return s


def show(name, res):
    typ, data = res
    print(name, typ)
    for d in data:
        if isinstance(d, tuple):
            print("  ", mask(d[0]))
            print("  ", mask(d[1]).replace("\r\n", "|"))
        elif d is not None:
            print("  ", mask(d))


m = imaplib.IMAP4("127.0.0.1", base + 143)
m.starttls(ssl_context=ctx)
show("login", m.login(user, password))
print("caps", " ".join(sorted(m.capabilities)))
show("list", m.list())
show("select", m.select("INBOX"))
for k in ("EXISTS", "RECENT", "UIDVALIDITY", "UIDNEXT", "FLAGS", "PERMANENTFLAGS"):
    v = mask(m.untagged_responses.get(k, [b""])[-1])
    print("  ", k, "V" if k == "UIDVALIDITY" else v)
show("fetch-envelope", m.fetch("1:*", "(FLAGS ENVELOPE RFC822.SIZE)"))
show("fetch-body", m.fetch("2", "(BODYSTRUCTURE BODY.PEEK[1] BODY.PEEK[2.MIME] BODY.PEEK[]<0.20>)"))
show("fetch-header", m.uid("FETCH", "1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])"))
show("search-subject", m.search(None, "SUBJECT", "two"))
show("search-body", m.search(None, "BODY", "attached"))
show("uid-search", m.uid("SEARCH", "ALL"))
show("store", m.store("1", "+FLAGS", r"(\Flagged \Seen)"))
show("fetch-seen", m.fetch("2", "(BODY[TEXT]<0.10>)"))
show("fetch-flags", m.fetch("1:*", "(FLAGS)"))
show("create", m.create("Archive/2026"))
show("copy", m.copy("1", "Archive/2026"))
show("copy-missing", m.copy("1", "Nowhere"))
show("move", m.uid("MOVE", "2", "Trash"))
show("status-trash", m.status("Trash", "(MESSAGES UNSEEN)"))
msg = b"From: me@example.test\r\nSubject: appended\r\n\r\nAppended body.\r\n"
show("append", m.append("INBOX", r"(\Draft)", None, msg))
show("noop", m.noop())
show("store-deleted", m.store("1", "+FLAGS.SILENT", r"(\Deleted)"))
show("expunge", m.expunge())
show("fetch-after", m.fetch("1:*", "(UID FLAGS)"))

# IDLE by hand (imaplib in 3.11 has none): a delivery must wake it.
tag = m._new_tag().decode()
m.send(("%s IDLE\r\n" % tag).encode())
print("idle", m.readline().decode().strip())
with smtplib.SMTP("127.0.0.1", base + 25) as s:
    s.sendmail("sender@client.example", [user], b"Subject: during idle\r\n\r\nhello\r\n")
socket.setdefaulttimeout(20)
line = m.readline().decode().strip()
print("idle-update", line)
m.send(b"DONE\r\n")
while True:
    line = m.readline().decode().strip()
    print("idle-end", line.replace(tag, "TAG"))
    if line.startswith(tag):
        break
show("fetch-new", m.fetch("*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])"))
show("close", m.close())
show("logout", m.logout())
