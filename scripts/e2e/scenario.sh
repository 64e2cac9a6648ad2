#!/bin/bash
# Runs inside the nspawn container as a oneshot unit (see scripts/e2e-systemd.sh), over two
# boots. Writes /e2e/log, /e2e/figures and /e2e/result (PASS or FAIL: why).
set -u
. /e2e/env
G=/usr/local/bin/llm-cli-gateway
UNIT=/etc/systemd/system/llm-cli-gateway.service
DATA=/root/.local/share/llm-cli-gateway
CONF=/root/.config/llm-cli-gateway

log() { echo "[$(date +%T.%3N)] $*"; }
fail() { log "FAIL: $*"; echo "FAIL: $*" >/e2e/result; exit 1; }
now_ms() { date +%s%3N; }
healthz() { curl -sf -m 2 "http://127.0.0.1:${1:-4100}/healthz"; }
# Polls a command until it succeeds or the deadline (seconds) passes.
until_ok() { local d=$1; shift; local end=$(( $(date +%s) + d )); while [ "$(date +%s)" -le "$end" ]; do "$@" >/dev/null 2>&1 && return 0; sleep 0.05; done; return 1; }
main_pid() { systemctl show -p MainPID --value llm-cli-gateway; }
version_is() { healthz "${2:-4100}" | grep -q "\"version\":\"$1\""; }
# systemd has read the unit file as it is on disk (no pending daemon-reload).
reloaded() { [ "$(systemctl "$@" show -p NeedDaemonReload --value llm-cli-gateway)" = no ] || fail "${WHEN:-}: NeedDaemonReload is not no: $(systemctl "$@" show -p NeedDaemonReload llm-cli-gateway)"; }

# One MCP tool call over streamable HTTP with curl: initialize, initialized, tools/call.
mcp_call() {
  local port=$1 token=$2 body=$3 hdr=/tmp/mcp.hdr
  local h=(-s -m 10 -H "authorization: Bearer $token" -H 'content-type: application/json' -H 'accept: application/json, text/event-stream')
  curl "${h[@]}" -D "$hdr" -d '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"e2e","version":"1"}}}' "http://127.0.0.1:$port/mcp" >/dev/null
  local sid; sid=$(grep -i '^mcp-session-id:' "$hdr" | cut -d' ' -f2 | tr -d '\r')
  curl "${h[@]}" -H "mcp-session-id: $sid" -d '{"jsonrpc":"2.0","method":"notifications/initialized"}' "http://127.0.0.1:$port/mcp" >/dev/null
  curl "${h[@]}" -H "mcp-session-id: $sid" -d "$body" "http://127.0.0.1:$port/mcp"
}

# Health probe every 20 ms in the background; downtime = time spent not healthy.
probe_start() { touch /e2e/probing; ( while [ -f /e2e/probing ]; do if healthz >/dev/null; then echo "$(now_ms) up"; else echo "$(now_ms) down"; fi; sleep 0.02; done ) >/e2e/probe.log & PROBE=$!; }
probe_stop() { rm -f /e2e/probing; wait "$PROBE" 2>/dev/null; awk 'NR>1 && prev=="down" {d+=$1-t} {t=$1; prev=$2} END {print d+0}' /e2e/probe.log; }

phase=$(cat /e2e/phase 2>/dev/null || echo 1)
log "phase $phase"

