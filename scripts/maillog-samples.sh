#!/usr/bin/env bash
# Makes the samples of the maillog reader with the real daemons: Postfix 3.7 and Dovecot 2.3 (Debian 12),
# set up on loopback only (127.0.0.x), mail driven through them by scripts/maillog-samples/drive.py, and
# the logs they write copied to samples/maillog/capture/. Needs root and Debian's packages:
#   apt-get install -y postfix dovecot-imapd dovecot-pop3d dovecot-lmtpd rsyslog python3
# There is no systemd: every daemon is started by hand and stopped by its PID at the end (also on failure).
#
# Two captures, A and B, each a fresh Postfix instance (own config dir, queue, data dir) and Dovecot:
#   A  Postfix `maillog_file` (postlogd) → capture/postfix.log; Dovecot `log_path` → capture/dovecot.log
#   B  both to syslog through rsyslogd (on /dev/log): capture/mail.log in RSYSLOG_TraditionalFileFormat (the
#      classic Debian /var/log/mail.log) and capture/mail-rfc3339.log in RSYSLOG_FileFormat (RFC 3339 with
#      fraction and offset), written by the same rsyslogd from the same messages; Postfix with
#      enable_long_queue_ids, Dovecot POP3 with a site-added bytes=%i/%o.
# Servers: Postfix smtpd 127.0.0.1:25 (content filter scan:[127.0.0.1]:10024, re-injection on :10025),
# submission 127.0.0.1:587 (SASL through Dovecot), pickup; Dovecot IMAP :143, POP3 :110, LMTP and auth on
# sockets in Postfix's queue. "Remote" mail servers are Postfix's smtp-sink on 127.0.0.2/127.0.0.4:2525.
# The daemons run with TZ=Europe/Berlin, so classic stamps are Berlin local time and RFC 3339 ones say +01:00.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
HERE="$REPO/scripts/maillog-samples"
OUT="$REPO/samples/maillog/capture"
WORK=${MAILLOG_SAMPLES_WORK:-/tmp/maillog-samples}
export TZ=Europe/Berlin
PIDS=()

[ "$(id -u)" = 0 ] || { echo "run as root (daemons bind privileged loopback ports)" >&2; exit 2; }
for bin in postfix dovecot smtp-sink rsyslogd python3; do
  command -v "$bin" >/dev/null || { echo "missing $bin: apt-get install -y postfix dovecot-imapd dovecot-pop3d dovecot-lmtpd rsyslog python3" >&2; exit 2; }
done
for port in 25 587 143 110 10024 10025; do
  if ss -ltn "sport = :$port" | grep -q LISTEN; then echo "port $port is in use on this machine: stop that first" >&2; exit 2; fi
done

stop_all() {
  # Every daemon we started, by its PID (Postfix and Dovecot masters write theirs), newest first.
  for pidfile in "$WORK"/dovecot-run/master.pid "$WORK"/spool/pid/master.pid; do
    [ -s "$pidfile" ] && kill "$(tr -d ' ' < "$pidfile")" 2>/dev/null || true
  done
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do kill "${PIDS[i]}" 2>/dev/null || true; done
  sleep 2
  if [ -n "${RSYSLOG_SOCKET:-}" ]; then rm -f /dev/log; fi
}
trap stop_all EXIT

bg() { "$@" & PIDS+=($!); }

setup_postfix() { # $1 = phase
  local conf="$WORK/postfix"
  rm -rf "$WORK" && mkdir -p "$conf" "$WORK/spool" "$WORK/data" "$WORK/vmail" "$WORK/logs"
  chown postfix "$WORK/data"
  chown nobody:nogroup "$WORK/vmail"
  local maillog_file="" long_ids=no
  if [ "$1" = A ]; then maillog_file="$WORK/logs/postfix.log"; else long_ids=yes; fi
  cat > "$conf/main.cf" <<CF
compatibility_level = 3.6
queue_directory = $WORK/spool
data_directory = $WORK/data
meta_directory = /etc/postfix
mail_owner = postfix
setgid_group = postdrop
myhostname = mail.hosting.example
mydomain = hosting.example
myorigin = \$myhostname
mydestination = \$myhostname, localhost
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.1/32
maillog_file = $maillog_file
enable_long_queue_ids = $long_ids
alias_maps = hash:$conf/aliases
alias_database = hash:$conf/aliases
virtual_mailbox_domains = alpha.example, beta.example
virtual_transport = lmtp:unix:private/dovecot-lmtp
virtual_alias_maps = hash:$conf/virtual
transport_maps = hash:$conf/transport
smtpd_sasl_type = dovecot
smtpd_sasl_path = private/auth
smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination
smtpd_peername_lookup = no
smtp_dns_support_level = disabled
lmtp_dns_support_level = disabled
biff = no
smtputf8_enable = no
queue_run_delay = 10s
minimal_backoff_time = 10s
maximal_backoff_time = 20s
maximal_queue_lifetime = 75s
bounce_queue_lifetime = 75s
delay_warning_time = 0
maillog_file_prefixes = $WORK/logs
CF
  cat > "$conf/master.cf" <<'CF'
127.0.0.1:smtp inet n - n - - smtpd
  -o content_filter=scan:[127.0.0.1]:10024
127.0.0.1:submission inet n - n - - smtpd
  -o syslog_name=postfix/submission
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_tls_security_level=none
  -o smtpd_client_restrictions=permit_sasl_authenticated,reject
  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject
127.0.0.1:10025 inet n - n - - smtpd
  -o content_filter=
  -o receive_override_options=no_unknown_recipient_checks,no_header_body_checks,no_milters
  -o smtpd_authorized_xforward_hosts=127.0.0.0/8
  -o mynetworks=127.0.0.0/8
  -o smtpd_client_restrictions=
  -o smtpd_relay_restrictions=permit_mynetworks,reject
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
  -o syslog_name=postfix/$service_name
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
scan      unix  -       -       n       -       4       smtp
  -o smtp_send_xforward_command=yes
  -o disable_mime_output_conversion=yes
CF
  printf 'postmaster: root\nroot: alice@alpha.example\n' > "$conf/aliases"
  printf 'fwd@beta.example friend@remote.example\nsales@alpha.example alice@alpha.example, bob@alpha.example\n' > "$conf/virtual"
  printf 'remote.example smtp:[127.0.0.2]:2525\nslow.example smtp:[127.0.0.4]:2525\nnever.example smtp:[127.0.0.3]:2525\n' > "$conf/transport"
  postalias -c "$conf" "$conf/aliases"
  postmap -c "$conf" "$conf/virtual" "$conf/transport"
  postfix -c "$conf" set-permissions >/dev/null 2>&1 || true
  postfix -c "$conf" check
}

