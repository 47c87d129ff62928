#!/usr/bin/python3
"""Python's imaplib and poplib against a postern sandbox's IMAP and POP3
login processes and the sessions they hand clients to.

Usage: mailaccess.py BASE USER PASSWORD

Prints one JSON object: what each step saw. Certificates are not
verified (the sandbox's is self-signed)."""
import imaplib, json, poplib, ssl, sys

base, user, password = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
out = {}


def err(f):
    try:
        f()
    except Exception as e:  # the refusal's text is what the test checks
        return str(e)
    return None


def s(b):
    return b.decode() if isinstance(b, bytes) else b


# IMAP on 143: no password before STARTTLS.
m = imaplib.IMAP4("127.0.0.1", base + 143)
out["imap_caps_plain"] = list(m.capabilities)
out["imap_login_plain"] = err(lambda: m.login(user, password))
m.starttls(ssl_context=ctx)
out["imap_caps_tls"] = list(m.capabilities)
out["imap_login_wrong"] = err(lambda: m.login(user, password + "x"))
typ, data = m.login(user, password)
out["imap_login"] = [typ, s(data[0])]
typ, data = m.select("INBOX")
out["imap_select"] = [typ, s(data[0])]
out["imap_noop"] = m.noop()[0]
typ, data = m.fetch("1", "(FLAGS)")
out["imap_fetch"] = [typ, s(data[0])]
out["imap_logout"] = m.logout()[0]

# IMAP on 993: TLS from the first byte.
m = imaplib.IMAP4_SSL("127.0.0.1", base + 993, ssl_context=ctx)
out["imaps_caps"] = list(m.capabilities)
# AUTHENTICATE PLAIN, the exchange with a "+" challenge.
out["imaps_login"] = m.authenticate("PLAIN", lambda _: ("\0%s\0%s" % (user, password)).encode())[0]
out["imaps_select"] = s(m.select("INBOX")[1][0])
out["imaps_logout"] = m.logout()[0]

# POP3 on 110: no USER before STLS.
p = poplib.POP3("127.0.0.1", base + 110)
out["pop3_capa_plain"] = sorted(p.capa())
out["pop3_user_plain"] = err(lambda: p.user(user))
p.stls(context=ctx)
out["pop3_capa_tls"] = sorted(p.capa())
p.user(user)
out["pop3_pass_wrong"] = err(lambda: p.pass_(password + "x"))
p.user(user)
out["pop3_pass"] = s(p.pass_(password))
out["pop3_stat"] = list(p.stat())
resp, lines, _ = p.list()
out["pop3_list"] = [s(resp), len(lines)]
out["pop3_quit"] = s(p.quit())

# POP3 on 995.
p = poplib.POP3_SSL("127.0.0.1", base + 995, context=ctx)
p.user(user)
out["pop3s_pass"] = s(p.pass_(password))
out["pop3s_stat"] = list(p.stat())
out["pop3s_quit"] = s(p.quit())

print(json.dumps(out))
