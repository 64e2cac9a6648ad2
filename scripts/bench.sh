#!/usr/bin/env bash
# Benchmarks for the release binary, each next to a baseline measured in the same run:
#   1. `status --json` wall time and peak RSS on an installed, running gateway   vs /bin/true
#   2. `install-bundle` of a ~64 MiB bundle served from 127.0.0.1               vs curl | tee >(sha256sum) | tar xz
#   3. `serve` cold start to the first 200 on /healthz, plus idle RSS after 5 s
# Prints medians of several runs and a summary table. All traffic stays on 127.0.0.1;
# everything lives in a mktemp directory that is removed on exit.
#
# Environment:
#   BIN              binary to measure [default: target/release/llm-cli-gateway, built if missing]
#   N_STATUS=30  N_INSTALL=5  N_SERVE=10   runs per figure
set -euo pipefail
cd "$(dirname "$0")/.."

BIN="${BIN:-target/release/llm-cli-gateway}"
N_STATUS="${N_STATUS:-30}"
N_INSTALL="${N_INSTALL:-5}"
N_SERVE="${N_SERVE:-10}"

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
# Python timing harness (self-contained; no hyperfine needed).
#   pair OUT N WARMUP CMD_A... -- CMD_B...   run A and B alternately, N timed runs each
#       "{fresh}" in an argument becomes a new empty directory per run (removed after it)
#   serve OUT N BIN                           cold start of `BIN serve` to first /healthz 200
#   report RESULTS_DIR                        summary table
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

def spawn_wait(argv, env):
    """Run argv with stdio on /dev/null; return (seconds, exit code, ru_maxrss KiB)."""
    t0 = time.perf_counter()
    pid = os.posix_spawnp(argv[0], argv, env, file_actions=DEVNULL_ACTIONS)
    _, status, ru = os.wait4(pid, 0)
    t1 = time.perf_counter()
    return t1 - t0, os.waitstatus_to_exitcode(status), ru.ru_maxrss

def gnu_time_rss(argv, env):
    """Peak RSS in KiB as /usr/bin/time -v reports it."""
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

def split_env(cmd):
    """Leading NAME=value arguments become environment variables (no extra `env` exec)."""
    env, i = dict(os.environ), 0
    while i < len(cmd) and "=" in cmd[i] and cmd[i].split("=", 1)[0].isidentifier():
        k, v = cmd[i].split("=", 1)
        env[k] = v
        i += 1
    return env, cmd[i:]

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

def pair(out, n, warmup, argv):
    sep = argv.index("--")
    cmds = [argv[:sep], argv[sep + 1:]]
    base = tempfile.mkdtemp(prefix="fresh.", dir=os.path.dirname(out))
    for _ in range(warmup):
        for c in cmds:
            run_once(c, base)
    times, rss = [[], []], [[], []]
    for _ in range(n):
        for i, c in enumerate(cmds):  # alternate A/B so drift hits both equally
            s, r = run_once(c, base)
            times[i].append(s)
            rss[i].append(r)
    shutil.rmtree(base, ignore_errors=True)
    res = {
        "n": n,
        "rss_source": "/usr/bin/time -v" if GNU_TIME else "wait4() ru_maxrss",
        "a": {"cmd": cmds[0], "secs": summary(times[0]), "rss_kb": summary(rss[0])},
        "b": {"cmd": cmds[1], "secs": summary(times[1]), "rss_kb": summary(rss[1])},
    }
    json.dump(res, open(out, "w"), indent=1)

