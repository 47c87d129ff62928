#!/usr/bin/env python3
"""Real-client side of postern's end-to-end tests, on Python's standard
library only (smtplib, email). Prints JSON on stdout for the Go tests.

  mailtool.py send HOST PORT FROM TO COUNT THREADS [PREFIX]
      COUNT messages over THREADS concurrent connections (one connection
      per thread, reused); prints {"accepted": [ids], "failed": [[id, err]]}
  mailtool.py read MAILDIR
      parses every message in MAILDIR/new with the email package; prints a
      list of {"file", "subject", "message_id", "return_path",
      "delivered_to", "received", "body"}
"""
import email
import email.policy
import json
import os
import smtplib
import sys
import threading
from email.message import EmailMessage


def send(host, port, sender, rcpt, count, threads, prefix="m"):
    count, threads, port = int(count), int(threads), int(port)
    accepted, failed = [], []
    lock = threading.Lock()

    def worker(n):
        ids = [i for i in range(count) if i % threads == n]
        if not ids:
            return
        s = smtplib.SMTP(host, port, timeout=60)
        s.ehlo("client.example")
        for i in ids:
            mid = "%s-%d" % (prefix, i)
            msg = EmailMessage()
            msg["From"] = sender
            msg["To"] = rcpt
            msg["Subject"] = "test %s" % mid
            msg["Message-ID"] = "<%s@client.example>" % mid
            msg.set_content("Body of %s.\nSecond line.\n.leading dot\n" % mid)
            try:
                s.send_message(msg, from_addr=sender, to_addrs=[rcpt])
                with lock:
                    accepted.append(mid)
            except Exception as e:  # noqa: BLE001 - report every failure
                with lock:
                    failed.append([mid, repr(e)])
        s.quit()

    ts = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    json.dump({"accepted": accepted, "failed": failed}, sys.stdout)


def read(maildir):
    out = []
    newdir = os.path.join(maildir, "new")
    for name in sorted(os.listdir(newdir)):
        with open(os.path.join(newdir, name), "rb") as f:
            msg = email.message_from_binary_file(f, policy=email.policy.default)
        body = msg.get_body(preferencelist=("plain",))
        out.append({
            "file": name,
            "subject": str(msg["Subject"] or ""),
            "message_id": str(msg["Message-ID"] or ""),
            "return_path": str(msg["Return-Path"] or ""),
            "delivered_to": [str(v) for v in msg.get_all("Delivered-To", [])],
            "received": [str(v) for v in msg.get_all("Received", [])],
            "first_header": list(msg.keys())[0] if msg.keys() else "",
            "body": body.get_content() if body is not None else "",
            "defects": [repr(d) for d in msg.defects],
        })
    json.dump(out, sys.stdout)


def dsns(maildir):
    """Every delivery status notification in maildir, as Python's email
    package reads it: the report's per-message and per-recipient fields."""
    out = []
    newdir = os.path.join(maildir, "new")
    for name in sorted(os.listdir(newdir)):
        with open(os.path.join(newdir, name), "rb") as f:
            msg = email.message_from_binary_file(f, policy=email.policy.default)
        if msg.get_content_type() != "multipart/report":
            continue
        parts = list(msg.iter_parts())
        status = [p for p in parts if p.get_content_type() in ("message/delivery-status", "message/global-delivery-status")]
        blocks = []
        if status:
            # The email package parses delivery-status into a list of
            # header blocks: the per-message one, then one per recipient.
            for block in status[0].get_payload():
                blocks.append({k: str(v) for k, v in block.items()})
        out.append({
            "file": name,
            "subject": str(msg["Subject"] or ""),
            "to": str(msg["To"] or ""),
            "from": str(msg["From"] or ""),
            "report_type": msg.get_param("report-type") or "",
            "parts": [p.get_content_type() for p in parts],
            "per_message": blocks[0] if blocks else {},
            "recipients": blocks[1:],
            "defects": [repr(d) for d in msg.defects],
        })
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    {"send": send, "read": read, "dsns": dsns}[cmd](*args)
