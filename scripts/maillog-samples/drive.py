#!/usr/bin/env python3
"""Drives mail through the loopback Postfix + Dovecot of scripts/maillog-samples.sh (never anything else).

Usage: drive.py PHASE POSTFIX_CONFIG_DIR
Every SMTP "outside" client binds a 127.0.0.x source address that is not in trustedClients (127.0.0.5);
webmail comes from 127.0.0.1 (trusted). Sizes are fixed so the captured logs are alike from run to run
(queue ids and times are not: they come from the daemons).
"""
import imaplib
import poplib
import smtplib
import socket
import subprocess
import sys
import time

HOST = '127.0.0.1'
OUTSIDE = '127.0.0.5'
PASSWORD = 'sample-password'
phase = sys.argv[1]
conf = sys.argv[2]


def body(subject, size, sender, rcpts, extra=()):
    head = [f'From: <{sender}>', f'To: {", ".join("<" + r + ">" for r in rcpts)}', f'Subject: {subject}',
            f'Message-ID: <{phase}.{subject.replace(" ", "-")}@samples.invalid>', *extra, '', '']
    text = '\r\n'.join(head)
    line = 'The quick brown fox jumps over the lazy dog 0123456789.\r\n'
    while len(text) < size:
        text += line
    return text[:size] + '\r\n'


def smtp(port, sender, rcpts, subject, size, source=OUTSIDE, auth=None, extra=()):
    s = smtplib.SMTP(HOST, port, local_hostname='client.sample', source_address=(source, 0))
    s.ehlo()
    if auth:
        s.login(auth, PASSWORD)
    s.sendmail(sender, rcpts, body(subject, size, sender or 'mailer-daemon@remote.example', rcpts, extra))
    s.quit()


def pickup(sender, rcpts, subject, size):
    subprocess.run(['/usr/sbin/sendmail', '-C', conf, '-f', sender, *rcpts],
                   input=body(subject, size, sender, rcpts).replace('\r\n', '\n').encode(), check=True)


def imap(user, fetch=True, append=0, logout=True):
    c = imaplib.IMAP4(HOST, 143)
    c.login(user, PASSWORD)
    if append:
        c.create('Sent')
        msg = body('kept copy', append, user if '@' in user else user + '@beta.example', ['friend@remote.example'])
        c.append('Sent', '(\\Seen)', None, msg.encode())
    c.select('INBOX')
    if fetch:
        typ, data = c.search(None, 'ALL')
        for num in data[0].split():
            c.fetch(num, '(RFC822)')
    if logout:
        c.logout()
    else:
        c.shutdown()  # the client goes away without LOGOUT: Dovecot logs "Connection closed"


def pop3(user, delete_first=False):
    c = poplib.POP3(HOST, 110)
    c.user(user)
    c.pass_(PASSWORD)
    count, _ = c.stat()
    c.top(1, 5) if count else None
    for i in range(1, count + 1):
        c.retr(i)
    if delete_first and count:
        c.dele(1)
    c.quit()


def wait(seconds, why):
    print(f'  waiting {seconds}s: {why}', file=sys.stderr, flush=True)
    time.sleep(seconds)


def step(what):
    print(f'- {what}', file=sys.stderr, flush=True)


step('outside -> alice (filtered; IDENT and "queued as": linked both ways)')
smtp(25, 'carl@remote.example', ['alice@alpha.example'], 'hello alice', 4000, extra=['X-Sample-Filter: normal'])
step('outside -> bob + frank (filtered; only "queued as", logged after the copy is removed)')
smtp(25, 'carl@remote.example', ['bob@alpha.example', 'frank@beta.example'], 'to two domains', 12000, extra=['X-Sample-Filter: slow'])
step('outside -> fwd@beta.example, a forwarder to friend@remote.example (filtered; only orig_queue_id=)')
smtp(25, 'dora@remote.example', ['fwd@beta.example'], 'please forward', 6000, extra=['X-Sample-Filter: no-queued-as'])
step('outside -> sales@alpha.example, an alias of alice and bob')
smtp(25, 'erin@remote.example', ['sales@alpha.example'], 'price list', 9000, extra=['X-Sample-Filter: no-ident'])
step('outside -> nobody@alpha.example: Dovecot LMTP refuses it, Postfix bounces to the sender')
smtp(25, 'carl@remote.example', ['nobody@alpha.example'], 'wrong address', 3000)
step('outside, null sender (a DSN arriving) -> alice')
smtp(25, '', ['alice@alpha.example'], 'delivery status', 2500)
step('submission as frank@beta.example -> friend@remote.example + carol@beta.example')
smtp(587, 'frank@beta.example', ['friend@remote.example', 'carol@beta.example'], 'minutes', 20000, source=OUTSIDE, auth='frank@beta.example')
step('submission as bare user legacy, envelope sender legacy@beta.example -> dave@remote.example')
smtp(587, 'legacy@beta.example', ['dave@remote.example'], 'old account', 5000, source=OUTSIDE, auth='legacy')
step('webmail on 127.0.0.1 (trusted, filtered) -> friend@remote.example')
smtp(25, 'bob@alpha.example', ['friend@remote.example'], 'from webmail', 7000, source='127.0.0.1', extra=['X-Sample-Filter: normal'])
step('pickup: a script sends as info@alpha.example -> friend@remote.example')
pickup('info@alpha.example', ['friend@remote.example'], 'contact form', 1500)
step('pickup: cron mails root (aliased to alice@alpha.example: local forwards it)')
pickup('root', ['root'], 'cron output', 800)
step('submission as alice -> someone@slow.example (no server yet: deferred, delivered on a retry)')
smtp(587, 'alice@alpha.example', ['someone@slow.example'], 'patience', 3500, auth='alice@alpha.example')
step('submission as alice -> ghost@never.example (never answered: expires, returned to sender)')
smtp(587, 'alice@alpha.example', ['ghost@never.example'], 'into the void', 2200, auth='alice@alpha.example')
step('outside -> carol (large, fetched by POP3 later)')
smtp(25, 'carl@remote.example', ['carol@beta.example'], 'big attachment', 150000, extra=['X-Sample-Filter: normal'])
wait(8, 'deliveries and the slow filter hop')

step('IMAP alice: fetch everything, append a copy to Sent, log out')
imap('alice@alpha.example', append=30000)
step('IMAP bob: fetch, then drop the connection')
imap('bob@alpha.example', logout=False)
step('POP3 frank: retrieve all, delete one')
pop3('frank@beta.example', delete_first=True)
step('POP3 carol: retrieve the large message')
pop3('carol@beta.example')
step('IMAP legacy (bare user name)')
imap('legacy', fetch=True)
step('IMAP login with a wrong password')
try:
    c = imaplib.IMAP4(HOST, 143)
    c.login('alice@alpha.example', 'wrong')
except imaplib.IMAP4.error:
    pass