setup_dovecot() { # $1 = phase
  local conf="$WORK/dovecot" log_path pop3_format
  mkdir -p "$conf" "$WORK/dovecot-run"
  if [ "$1" = A ]; then
    log_path="$WORK/logs/dovecot.log"
    pop3_format='top=%t/%p, retr=%r/%b, del=%d/%m, size=%s'
  else
    log_path=syslog
    pop3_format='top=%t/%p, retr=%r/%b, del=%d/%m, size=%s, bytes=%i/%o'
  fi
  : > "$conf/users"
  for u in alice@alpha.example bob@alpha.example frank@beta.example carol@beta.example legacy; do
    d=${u#*@}; [ "$d" = "$u" ] && d=beta.example
    echo "$u:{PLAIN}sample-password:65534:65534::$WORK/vmail/$d/${u%@*}::" >> "$conf/users"
  done
  cat > "$conf/dovecot.conf" <<CF
base_dir = $WORK/dovecot-run
state_dir = $WORK/dovecot-state
protocols = imap pop3 lmtp
listen = 127.0.0.1
log_path = $log_path
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 65534
first_valid_gid = 65534
mail_location = maildir:~/Maildir
passdb {
  driver = passwd-file
  args = scheme=PLAIN $conf/users
}
userdb {
  driver = passwd-file
  args = $conf/users
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = 143
  }
}
service pop3-login {
  inet_listener pop3 {
    address = 127.0.0.1
    port = 110
  }
}
service lmtp {
  unix_listener $WORK/spool/private/dovecot-lmtp {
    mode = 0600
    user = postfix
    group = postfix
  }
}
service auth {
  unix_listener $WORK/spool/private/auth {
    mode = 0660
    user = postfix
    group = postfix
  }
}
protocol lmtp {
  postmaster_address = postmaster@mail.hosting.example
}
protocol pop3 {
  pop3_logout_format = $pop3_format
}
CF
  mkdir -p "$WORK/dovecot-state"
}

start_rsyslog() {
  mkdir -p "$WORK/rsyslog"
  cat > "$WORK/rsyslog/rsyslog.conf" <<CF
global(workDirectory="$WORK/rsyslog" localHostname="mail")
module(load="imuxsock")
mail.* action(type="omfile" file="$WORK/logs/mail.log" template="RSYSLOG_TraditionalFileFormat")
mail.* action(type="omfile" file="$WORK/logs/mail-rfc3339.log" template="RSYSLOG_FileFormat")
CF
  [ -e /dev/log ] && { echo "/dev/log exists: another syslog daemon runs here; stop it first" >&2; exit 2; }
  RSYSLOG_SOCKET=1
  bg rsyslogd -n -f "$WORK/rsyslog/rsyslog.conf" -i "$WORK/rsyslog/rsyslogd.pid"
  for _ in $(seq 50); do [ -S /dev/log ] && break; sleep 0.1; done
}

capture() { # $1 = phase
  local phase=$1
  echo "== capture $phase" >&2
  PIDS=()
  setup_postfix "$phase"
  setup_dovecot "$phase"
  [ "$phase" = B ] && start_rsyslog
  dovecot -c "$WORK/dovecot/dovecot.conf"
  postfix -c "$WORK/postfix" start
  bg smtp-sink -u postfix -h mx.remote.example 127.0.0.2:2525 64
  bg python3 "$HERE/filter.py"
  sleep 2
  python3 "$HERE/drive.py" "$phase" "$WORK/postfix"
  # slow.example gets a server now: the deferred message goes out on the next retry (its qmgr line repeats).
  bg smtp-sink -u postfix -h mx.slow.example 127.0.0.4:2525 64
  echo "  waiting for the retry and for ghost@never.example to expire (≈ 2 min)" >&2
  for _ in $(seq 60); do
    sleep 5
    [ -z "$(find "$WORK/spool/deferred" "$WORK/spool/active" "$WORK/spool/incoming" -type f 2>/dev/null)" ] && break
    postqueue -c "$WORK/postfix" -f >/dev/null 2>&1 || true
  done
  sleep 3
  stop_all
  PIDS=()
  RSYSLOG_SOCKET=
  mkdir -p "$OUT"
  if [ "$phase" = A ]; then
    cp "$WORK/logs/postfix.log" "$WORK/logs/dovecot.log" "$OUT/"
  else
    cp "$WORK/logs/mail.log" "$WORK/logs/mail-rfc3339.log" "$OUT/"
  fi
}

capture A
capture B
trap - EXIT
echo "captured: $(ls "$OUT")" >&2
