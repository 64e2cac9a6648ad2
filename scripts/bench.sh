#!/usr/bin/env bash
# Benchmarks for the release binary, each next to a baseline measured in the same run:
#   1. `status --json` wall time and peak RSS on an installed, running gateway   vs /bin/true
#   2. `install-bundle` of a ~64 MiB bundle served from 127.0.0.1               vs curl | tee >(sha256sum) | tar xz
#   3. `serve` cold start to the first 200 on /healthz, and idle RSS after 5 s  vs python3 -m http.server
#   4. the gateway's tools (scripts/bench/gateway.py): tools/list median/p99 vs the official
#      TypeScript MCP SDK with 35 tools, claude_request overhead vs the stand-in run directly,
#      200 concurrent 1 s async jobs, llm_job_status with 100,000 jobs in the store,
#      validate_with_models with three 1 s stand-ins
#   5. `doctor --json` with five stand-in CLIs whose `--version` takes 300 ms   vs the five
#      `--version` calls one after another (the sum), and one alone (the slowest probe)
# Prints medians of several runs and a summary table. All traffic stays on 127.0.0.1;
# everything lives in a mktemp directory that is removed on exit.
#
# Environment:
#   BIN              binary to measure [default: target/release/llm-cli-gateway, built if missing]
#   N_STATUS=30  N_INSTALL=5  N_SERVE=10   runs per figure
#   N_LIST=500 N_OVERHEAD=30 N_JOBS=200 N_STORE=100000   gateway figures (section 4)
#   N_DOCTOR=10   doctor runs (section 5)
#   SECTIONS="1 2 3 4 5"   which sections to run
#   NODE_BASELINE_CACHE  where the npm baseline is installed [~/.cache/llm-cli-gateway-bench]
set -euo pipefail
cd "$(dirname "$0")/.."

BIN="${BIN:-target/release/llm-cli-gateway}"
N_STATUS="${N_STATUS:-30}"
N_INSTALL="${N_INSTALL:-5}"
N_SERVE="${N_SERVE:-10}"
N_DOCTOR="${N_DOCTOR:-10}"
SECTIONS="${SECTIONS:-1 2 3 4 5}"
want() { case " $SECTIONS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

if [ ! -x "$BIN" ]; then
  if [ "$BIN" = "target/release/llm-cli-gateway" ]; then
    echo "==> $BIN missing; building it (cargo build --release)" >&2
    cargo build --release
  else
    echo "error: BIN=$BIN is not an executable file" >&2
    exit 1
  fi
fi
BIN="$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")"
for tool in python3 curl tar sha256sum head; do
  command -v "$tool" >/dev/null || { echo "error: $tool is required" >&2; exit 1; }
done

WORK="$(mktemp -d "${TMPDIR:-/tmp}/llm-cli-gateway-bench.XXXXXX")"
GW_HOME="$WORK/home"          # installed + running gateway for figures 1 and 3
HTTP_PID=""
export BENCH_PIDFILE="$WORK/pids"   # the harness appends every server pid it starts
: >"$BENCH_PIDFILE"

cleanup() {
  set +e
  if [ -d "$GW_HOME" ]; then
    LLM_CLI_GATEWAY_HOME="$GW_HOME" "$BIN" stop --quiet >/dev/null 2>&1
  fi
  [ -n "$HTTP_PID" ] && kill "$HTTP_PID" 2>/dev/null && wait "$HTTP_PID" 2>/dev/null
  if [ -s "$BENCH_PIDFILE" ]; then
    while read -r pid; do kill "$pid" 2>/dev/null; done <"$BENCH_PIDFILE"
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
  python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'
}

# ---------------------------------------------------------------------------------------
# Python timing harness (self-contained; hyperfine is not needed).
#   multi OUT N WARMUP CMD1... -- CMD2... [-- CMD3...]
#       runs the commands in turn (round-robin, so drift hits all alike), N timed runs each;
#       leading NAME=value words set the environment; "{fresh}" becomes a new empty
#       directory per run (removed afterwards, outside the timing)
#   serve OUT N CMD1... -- CMD2...   cold start to the first 200 on /healthz ("{port}" = free
#       port), round-robin, N runs each, then idle RSS after 5 s of one more run of each
#   show / serve-show / report        print results
cat >"$WORK/harness.py" <<'PY'
import json, os, shutil, signal, socket, statistics, subprocess, sys, tempfile, time