if [ "$phase" = 1 ]; then
  log "setup as root (system level), with a provider CLI only on the caller's PATH"
  PATH=/opt/fakecli/bin:$PATH $G setup --yes --port 4100 --json >/e2e/setup.json || fail "setup: $(cat /e2e/setup.json)"
  grep -q '"backend": "systemd-system"' /e2e/setup.json || fail "backend not systemd-system: $(cat /e2e/setup.json)"
  [ "$(systemctl is-active llm-cli-gateway)" = active ] || fail "unit not active"
  [ "$(systemctl is-enabled llm-cli-gateway)" = enabled ] || fail "unit not enabled"
  grep -q 'ExecStart="/root/.local/share/llm-cli-gateway/current/bin/llm-cli-gateway" "serve"' $UNIT || fail "ExecStart: $(grep ExecStart $UNIT)"
  healthz >/dev/null || fail "healthz"
  $G status --json >/e2e/status.json || fail "status: $(cat /e2e/status.json)"
  grep -q '"active": "active"' /e2e/status.json || fail "status lacks the manager view: $(cat /e2e/status.json)"
  for field in '"enabled": "enabled"' '"main_pid": [1-9][0-9]*' '"restarts": [0-9]+' '"log": "[^"]+"'; do
    grep -Eq "$field" /e2e/status.json || fail "status lacks $field: $(cat /e2e/status.json)"
  done
  WHEN="after setup" reloaded

  log "stop and start through the CLI"
  $G stop --json >/e2e/stop.json || fail "stop: $(cat /e2e/stop.json)"
  [ "$(systemctl is-active llm-cli-gateway)" != active ] || fail "unit still active after stop"
  healthz >/dev/null && fail "gateway still answering after stop"
  $G start --json >/e2e/start.json || fail "start: $(cat /e2e/start.json)"
  [ "$(systemctl is-active llm-cli-gateway)" = active ] || fail "unit not active after start"
  healthz >/dev/null || fail "healthz after start"

  log "kill -9 of the gateway: systemd restarts it"
  old=$(main_pid); kill -9 "$old"
  t0=$(now_ms)
  until_ok 20 bash -c "p=\$(systemctl show -p MainPID --value llm-cli-gateway); [ \"\$p\" != 0 ] && [ \"\$p\" != $old ] && curl -sf -m 1 http://127.0.0.1:4100/healthz" || fail "not restarted after kill -9"
  echo "restart after kill -9: $(( $(now_ms) - t0 )) ms to healthy again" >>/e2e/figures
  [ "$(systemctl show -p NRestarts --value llm-cli-gateway)" -ge 1 ] || fail "NRestarts did not count the restart"

  log "the service finds a CLI that is on the user's PATH but not systemd's"
  systemctl show-environment | grep -q /opt/fakecli && fail "test is void: /opt/fakecli on the manager's PATH"
  out=$(mcp_call 4100 "$(cat $CONF/auth-token)" '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"cli_versions","arguments":{"cli":"claude"}}}')
  echo "$out" | grep -q '2.1.330 (Claude Code)' || fail "claude not found by the service: $out"

  log "upgrade to 0.2.0 from the host's 127.0.0.1"
  probe_start; t0=$(now_ms)
  $G upgrade --from "$RELEASES/new/" --json >/e2e/upgrade.json || { probe_stop; fail "upgrade: $(cat /e2e/upgrade.json)"; }
  t1=$(now_ms); down=$(probe_stop)
  echo "upgrade $(cat /e2e/upgrade.json | grep -o '"installed_version": "[^"]*"' | cut -d'"' -f4) -> 0.2.0: total $(( t1 - t0 )) ms, gateway not healthy for $down ms" >>/e2e/figures
  version_is 0.2.0 || fail "healthz does not report 0.2.0: $(healthz)"
  # Baseline for the figures: a plain `systemctl restart` of the same unit.
  probe_start; t0=$(now_ms)
  systemctl restart llm-cli-gateway
  until_ok 10 healthz
  t1=$(now_ms); down=$(probe_stop)
  echo "baseline systemctl restart: total $(( t1 - t0 )) ms to healthy, gateway not healthy for $down ms" >>/e2e/figures

  log "an upgrade whose gateway cannot start is rolled back"
  t0=$(now_ms)
  if $G upgrade --from "$RELEASES/bad/" --json >/e2e/rollback.json; then fail "bad upgrade succeeded"; fi
  t1=$(now_ms)
  grep -q 'rolled back to 0.2.0' /e2e/rollback.json || fail "no rollback message: $(cat /e2e/rollback.json)"
  echo "failed upgrade to 0.3.0 and rollback to 0.2.0: $(( t1 - t0 )) ms" >>/e2e/figures
  until_ok 10 version_is 0.2.0 || fail "0.2.0 not running after rollback: $(healthz)"
  [ "$(systemctl is-active llm-cli-gateway)" = active ] || fail "unit not active after rollback"

  log "repair: a deleted unit and a tampered installed file"
  rm -f $UNIT; systemctl daemon-reload
  echo tampered >>"$DATA/versions/0.2.0/status.schema.json"
  $G repair --dry-run --json >/e2e/repair-dry.json; [ -e $UNIT ] && fail "dry run changed the unit"
  grep -q 'service-definition' /e2e/repair-dry.json || fail "dry run missed the unit: $(cat /e2e/repair-dry.json)"
  grep -q 'file-hash' /e2e/repair-dry.json || fail "dry run missed the tampered file: $(cat /e2e/repair-dry.json)"
  $G repair --json >/e2e/repair.json || fail "repair: $(cat /e2e/repair.json)"
  [ -e $UNIT ] || fail "repair did not restore the unit"
  grep -q tampered "$DATA/versions/0.2.0/status.schema.json" && fail "repair left the tampered file"
  [ "$(systemctl is-enabled llm-cli-gateway)" = enabled ] || fail "unit not enabled after repair"
  until_ok 15 version_is 0.2.0 || fail "not healthy after repair"
  WHEN="after repair" reloaded

  log "repair: a stale unit (edited on disk)"
  sed -i 's/^Restart=.*/Restart=no/' $UNIT; grep -q '^Restart=no' $UNIT || fail "test is void: the unit has no Restart= line"
  systemctl daemon-reload
  $G repair --dry-run --json >/e2e/repair-stale-dry.json
  grep -q '"service-definition"' /e2e/repair-stale-dry.json || fail "dry run missed the stale unit: $(cat /e2e/repair-stale-dry.json)"
  grep -q '^Restart=no' $UNIT || fail "dry run changed the unit"
  $G repair --json >/e2e/repair-stale.json || fail "repair: $(cat /e2e/repair-stale.json)"
  grep -q '"service-definition"' /e2e/repair-stale.json || fail "repair missed the stale unit: $(cat /e2e/repair-stale.json)"
  grep -q '^Restart=no' $UNIT && fail "repair left the stale unit"
  [ "$(systemctl show -p Restart --value llm-cli-gateway)" != no ] || fail "systemd still runs the stale unit"
  WHEN="after repairing a stale unit" reloaded
  until_ok 15 version_is 0.2.0 || fail "not healthy after repairing the stale unit"

  echo 2 >/e2e/phase
  log "phase 1 done; rebooting"
  exit 0
fi

log "after reboot: the enabled unit came back"
until_ok 30 version_is 0.2.0 || fail "gateway not back after reboot"
[ "$(systemctl is-enabled llm-cli-gateway)" = enabled ] || fail "not enabled after reboot"

log "user level: setup enables linger itself"
useradd -m alice
A=$(id -u alice)
[ -e /var/lib/systemd/linger/alice ] && fail "test is void: alice already lingers"
# What a login does (pam_systemd): start alice's user manager. Without dbus-user-session
# there is no user bus; systemctl --user uses the manager's private socket.
systemctl start "user@$A.service"
until_ok 30 test -S "/run/user/$A/systemd/private" || fail "alice's user manager did not start"
as_alice() { runuser -u alice -- env HOME=/home/alice USER=alice XDG_RUNTIME_DIR="/run/user/$A" PATH=/opt/fakecli/bin:/usr/local/bin:/usr/bin:/bin "$@"; }
log "a service manager that refuses (permission denied) says so and points at the process backend"
if as_alice env LLM_CLI_GATEWAY_HOME=/home/alice/denied $G setup --yes --port 4300 --service-backend systemd-system --json >/e2e/denied.json; then
  fail "a non-root system-level setup succeeded"
fi
grep -q '"code": "service-permission-denied"' /e2e/denied.json || fail "no permission-denied code: $(cat /e2e/denied.json)"
grep -q 'service-backend process' /e2e/denied.json || fail "no pointer to the process backend: $(cat /e2e/denied.json)"
rm -rf /home/alice/denied
as_alice $G setup --yes --port 4200 --json >/e2e/alice-setup.json || fail "alice setup: $(cat /e2e/alice-setup.json)"
grep -q '"backend": "systemd-user"' /e2e/alice-setup.json || fail "alice backend: $(cat /e2e/alice-setup.json)"
[ "$(as_alice systemctl --user is-active llm-cli-gateway)" = active ] || fail "alice unit not active"
[ "$(as_alice systemctl --user is-enabled llm-cli-gateway)" = enabled ] || fail "alice unit not enabled"
[ -e /var/lib/systemd/linger/alice ] || fail "setup did not enable linger for alice: $(cat /e2e/alice-setup.json)"
grep -q 'enabled linger' /e2e/alice-setup.json || fail "setup did not say it enabled linger: $(cat /e2e/alice-setup.json)"
[ "$(as_alice systemctl --user show -p NeedDaemonReload --value llm-cli-gateway)" = no ] || fail "alice's unit needs a daemon-reload after setup"
healthz 4200 >/dev/null || fail "alice healthz"
as_alice $G uninstall --yes --json >/e2e/alice-uninstall.json || fail "alice uninstall: $(cat /e2e/alice-uninstall.json)"
[ -e /home/alice/.config/systemd/user/llm-cli-gateway.service ] && fail "alice unit left behind"
healthz 4200 >/dev/null && fail "alice gateway still answering"
[ -d /home/alice/.local/share/llm-cli-gateway ] && fail "alice data left behind"

log "uninstall as root"
$G uninstall --yes --json >/e2e/uninstall.json || fail "uninstall: $(cat /e2e/uninstall.json)"
[ -e $UNIT ] && fail "unit left behind"
systemctl cat llm-cli-gateway >/dev/null 2>&1 && fail "systemd still knows the unit"
healthz >/dev/null && fail "gateway still answering"
pgrep -f 'llm-cli-gateway serve' && fail "gateway process left"
[ -d "$DATA" ] && fail "data dir left: $(ls -la $DATA)"
[ -d "$CONF" ] && fail "config dir left: $(ls -la $CONF)"
log "all passed"
echo PASS >/e2e/result
