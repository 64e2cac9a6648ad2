#!/usr/bin/env bash
# End-to-end test of the OS service lifecycle under a real systemd, booted with
# systemd-nspawn (see ../shared/TESTING-NOTES.md). Needs root.
#
#   scripts/e2e-systemd.sh [BINARY]      default: target/release/llm-cli-gateway
#
# The Debian root file system is built once with debootstrap and cached outside the repo
# (LLM_CLI_GATEWAY_E2E_CACHE, default /var/cache/llm-cli-gateway-e2e); each run works on a
# fresh copy. Release directories (a newer bundle, and one that cannot start) are served
# from the host's 127.0.0.1, which the container shares. The scenario runs as a oneshot
# unit inside the container over two boots, writes its log and figures to /e2e, and powers
# off; this script prints them and exits with the scenario's status.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN="${1:-target/release/llm-cli-gateway}"
CACHE="${LLM_CLI_GATEWAY_E2E_CACHE:-/var/cache/llm-cli-gateway-e2e}"
ROOTFS="$CACHE/rootfs"
[ "$(id -u)" = 0 ] || { echo "error: e2e-systemd.sh needs root (systemd-nspawn)" >&2; exit 1; }
[ -x "$BIN" ] || { echo "error: $BIN is not an executable; build it first (scripts/build-release.sh)" >&2; exit 1; }
BIN="$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")"

if ! command -v systemd-nspawn >/dev/null || ! command -v debootstrap >/dev/null; then
  echo "==> installing systemd-container and debootstrap"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq systemd-container debootstrap >/dev/null
fi
if [ ! -x "$ROOTFS/lib/systemd/systemd" ]; then
  echo "==> building the container root file system once (debootstrap, ~3 min) into $ROOTFS"
  mkdir -p "$CACHE"
  rm -rf "$ROOTFS.tmp"
  debootstrap --variant=minbase \
    --include=systemd,systemd-sysv,dbus,libpam-systemd,polkitd,curl,ca-certificates,procps \
    bookworm "$ROOTFS.tmp" >"$CACHE/debootstrap.log" 2>&1 \
    || { tail -20 "$CACHE/debootstrap.log" >&2; exit 1; }
  mv "$ROOTFS.tmp" "$ROOTFS"
fi
# polkitd lets a normal user enable linger for themselves (`loginctl enable-linger`, as on
# any desktop install); caches built before it was in the list get it added once.
if [ ! -x "$ROOTFS/usr/lib/polkit-1/polkitd" ]; then
  echo "==> adding polkitd to the cached root file system"
  systemd-nspawn -D "$ROOTFS" --register=no --keep-unit --quiet -- sh -c \
    'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends polkitd && apt-get clean' \
    >"$CACHE/polkitd.log" 2>&1 || { tail -20 "$CACHE/polkitd.log" >&2; exit 1; }
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/llm-cli-gateway-e2e.XXXXXX")"
HTTP_PID=""
cleanup() {
  [ -n "$HTTP_PID" ] && kill "$HTTP_PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "==> preparing a fresh copy of the root file system"
cp -a "$ROOTFS" "$WORK/root"
ROOT="$WORK/root"

echo "==> release directories served from 127.0.0.1"
REL="$WORK/releases"
mkdir -p "$REL/new" "$REL/bad"
"$BIN" pack-release --binary "$BIN" --out "$REL/new" --release-version 0.2.0 >/dev/null
printf '#!/bin/sh\necho "broken gateway: cannot start" >&2\nexit 1\n' >"$WORK/broken"
chmod 755 "$WORK/broken"
"$BIN" pack-release --binary "$WORK/broken" --out "$REL/bad" --release-version 0.3.0 >/dev/null
PORT="$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')"
python3 -m http.server --bind 127.0.0.1 --directory "$REL" "$PORT" >"$WORK/http.log" 2>&1 &
HTTP_PID=$!

install -D -m 755 "$BIN" "$ROOT/usr/local/bin/llm-cli-gateway"
install -D -m 755 scripts/e2e/scenario.sh "$ROOT/e2e/scenario.sh"
# A provider CLI only on the PATH setup runs with, not on systemd's default PATH.
install -D -m 755 /dev/stdin "$ROOT/opt/fakecli/bin/claude" <<'EOF'
#!/bin/sh
[ "$1" = "--version" ] && { echo "2.1.330 (Claude Code)"; exit 0; }
echo '{"type":"result","subtype":"success","is_error":false,"result":"hi from the service","session_id":"s"}'
EOF
echo "RELEASES=http://127.0.0.1:$PORT" >"$ROOT/e2e/env"
cat >"$ROOT/etc/systemd/system/e2e.service" <<'EOF'
[Unit]
Description=llm-cli-gateway end-to-end scenario
After=multi-user.target systemd-logind.service

[Service]
Type=oneshot
ExecStart=/bin/bash /e2e/scenario.sh
ExecStopPost=/bin/systemctl poweroff --no-block
StandardOutput=append:/e2e/log
StandardError=append:/e2e/log
TimeoutStartSec=300

[Install]
WantedBy=multi-user.target
EOF
ln -sf /etc/systemd/system/e2e.service "$ROOT/etc/systemd/system/multi-user.target.wants/e2e.service"

boot() {
  timeout 400 systemd-nspawn -b -D "$ROOT" --register=no --keep-unit --quiet >"$WORK/console.$1" 2>&1 || true
}
echo "==> boot 1: setup, restart on kill -9, PATH capture, upgrade, rollback, repair"
boot 1
if [ -f "$ROOT/e2e/phase" ] && [ "$(cat "$ROOT/e2e/phase")" = 2 ]; then
  echo "==> boot 2: the enabled service came back; user level with linger; uninstall"
  boot 2
fi
echo "---- scenario log"
cat "$ROOT/e2e/log" 2>/dev/null || echo "(no log: the scenario did not run)"
echo "---- figures"
cat "$ROOT/e2e/figures" 2>/dev/null || true
STATUS="$(cat "$ROOT/e2e/result" 2>/dev/null || echo "no result")"
echo "---- result: $STATUS"
if [ "$STATUS" != "PASS" ]; then
  echo "---- container console (boot 1)"; tail -40 "$WORK/console.1" || true
  exit 1
fi