GNU_TIME = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None
DEVNULL_ACTIONS = [
    (os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
    (os.POSIX_SPAWN_OPEN, 1, "/dev/null", os.O_WRONLY, 0),
    (os.POSIX_SPAWN_OPEN, 2, "/dev/null", os.O_WRONLY, 0),
]

def note_pid(pid):
    with open(os.environ["BENCH_PIDFILE"], "a") as f:
        f.write(f"{pid}\n")

def split_cmds(argv):
    cmds, cur = [], []
    for a in argv:
        if a == "--":
            cmds.append(cur)
            cur = []
        else:
            cur.append(a)
    return cmds + [cur]

def split_env(cmd):
    """Leading NAME=value words become environment variables (no extra `env` exec)."""
    env, i = dict(os.environ), 0
    while i < len(cmd) and "=" in cmd[i] and cmd[i].split("=", 1)[0].isidentifier():
        k, v = cmd[i].split("=", 1)
        env[k] = v
        i += 1
    return env, cmd[i:]

def spawn_wait(argv, env):
    """Run argv with stdio on /dev/null; return (seconds, exit code, ru_maxrss KiB)."""
    t0 = time.perf_counter()
    pid = os.posix_spawnp(argv[0], argv, env, file_actions=DEVNULL_ACTIONS)
    _, status, ru = os.wait4(pid, 0)
    t1 = time.perf_counter()
    return t1 - t0, os.waitstatus_to_exitcode(status), ru.ru_maxrss

def gnu_time_rss(argv, env):
    """Peak RSS in KiB as /usr/bin/time -v reports it (a separate, untimed run)."""
    fd, path = tempfile.mkstemp()
    os.close(fd)
    try:
        subprocess.run([GNU_TIME, "-v", "-o", path, *argv], env=env, stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for line in open(path):
            if "Maximum resident set size" in line:
                return int(line.rsplit(":", 1)[1])
    finally:
        os.unlink(path)
    raise RuntimeError("no RSS line from /usr/bin/time -v")

def run_once(cmd, base):
    fresh = tempfile.mkdtemp(dir=base) if any("{fresh}" in a for a in cmd) else None
    env, argv = split_env([a.replace("{fresh}", fresh) if fresh else a for a in cmd])
    try:
        secs, code, rss = spawn_wait(argv, env)
        if code != 0:
            sys.exit(f"error: exit {code}: {' '.join(cmd)}")
        if GNU_TIME and fresh is None:
            rss = gnu_time_rss(argv, env)
        return secs, rss
    finally:
        if fresh:
            shutil.rmtree(fresh, ignore_errors=True)

def summary(xs):
    return {"median": statistics.median(xs), "min": min(xs), "max": max(xs), "runs": xs}

def multi(out, n, warmup, argv):
    cmds = split_cmds(argv)
    base = tempfile.mkdtemp(prefix="fresh.", dir=os.path.dirname(out))
    for _ in range(warmup):
        for c in cmds:
            run_once(c, base)
    times, rss = [[] for _ in cmds], [[] for _ in cmds]
    for _ in range(n):
        for i, c in enumerate(cmds):
            s, r = run_once(c, base)
            times[i].append(s)
            rss[i].append(r)
    shutil.rmtree(base, ignore_errors=True)
    json.dump({"n": n, "rss_source": "/usr/bin/time -v" if GNU_TIME else "wait4() ru_maxrss",
               "cmds": [{"cmd": c, "secs": summary(t), "rss_kb": summary(r)}
                        for c, t, r in zip(cmds, times, rss)]}, open(out, "w"), indent=1)

def healthz_status(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            # the gateway checks Host, so it must name the port
            s.sendall(f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n".encode())
            head = s.recv(64)
            return int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/") else None
    except (OSError, ValueError, IndexError):
        return None

def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p

def proc_status(pid, key):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1])  # kB
    return None

def fail(msg, log):
    sys.stderr.write(f"error: {msg}; last lines of the server log:\n")
    sys.stderr.writelines(open(log, errors="replace").readlines()[-15:])
    sys.exit(1)

def serve_once(cmd, log, idle_secs=0.0):
    port = free_port()
    env, argv = split_env([a.replace("{port}", str(port)) for a in cmd])
    with open(log, "ab") as logf:
        t0 = time.perf_counter()
        p = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=logf, stderr=logf)
    note_pid(p.pid)
    try:
        deadline = t0 + 10
        while healthz_status(port) != 200:
            if p.poll() is not None:
                fail(f"{argv[0]} exited with {p.returncode} before /healthz answered 200", log)
            if time.perf_counter() > deadline:
                fail(f"no 200 on /healthz from {argv[0]} within 10 s", log)
            time.sleep(0.001)
        t1 = time.perf_counter()
        mem = None
        if idle_secs:
            time.sleep(idle_secs)
            mem = {k: proc_status(p.pid, k) for k in ("VmRSS", "VmHWM", "Threads")}
        return t1 - t0, mem
    finally:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()

def serve(out, n, argv):
    cmds = split_cmds(argv)
    log = os.path.join(os.path.dirname(out), "serve.log")
    for c in cmds:
        serve_once(c, log)  # warm-up (page cache)
    times = [[] for _ in cmds]
    for _ in range(n):
        for i, c in enumerate(cmds):
            times[i].append(serve_once(c, log)[0])
    mems = [serve_once(c, log, idle_secs=5.0)[1] for c in cmds]
    json.dump({"n": n, "cmds": [{"cmd": c, "secs": summary(t), "idle": m}
                                for c, t, m in zip(cmds, times, mems)]}, open(out, "w"), indent=1)

def fmt_cmd(cmd):
    return " ".join(a if a and not any(ch in a for ch in " ;|$>") else repr(a) for a in cmd)

def show(path, unit, *labels):
    r = json.load(open(path))
    for c, label in zip(r["cmds"], labels):
        s = c["secs"]
        if unit == "ms":
            t = f"median {s['median']*1e3:8.3f} ms  (min {s['min']*1e3:.3f}, max {s['max']*1e3:.3f})"
            t += f"  peak RSS median {c['rss_kb']['median']/1024:.1f} MiB"
        else:
            t = f"median {s['median']:8.3f} s   (min {s['min']:.3f}, max {s['max']:.3f})"
        print(f"  {label:<16} {t}")
    for c, label in zip(r["cmds"], labels):
        print(f"  {label}: {fmt_cmd(c['cmd'])}")
    if unit == "ms":
        print(f"  peak RSS measured with {r['rss_source']}, N runs each")

def serve_show(path, *labels):
    r = json.load(open(path))
    for c, label in zip(r["cmds"], labels):
        s, m = c["secs"], c["idle"]
        print(f"  {label:<16} cold start median {s['median']*1e3:7.2f} ms (min {s['min']*1e3:.2f}, "
              f"max {s['max']*1e3:.2f}); idle after 5 s: VmRSS {m['VmRSS']/1024:.1f} MiB, "
              f"VmHWM {m['VmHWM']/1024:.1f} MiB, {m['Threads']} threads")
    for c, label in zip(r["cmds"], labels):
        print(f"  {label}: {fmt_cmd(c['cmd'])}")

def report(d, bundle_bytes):
    r1 = json.load(open(os.path.join(d, "status.json")))["cmds"]
    r2 = json.load(open(os.path.join(d, "install.json")))
    r3 = json.load(open(os.path.join(d, "serve.json")))
    mib = int(bundle_bytes) / 2**20
    med = lambda c, k="secs": c[k]["median"]
    ms = lambda x: f"{x * 1e3:.2f} ms"
    mb = lambda kb: f"{kb / 1024:.1f} MiB"
    st, tr, ver = r1
    ia, ib = (med(c) for c in r2["cmds"])
    sa, sb = r3["cmds"]
    rows = [
        ("figure (medians)", "llm-cli-gateway", "baseline (same run)", "ours/base", "historical reference"),
        (f"1 status --json wall, N={len(st['secs']['runs'])}", ms(med(st)), ms(med(tr)) + " /bin/true",
         f"{med(st) / med(tr):.2f}x", "Go: /bin/true + ~1-1.5 ms"),
        ("1 status --json minus /bin/true", ms(med(st) - med(tr)), "-", "-", "Go: ~1-1.5 ms"),
        ("  (--version minus /bin/true)", ms(med(ver) - med(tr)), "-", "-", "-"),
        ("1 status --json peak RSS", mb(med(st, "rss_kb")), mb(med(tr, "rss_kb")) + " /bin/true",
         f"{med(st, 'rss_kb') / med(tr, 'rss_kb'):.1f}x", "Go: 4.5 MB"),
        (f"2 install-bundle {mib:.0f} MiB, N={r2['n']}", f"{ia:.3f} s", f"{ib:.3f} s curl+tee+tar",
         f"{ia / ib:.2f}x", "1.9 s for a 14 MB bundle"),
        ("2 install-bundle throughput", f"{mib / ia:.0f} MiB/s", f"{mib / ib:.0f} MiB/s curl+tee+tar",
         f"{ib / ia:.2f}x", "~7 MB/s"),
        (f"3 serve cold start to 200, N={r3['n']}", ms(med(sa)), ms(med(sb)) + " python http.server",
         f"{med(sa) / med(sb):.2f}x", "Node ~350 ms; aim < 20 ms"),
        ("3 serve idle RSS after 5 s", mb(sa["idle"]["VmRSS"]), mb(sb["idle"]["VmRSS"]) + " python http.server",
         f"{sa['idle']['VmRSS'] / sb['idle']['VmRSS']:.2f}x", "Node ~82 MB; aim < 15 MB"),
    ]
    w = [max(len(r[i]) for r in rows) for i in range(5)]
    for k, r in enumerate(rows):
        print("| " + " | ".join(c.ljust(w[i]) for i, c in enumerate(r)) + " |")
        if k == 0:
            print("|" + "|".join("-" * (x + 2) for x in w) + "|")

if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "multi":
        multi(args[0], int(args[1]), int(args[2]), args[3:])
    elif cmd == "serve":
        serve(args[0], int(args[1]), args[2:])
    elif cmd == "show":
        show(*args)
    elif cmd == "serve-show":
        serve_show(*args)
    elif cmd == "report":
        report(*args)
    else:
        sys.exit(f"unknown harness command {cmd}")
PY
H() { python3 "$WORK/harness.py" "$@"; }
RES="$WORK/results"
mkdir -p "$RES"

# --------------------------------------------------------------------------------- machine
echo "== machine"
echo "  date:    $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "  cpus:    $(nproc) x $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
echo "  memory:  $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
echo "  kernel:  $(uname -sr)"
echo "  load:    $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min; other work on the machine skews the figures)"
echo "  binary:  $BIN ($("$BIN" --version)), $(du -h "$BIN" | cut -f1)"
echo "  python:  $(python3 --version 2>&1); curl $(curl --version | head -1 | cut -d' ' -f2)"
echo

# ------------------------------------------------------------------------ 1. status --json
if want 1 || want 3; then
PORT="$(free_port)"
echo "== 1. status --json on an installed, running gateway (N=$N_STATUS each, round-robin)"
LLM_CLI_GATEWAY_HOME="$GW_HOME" "$BIN" setup --yes --port "$PORT" --json >"$WORK/setup.json"
LLM_CLI_GATEWAY_HOME="$GW_HOME" "$BIN" status --json >/dev/null || {
  echo "error: gateway not healthy after setup" >&2; exit 1; }
# `--version` is not a figure: it shows how much of status is plain process start-up
H multi "$RES/status.json" "$N_STATUS" 3 \
  LLM_CLI_GATEWAY_HOME="$GW_HOME" "$BIN" status --json -- /bin/true -- "$BIN" --version
H show "$RES/status.json" ms "status --json" "/bin/true" "--version"
LLM_CLI_GATEWAY_HOME="$GW_HOME" "$BIN" stop --quiet >/dev/null
echo
fi

# ---------------------------------------------------------------------- 2. install-bundle
if want 2; then
echo "== 2. install-bundle of a 64 MiB bundle over http://127.0.0.1 (N=$N_INSTALL each, round-robin)"
REL="$WORK/release"
mkdir -p "$REL"
head -c 67108864 /dev/urandom >"$WORK/fake-binary"
"$BIN" pack-release --binary "$WORK/fake-binary" --out "$REL" --release-version 9.0.0 >/dev/null
rm -f "$WORK/fake-binary"
BUNDLE="$(cd "$REL" && ls llm-cli-gateway-bundle-9.0.0-*.tar.gz)"
SHA="$(sha256sum "$REL/$BUNDLE" | cut -d' ' -f1)"
BYTES="$(stat -c %s "$REL/$BUNDLE")"
HTTP_PORT="$(free_port)"
python3 -m http.server --bind 127.0.0.1 --directory "$REL" "$HTTP_PORT" >"$WORK/http.log" 2>&1 &
HTTP_PID=$!
URL="http://127.0.0.1:$HTTP_PORT/$BUNDLE"
for _ in $(seq 100); do
  curl -sf -o /dev/null -r 0-0 "$URL" && break
  sleep 0.1
done
curl -sf -o /dev/null -r 0-0 "$URL" || { echo "error: http.server did not come up" >&2; exit 1; }
echo "  bundle: $BUNDLE, $BYTES bytes, sha256 $SHA"
H multi "$RES/install.json" "$N_INSTALL" 1 \
  LLM_CLI_GATEWAY_HOME="{fresh}" "$BIN" install-bundle "$URL" --sha256 "$SHA" --json -- \
  bash -c 'set -o pipefail; curl -s "$1" | tee >(sha256sum >/dev/null) | tar xz -C "$2"' _ "$URL" "{fresh}"
H show "$RES/install.json" s "install-bundle" "curl|tee|tar"
python3 - "$RES/install.json" "$BYTES" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); mib = int(sys.argv[2]) / 2**20
a, b = (c["secs"]["median"] for c in r["cmds"])
print(f"  throughput: install-bundle {mib/a:.0f} MiB/s, baseline {mib/b:.0f} MiB/s; "
      f"install-bundle takes {a/b:.2f}x the baseline's time")
