#!/usr/bin/env python3
"""A content filter in the amavis mould, for scripts/maillog-samples.sh only.

Postfix hands it mail over SMTP on 127.0.0.1:10024 (transport `scan`, with XFORWARD); it adds a header and
re-injects the message into Postfix on 127.0.0.1:10025, then answers Postfix the way amavisd-new does:
`250 2.0.0 from MTA(smtp:[127.0.0.1]:10025): 250 2.0.0 Ok: queued as <id>`. A header in the message picks a
variant, so the samples hold every way a filter hop is linked to its re-injected copy:
  X-Sample-Filter: normal        XFORWARD IDENT passed on (Postfix logs orig_queue_id=) and "queued as" in the reply
  X-Sample-Filter: no-ident      no IDENT: only the reply's "queued as" links the copy
  X-Sample-Filter: no-queued-as  IDENT passed, reply without "queued as": only orig_queue_id= links the copy
  X-Sample-Filter: slow          like no-ident, and the reply waits 3 s, so Postfix logs the link after the copy's
                                 own delivery and `removed` lines (as amavis does under load)
Loopback only.
"""
import re
import smtplib
import socket
import socketserver
import sys
import threading
import time

LISTEN = ('127.0.0.1', 10024)
REINJECT = ('127.0.0.1', 10025)


class Handler(socketserver.StreamRequestHandler):
    def send(self, line):
        self.wfile.write((line + '\r\n').encode())
        self.wfile.flush()

    def handle(self):
        self.send('220 filter.sample ESMTP content filter')
        xforward = {}
        sender = None
        rcpts = []
        while True:
            raw = self.rfile.readline()
            if not raw:
                return
            line = raw.decode('utf-8', 'replace').rstrip('\r\n')
            cmd = line.split(' ', 1)[0].upper()
            if cmd in ('EHLO', 'HELO'):
                self.send('250-filter.sample')
                self.send('250-XFORWARD NAME ADDR PROTO HELO SOURCE PORT IDENT')
                self.send('250 8BITMIME')
            elif cmd == 'XFORWARD':
                for attr in line.split(' ')[1:]:
                    if '=' in attr:
                        k, v = attr.split('=', 1)
                        xforward[k.upper()] = v
                self.send('250 2.0.0 Ok')
            elif cmd == 'MAIL':
                sender = re.search(r'<(.*?)>', line).group(1)
                rcpts = []
                self.send('250 2.1.0 Ok')
            elif cmd == 'RCPT':
                rcpts.append(re.search(r'<(.*?)>', line).group(1))
                self.send('250 2.1.5 Ok')
            elif cmd == 'DATA':
                self.send('354 End data with <CR><LF>.<CR><LF>')
                data = bytearray()
                while True:
                    chunk = self.rfile.readline()
                    if chunk in (b'.\r\n', b'.\n', b''):
                        break
                    data += chunk[1:] if chunk.startswith(b'..') else chunk
                self.send(self.reinject(sender, rcpts, bytes(data), xforward))
                sender, rcpts = None, []
            elif cmd == 'RSET':
                sender, rcpts = None, []
                self.send('250 2.0.0 Ok')
            elif cmd == 'QUIT':
                self.send('221 2.0.0 Bye')
                return
            else:
                self.send('250 2.0.0 Ok')

    def reinject(self, sender, rcpts, data, xforward):
        m = re.search(rb'^X-Sample-Filter: *(\S+)', data, re.M | re.I)
        mode = m.group(1).decode() if m else 'normal'
        body = b'X-Virus-Scanned: sample content filter at filter.sample\r\n' + data
        s = smtplib.SMTP(REINJECT[0], REINJECT[1], local_hostname='filter.sample')
        s.ehlo()
        attrs = [f'{k}={v}' for k, v in xforward.items() if k != 'IDENT' or mode in ('normal', 'no-queued-as')]
        if attrs:
            s.docmd('XFORWARD', ' '.join(attrs))
        s.mail(sender)
        for r in rcpts:
            s.rcpt(r)
        code, reply = s.data(body)
        s.quit()
        reply = reply.decode()
        if mode == 'slow':
            time.sleep(3)
        if mode == 'no-queued-as':
            return f'250 2.0.0 Ok, passed CLEAN (re-injected, {len(body)} bytes)'
        return f'250 2.0.0 from MTA(smtp:[{REINJECT[0]}]:{REINJECT[1]}): {code} {reply}'


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


if __name__ == '__main__':
    with Server(LISTEN, Handler) as server:
        print(f'filter listening on {LISTEN[0]}:{LISTEN[1]}', file=sys.stderr, flush=True)
        server.serve_forever()