def healthz_status(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
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

def serve_once(bin_, log, idle_secs=0.0):
    port = free_port()
    with open(log, "ab") as logf:
        t0 = time.perf_counter()
        p = subprocess.Popen([bin_, "serve", "--port", str(port)], stdin=subprocess.DEVNULL,
                             stdout=logf, stderr=logf)
    note_pid(p.pid)
    try:
        deadline = t0 + 10
        while healthz_status(port) != 200:
            if p.poll() is not None:
                sys.exit(f"error: serve exited with {p.returncode} before /healthz; see {log}")
            if time.perf_counter() > deadline:
                sys.exit(f"error: no 200 on /healthz within 10 s; see {log}")
            time.sleep(0.001)
        t1 = time.perf_counter()
        mem = None
        if idle_secs:
            time.sleep(idle_secs)
            mem = {"vmrss_kb": proc_status(p.pid, "VmRSS"), "vmhwm_kb": proc_status(p.pid, "VmHWM"),
                   "threads": proc_status(p.pid, "Threads")}
        return t1 - t0, mem
    finally:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()

def serve(out, n, bin_):
    log = os.path.join(os.path.dirname(out), "serve.log")
    serve_once(bin_, log)  # warm-up: page cache
    times = [serve_once(bin_, log)[0] for _ in range(n)]
    _, mem = serve_once(bin_, log, idle_secs=5.0)
    json.dump({"n": n, "secs": summary(times), "idle": mem}, open(out, "w"), indent=1)

def report(d):
    r1 = json.load(open(os.path.join(d, "status.json")))
    r2 = json.load(open(os.path.join(d, "install.json")))
    r3 = json.load(open(os.path.join(d, "serve.json")))
    mib = r2["bundle_bytes"] / 2**20
    ms = lambda x: f"{x * 1e3:.2f} ms"
    mb = lambda kb: f"{kb / 1024:.1f} MiB"
    a, b = r1["a"], r1["b"]
    ia, ib = r2["a"]["secs"]["median"], r2["b"]["secs"]["median"]
    rows = [
        ("figure", "llm-cli-gateway", "baseline", "ratio", "historical reference"),
        (f"1 status --json wall (N={r1['n']})", ms(a["secs"]["median"]), ms(b["secs"]["median"]) + " /bin/true",
         f"{a['secs']['median'] / b['secs']['median']:.2f}x",
         "Go: ~1-1.5 ms over /bin/true"),
        ("1 status --json delta over /bin/true", ms(a["secs"]["median"] - b["secs"]["median"]), "-", "-", "Go: ~1-1.5 ms"),
        ("1 status --json peak RSS", mb(a["rss_kb"]["median"]), mb(b["rss_kb"]["median"]) + " /bin/true",
         f"{a['rss_kb']['median'] / b['rss_kb']['median']:.1f}x", "Go: 4.5 MB"),
        (f"2 install-bundle {mib:.0f} MiB (N={r2['n']})", f"{ia:.3f} s", f"{ib:.3f} s curl|tee|tar",
         f"{ia / ib:.2f}x", "original: 1.9 s for 14 MB"),
        ("2 install-bundle throughput", f"{mib / ia:.0f} MiB/s", f"{mib / ib:.0f} MiB/s", f"{ib / ia:.2f}x",
         "original: ~7 MB/s"),
        (f"3 serve cold start to 200 (N={r3['n']})", ms(r3["secs"]["median"]), "-", "-",
         "Node: ~350 ms; aim < 20 ms"),
        ("3 serve idle RSS after 5 s", mb(r3["idle"]["vmrss_kb"]), "-", "-", "Node: ~82 MB; aim < 15 MB"),
    ]
    w = [max(len(r[i]) for r in rows) for i in range(5)]
    for k, r in enumerate(rows):
        print("  ".join(c.ljust(w[i]) for i, c in enumerate(r)).rstrip())
        if k == 0:
            print("  ".join("-" * x for x in w))

def show_pair(path, label_a, label_b, unit):
    r = json.load(open(path))
    for key, label in (("a", label_a), ("b", label_b)):
        s, m = r[key]["secs"], r[key]["rss_kb"]
        if unit == "ms":
            t = f"median {s['median']*1e3:8.3f} ms  (min {s['min']*1e3:.3f}, max {s['max']*1e3:.3f})"
        else:
            t = f"median {s['median']:8.3f} s   (min {s['min']:.3f}, max {s['max']:.3f})"
        rss = f"  peak RSS median {m['median']/1024:.1f} MiB" if unit == "ms" else ""
        print(f"  {label:<16} {t}{rss}")
    print(f"  command A: {' '.join(r['a']['cmd'])}")
    print(f"  command B: {' '.join(r['b']['cmd'])}")
    if unit == "ms":
        print(f"  peak RSS measured with {r['rss_source']}")

if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "pair":
        pair(args[0], int(args[1]), int(args[2]), args[3:])
    elif cmd == "serve":
        serve(args[0], int(args[1]), args[2])
    elif cmd == "show":
        show_pair(*args)
    elif cmd == "report":
        report(args[0])
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
echo "  binary:  $BIN ($("$BIN" --version)), $(du -h "$BIN" | cut -f1)"
echo "  python:  $(python3 --version 2>&1); curl $(curl --version | head -1 | cut -d' ' -f2)"
echo

# ------------------------------------------------------------------------ 1. status --json
PORT="$(free_port)"
echo "== 1. status --json on an installed, running gateway (N=$N_STATUS, alternating with /bin/true)"
LLM_CLI_GATEWAY_HOME="$GW_HOME" "$BIN" setup --yes --port "$PORT" --json >"$WORK/setup.json"
LLM_CLI_GATEWAY_HOME="$GW_HOME" "$BIN" status --json >/dev/null || {
  echo "error: gateway not healthy after setup" >&2; exit 1; }
H pair "$RES/status.json" "$N_STATUS" 3 \
  LLM_CLI_GATEWAY_HOME="$GW_HOME" "$BIN" status --json -- /bin/true
H show "$RES/status.json" "status --json" "/bin/true" ms
LLM_CLI_GATEWAY_HOME="$GW_HOME" "$BIN" stop --quiet >/dev/null
echo

# ---------------------------------------------------------------------- 2. install-bundle
echo "== 2. install-bundle of a 64 MiB bundle over http://127.0.0.1 (N=$N_INSTALL, alternating with curl|tee|tar)"
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
H pair "$RES/install.json" "$N_INSTALL" 1 \
  LLM_CLI_GATEWAY_HOME="{fresh}" "$BIN" install-bundle "$URL" --sha256 "$SHA" --json -- \
  bash -c 'set -o pipefail; curl -s "$1" | tee >(sha256sum >/dev/null) | tar xz -C "$2"' _ "$URL" "{fresh}"
python3 - "$RES/install.json" "$BYTES" <<'PY'
import json, sys
p = sys.argv[1]; r = json.load(open(p)); r["bundle_bytes"] = int(sys.argv[2]); json.dump(r, open(p, "w"))
PY
H show "$RES/install.json" "install-bundle" "curl|tee|tar" s
python3 - "$RES/install.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); mib = r["bundle_bytes"] / 2**20
a, b = r["a"]["secs"]["median"], r["b"]["secs"]["median"]
print(f"  throughput: install-bundle {mib/a:.0f} MiB/s, baseline {mib/b:.0f} MiB/s; install-bundle takes {a/b:.2f}x the baseline time")
PY
kill "$HTTP_PID" 2>/dev/null || true
wait "$HTTP_PID" 2>/dev/null || true
HTTP_PID=""
echo

# ---------------------------------------------------------------------------- 3. serve
echo "== 3. serve cold start to first 200 on /healthz (N=$N_SERVE), then idle RSS after 5 s"
LLM_CLI_GATEWAY_HOME="$GW_HOME" H serve "$RES/serve.json" "$N_SERVE" "$BIN"
python3 - "$RES/serve.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); s = r["secs"]; m = r["idle"]
print(f"  cold start median {s['median']*1e3:.2f} ms (min {s['min']*1e3:.2f}, max {s['max']*1e3:.2f})")
print(f"  idle after 5 s: VmRSS {m['vmrss_kb']/1024:.1f} MiB, VmHWM {m['vmhwm_kb']/1024:.1f} MiB, {m['threads']} threads")
PY
echo "  command: LLM_CLI_GATEWAY_HOME=<installed home> $BIN serve --port <free port>"
echo

echo "== summary (medians)"
H report "$RES"