PY
kill "$HTTP_PID" 2>/dev/null || true
wait "$HTTP_PID" 2>/dev/null || true
HTTP_PID=""
echo
fi

# ---------------------------------------------------------------------------- 3. serve
if want 3; then
echo "== 3. serve cold start to first 200 on /healthz (N=$N_SERVE each, round-robin), idle RSS after 5 s"
# baseline: Python's http.server serving a static file named healthz
mkdir -p "$WORK/static" && echo '{"status":"ok"}' >"$WORK/static/healthz"
H serve "$RES/serve.json" "$N_SERVE" \
  LLM_CLI_GATEWAY_HOME="$GW_HOME" "$BIN" serve --port "{port}" -- \
  python3 -m http.server --bind 127.0.0.1 --directory "$WORK/static" "{port}"
H serve-show "$RES/serve.json" "serve" "http.server"
echo
fi

if want 1 && want 2 && want 3; then
echo "== summary (sections 1-3)"
H report "$RES" "$BYTES"
echo
fi

# ----------------------------------------------------------------------- 4. gateway tools
if want 4; then
echo "== 4. gateway tools over streamable HTTP (stand-in CLIs from tests/standins)"
NODE_DIR="${NODE_BASELINE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/llm-cli-gateway-bench}/node-baseline"
if command -v npm >/dev/null && command -v node >/dev/null; then
  mkdir -p "$NODE_DIR"
  cp scripts/bench/node-baseline/package.json scripts/bench/node-baseline/server.mjs "$NODE_DIR/"
  if [ ! -d "$NODE_DIR/node_modules/@modelcontextprotocol/sdk" ]; then
    echo "  installing the TypeScript MCP SDK baseline into $NODE_DIR (npm)"
    (cd "$NODE_DIR" && npm install --no-audit --no-fund --silent >/dev/null) || echo "  (npm install failed; baseline skipped)"
  fi
  echo "  baseline: node $(node --version), @modelcontextprotocol/sdk 1.32.2"
else
  echo "  node/npm not found: the TypeScript SDK baseline is skipped"
  NODE_DIR=""
fi
python3 scripts/bench/gateway.py "$BIN" "$PWD/tests/standins/bin" "$WORK/gw" "$NODE_DIR"
fi

# ---------------------------------------------------------------------------- 5. doctor
if want 5; then
echo "== 5. doctor --json, five stand-in CLIs whose --version takes 300 ms (N=$N_DOCTOR each, round-robin)"
STANDINS="$PWD/tests/standins/bin"
DOC_HOME="$WORK/doctor-home"
DOC_PORT="$(free_port)"
# Installed and running, so doctor exits 0 (the harness stops on a failing command); the
# process backend's gateway keeps this PATH, so doctor finds the stand-ins through it.
PATH="$STANDINS:$PATH" LLM_CLI_GATEWAY_HOME="$DOC_HOME" "$BIN" setup --yes --port "$DOC_PORT" --json >/dev/null
H multi "$RES/doctor.json" "$N_DOCTOR" 1 \
  PATH="$STANDINS:$PATH" STANDIN_VERSION_DELAY_MS=300 LLM_CLI_GATEWAY_HOME="$DOC_HOME" "$BIN" doctor --json -- \
  STANDIN_VERSION_DELAY_MS=300 bash -c 'for c in claude codex gemini grok vibe; do "$0/$c" --version; done' "$STANDINS" -- \
  STANDIN_VERSION_DELAY_MS=300 "$STANDINS/claude" --version
H show "$RES/doctor.json" ms "doctor --json" "5 x --version" "1 x --version"
python3 - "$RES/doctor.json" <<'PY'
import json, sys
d, seq, one = (c["secs"]["median"] for c in json.load(open(sys.argv[1]))["cmds"])
print(f"  doctor takes {d/one:.2f}x one probe and {d/seq:.2f}x the five in sequence")
PY
LLM_CLI_GATEWAY_HOME="$DOC_HOME" "$BIN" stop --quiet >/dev/null
# The Python stand-ins cost ~80 ms of CPU each to start, and doctor starts seven at once
# (five --version, two status commands) on two cores. The same figure with sh scripts that
# only sleep 300 ms shows doctor's own share.
SH_BIN="$WORK/sh-standins"
mkdir -p "$SH_BIN"
for c in claude codex gemini grok vibe; do
  printf '#!/bin/sh\nsleep 0.3\necho "%s 1.0.0"\n' "$c" >"$SH_BIN/$c"
  chmod +x "$SH_BIN/$c"
done
SH_HOME="$WORK/doctor-sh-home"
PATH="$SH_BIN:$PATH" LLM_CLI_GATEWAY_HOME="$SH_HOME" "$BIN" setup --yes --port "$(free_port)" --json >/dev/null
H multi "$RES/doctor-sh.json" "$N_DOCTOR" 1 \
  PATH="$SH_BIN:$PATH" LLM_CLI_GATEWAY_HOME="$SH_HOME" "$BIN" doctor --json -- \
  bash -c 'for c in claude codex gemini grok vibe; do "$0/$c" --version; done' "$SH_BIN" -- \
  "$SH_BIN/claude" --version
H show "$RES/doctor-sh.json" ms "doctor --json" "5 x --version" "1 x --version"
python3 - "$RES/doctor-sh.json" <<'PY'
import json, sys
d, seq, one = (c["secs"]["median"] for c in json.load(open(sys.argv[1]))["cmds"])
print(f"  with sh stand-ins: doctor takes {d/one:.2f}x one probe ({(d-one)*1e3:.0f} ms more) and {d/seq:.2f}x the five in sequence")
PY
LLM_CLI_GATEWAY_HOME="$SH_HOME" "$BIN" stop --quiet >/dev/null
echo
fi
