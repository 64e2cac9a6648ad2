"""Gateway benchmarks (issue 3), each next to a same-run baseline. Stdlib only: a plain
HTTP/1.1 client speaking MCP streamable HTTP, so the client adds as little as possible.

  1. tools/list median and p99            vs the official TypeScript MCP SDK with 35 tools
  2. claude_request overhead              vs running the stand-in claude directly
  3. 200 concurrent async jobs (1 s each) wall time and gateway peak RSS
  4. llm_job_status latency with 100,000 finished jobs in the store
  5. validate_with_models with three stand-ins that each take 1 s (wall vs the 3 s sum)
  6. tools/list through `llm-cli-gateway bridge` (stdio) vs straight over HTTP, same gateway

Usage: gateway.py BIN STANDIN_BIN_DIR WORKDIR [NODE_BASELINE_DIR]
Environment: N_LIST (default 500), N_OVERHEAD (30), N_JOBS (200), N_STORE (100000), N_BRIDGE (200).
"""
import http.client
import json
import os
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import threading
import time

BIN, STANDINS, WORK = sys.argv[1], sys.argv[2], sys.argv[3]
NODE_DIR = sys.argv[4] if len(sys.argv) > 4 else ""
N_LIST = int(os.environ.get("N_LIST", "500"))
N_OVERHEAD = int(os.environ.get("N_OVERHEAD", "30"))
N_JOBS = int(os.environ.get("N_JOBS", "200"))
N_STORE = int(os.environ.get("N_STORE", "100000"))
TOKEN = "bench-token-0123456789abcdef0123456789abcdef0123456789abcdef"
PROCS = []
RESULTS = []


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_http(port, path, deadline=20):
    end = time.time() + deadline
    while time.time() < end:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            c.request("GET", path)
            c.getresponse().read()
            return
        except OSError:
            time.sleep(0.02)
    raise SystemExit(f"server on {port} did not come up")


def start_gateway(name, extra_env=None):
    home = os.path.join(WORK, name)
    os.makedirs(home, exist_ok=True)
    token_file = os.path.join(home, "auth-token")
    with open(token_file, "w") as f:
        f.write(TOKEN)
    os.chmod(token_file, 0o600)
    port = free_port()
    env = dict(os.environ)
    env.update({
        "LLM_CLI_GATEWAY_HOME": home,
        "PATH": STANDINS + ":" + env.get("PATH", ""),
        "LLM_CLI_GATEWAY_LOG": "warn",
        "LLM_GATEWAY_SYNC_WAIT_MS": "120000",
    })
    env.update(extra_env or {})
    log = open(os.path.join(home, "serve.log"), "a")
    p = subprocess.Popen([BIN, "serve", "--port", str(port), "--token-file", token_file],
                         env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    PROCS.append(p)
    wait_http(port, "/healthz")
    return p, port, home


class Mcp:
    """One MCP session over one keep-alive connection."""

    def __init__(self, port, path="/mcp", token=TOKEN, session=None):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        self.path, self.token, self.session, self.next_id = path, token, session, 1
        if session is None:
            self.rpc("initialize", {"protocolVersion": "2025-06-18", "capabilities": {},
                                    "clientInfo": {"name": "bench", "version": "1"}})
            self.notify("notifications/initialized")

    def headers(self):
        h = {"content-type": "application/json", "accept": "application/json, text/event-stream",
             "authorization": f"Bearer {self.token}"}
        if self.session:
            h["mcp-session-id"] = self.session
        return h

    def notify(self, method):
        self.conn.request("POST", self.path, json.dumps({"jsonrpc": "2.0", "method": method}), self.headers())
        self.conn.getresponse().read()

    def rpc(self, method, params=None):
        body = {"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params or {}}
        self.next_id += 1
        self.conn.request("POST", self.path, json.dumps(body), self.headers())
        r = self.conn.getresponse()
        raw = r.read().decode()
        if self.session is None:
            self.session = r.getheader("mcp-session-id")
        if r.status != 200:
            raise RuntimeError(f"{method}: HTTP {r.status}: {raw[:300]}")
        for line in raw.splitlines():
            if line.startswith("data:") and line[5:].strip():
                msg = json.loads(line[5:])
                if "result" in msg or "error" in msg:
                    return msg
        return json.loads(raw)

    def call(self, name, args):
        msg = self.rpc("tools/call", {"name": name, "arguments": args})
        if "error" in msg:
            raise RuntimeError(msg["error"])
        return msg["result"].get("structuredContent") or {}


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def ms(x):
    return f"{x * 1000:.2f} ms"


def vm(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    return 0


def bench_tools_list(port, path="/mcp", token=TOKEN):
    m = Mcp(port, path, token)
    n_tools = len(m.rpc("tools/list")["result"]["tools"])
    for _ in range(20):
        m.rpc("tools/list")
    times = []
    for _ in range(N_LIST):
        t = time.perf_counter()
        m.rpc("tools/list")
        times.append(time.perf_counter() - t)
    return statistics.median(times), pct(times, 99), n_tools


def main():
    os.makedirs(WORK, exist_ok=True)
    # 1. tools/list
    gw, port, home = start_gateway("list")
    med, p99, n = bench_tools_list(port)
    RESULTS.append(("tools/list over streamable HTTP", f"median {ms(med)}, p99 {ms(p99)} ({n} tools)"))
    print(f"[1] llm-cli-gateway tools/list: median {ms(med)}  p99 {ms(p99)}  tools={n}  (N={N_LIST})", flush=True)
    if NODE_DIR and os.path.isdir(os.path.join(NODE_DIR, "node_modules")):
        for count in (35, n):
            nport = free_port()
            node = subprocess.Popen(["node", os.path.join(NODE_DIR, "server.mjs"), str(nport), str(count)],
                                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            PROCS.append(node)
            wait_http(nport, "/")
            nmed, np99, nn = bench_tools_list(nport)
            node.send_signal(signal.SIGTERM)
            node.wait()
            print(f"[1] node MCP SDK baseline tools/list: median {ms(nmed)}  p99 {ms(np99)}  tools={nn}", flush=True)
            RESULTS.append((f"  baseline: TypeScript MCP SDK 1.32, {nn} tools",
                            f"median {ms(nmed)}, p99 {ms(np99)}; {nmed / med:.1f}x ours"))
    else:
        print("[1] node baseline skipped (run scripts/bench.sh, which installs it)", flush=True)

    # 2. claude_request overhead vs the stand-in run directly
    claude = os.path.join(STANDINS, "claude")
    direct = []
    for i in range(N_OVERHEAD):
        t = time.perf_counter()
        subprocess.run([claude, "-p", f"direct {i}", "--output-format", "json"], stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        direct.append(time.perf_counter() - t)
    m = Mcp(port)
    via = []
    for i in range(N_OVERHEAD):
        t = time.perf_counter()
        r = m.call("claude_request", {"prompt": f"via {i}", "outputFormat": "json"})
        via.append(time.perf_counter() - t)
        assert r.get("status") == "completed", r
    d, v = statistics.median(direct), statistics.median(via)
    print(f"[2] stand-in claude direct: median {ms(d)};  via claude_request: median {ms(v)};  overhead {ms(v - d)}", flush=True)
    RESULTS.append(("claude_request overhead vs stand-in direct", f"{ms(v - d)} (direct {ms(d)}, via gateway {ms(v)})"))
    gw.send_signal(signal.SIGTERM)
    gw.wait()

    # 3. N_JOBS concurrent async jobs, each a stand-in sleeping 1 s. Baseline: the same
    # N_JOBS stand-ins started at once without the gateway (the floor on 2 cores: Python
    # start-up of each stand-in plus the 1 s sleep).
    t0 = time.perf_counter()
    env = dict(os.environ, STANDIN_DELAY_MS="1000")
    direct_procs = [subprocess.Popen([claude, "-p", f"direct {i}", "--output-format", "json"], env=env,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                    for i in range(N_JOBS)]
    for p in direct_procs:
        p.wait()
    floor = time.perf_counter() - t0
    print(f"[3] baseline: {N_JOBS} stand-ins started at once, no gateway: {floor:.2f} s", flush=True)
    gw, port, home = start_gateway("jobs", {"STANDIN_DELAY_MS": "1000"})
    base_rss = vm(gw.pid, "VmRSS")
    ids, lock = [], threading.Lock()

    def submit(k):
        c = Mcp(port)
        for i in range(k, N_JOBS, 20):
            r = c.call("claude_request_async", {"prompt": f"job {i}"})
            with lock:
                ids.append(r["jobId"])

    t0 = time.perf_counter()
    threads = [threading.Thread(target=submit, args=(k,)) for k in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    submitted = time.perf_counter() - t0
    poll = Mcp(port)
    pending = set(ids)
    while pending:
        for i in list(pending):
            s = poll.call("llm_job_status", {"jobId": i})
            if s["status"] != "running":
                assert s["status"] == "completed", s
                pending.discard(i)
        time.sleep(0.05)
    wall = time.perf_counter() - t0
    peak = vm(gw.pid, "VmHWM")
    print(f"[3] {N_JOBS} async jobs x 1 s: all completed in {wall:.2f} s (submitted in {submitted:.2f} s); "
          f"gateway RSS {base_rss / 2**20:.1f} MiB idle, peak {peak / 2**20:.1f} MiB", flush=True)
    RESULTS.append((f"{N_JOBS} concurrent async jobs (stand-in sleeps 1 s)",
                    f"wall {wall:.2f} s, peak RSS {peak / 2**20:.1f} MiB (idle {base_rss / 2**20:.1f} MiB)"))
    RESULTS.append((f"  baseline: {N_JOBS} stand-ins run directly at once", f"wall {floor:.2f} s; gateway {wall / floor:.2f}x"))
    gw.send_signal(signal.SIGTERM)
    gw.wait()

    # 4. llm_job_status with N_STORE finished jobs
    db = os.path.join(home, "gateway.db")
    con = sqlite3.connect(db)
    cols = [r[1] for r in con.execute("PRAGMA table_info(jobs)")]
    template = con.execute("SELECT * FROM jobs LIMIT 1").fetchone()
    id_col = cols.index("id")
    now = int(time.time() * 1000)
    rows = []
    for i in range(N_STORE):
        row = list(template)
        row[id_col] = f"job-bench{i:011d}"
        if "request_key" in cols:
            row[cols.index("request_key")] = f"bench-{i}"
        if "started_at_ms" in cols:
            row[cols.index("started_at_ms")] = now - i
        rows.append(row)
    con.executemany(f"INSERT INTO jobs ({','.join(cols)}) VALUES ({','.join('?' * len(cols))})", rows)
    con.commit()
    total = con.execute("SELECT count(*) FROM jobs").fetchone()[0]
    con.close()
    gw, port, home = start_gateway("jobs")
    m = Mcp(port)
    times = []
    for i in range(N_LIST):
        jid = f"job-bench{(i * 7919) % N_STORE:011d}"
        t = time.perf_counter()
        s = m.call("llm_job_status", {"jobId": jid})
        times.append(time.perf_counter() - t)
        assert s["status"] == "completed", s
    med, p99 = statistics.median(times), pct(times, 99)
    print(f"[4] llm_job_status with {total} jobs in the store: median {ms(med)}  p99 {ms(p99)}", flush=True)
    RESULTS.append((f"llm_job_status, {total} jobs in store", f"median {ms(med)}, p99 {ms(p99)}"))

    gw.send_signal(signal.SIGTERM)
    gw.wait()

    # 5. validate_with_models with three stand-ins that each take 1 s (issue 5)
    gw, port, home = start_gateway("validate", {"STANDIN_DELAY_MS": "1000"})
    m = Mcp(port)
    walls = []
    for i in range(5):
        t = time.perf_counter()
        r = m.call("validate_with_models", {"question": f"bench {i}", "providers": ["claude", "codex", "gemini"]})
        walls.append(time.perf_counter() - t)
        assert r["summary"]["ok"] == 3, r
    vmed = statistics.median(walls)
    # Baseline: the same three stand-ins run one after another, as a sequential fan-out would.
    env = dict(os.environ, STANDIN_DELAY_MS="1000", GEMINI_CLI_TRUST_WORKSPACE="true")
    runs = [[os.path.join(STANDINS, "claude"), "-p", "q", "--output-format", "json"],
            [os.path.join(STANDINS, "codex"), "exec", "--json", "--skip-git-repo-check", "q"],
            [os.path.join(STANDINS, "gemini"), "-p", "q", "-o", "json"]]
    seq = []
    for _ in range(3):
        t = time.perf_counter()
        for argv in runs:
            subprocess.run(argv, env=env, check=True, stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        seq.append(time.perf_counter() - t)
    smed = statistics.median(seq)
    print(f"[5] validate_with_models, 3 providers x 1 s: median {vmed:.2f} s (N=5); "
          f"the three run one after another: median {smed:.2f} s (N=3); {vmed/smed:.2f}x", flush=True)
    RESULTS.append(("validate_with_models, 3 stand-ins x 1 s", f"median {vmed:.2f} s vs {smed:.2f} s sequential ({vmed/smed:.2f}x)"))

    gw.send_signal(signal.SIGTERM)
    gw.wait()

    # 6. the stdio bridge: the same tools/list, one JSON-RPC line at a time
    gw, port, home = start_gateway("bridge")
    with open(os.path.join(home, "config.toml"), "w") as f:
        f.write(f"port = {port}\n")
    n = int(os.environ.get("N_BRIDGE", "200"))
    direct = Mcp(port)
    env = dict(os.environ, LLM_CLI_GATEWAY_HOME=home)
    br = subprocess.Popen([BIN, "bridge"], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL, text=True, bufsize=1)
    PROCS.append(br)

    def bridge_rpc(i, method, params=None):
        br.stdin.write(json.dumps({"jsonrpc": "2.0", "id": i, "method": method, "params": params or {}}) + "\n")
        br.stdin.flush()
        while True:
            msg = json.loads(br.stdout.readline())
            if msg.get("id") == i:
                return msg

    bridge_rpc(0, "initialize", {"protocolVersion": "2025-06-18", "capabilities": {},
                                 "clientInfo": {"name": "bench", "version": "1"}})
    br.stdin.write(json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}) + "\n")
    br.stdin.flush()
    via_bridge, via_http = [], []
    for i in range(n):  # alternate, so drift hits both alike
        t = time.perf_counter()
        assert len(bridge_rpc(i + 1, "tools/list")["result"]["tools"]) > 30
        via_bridge.append(time.perf_counter() - t)
        t = time.perf_counter()
        direct.rpc("tools/list")
        via_http.append(time.perf_counter() - t)
    br.stdin.close()
    br.wait(timeout=10)
    bm, hm = statistics.median(via_bridge), statistics.median(via_http)
    print(f"[6] tools/list through the bridge: median {ms(bm)}; straight over HTTP: median {ms(hm)} "
          f"(N={n} each; the bridge adds {ms(bm - hm)})", flush=True)
    RESULTS.append(("tools/list via stdio bridge", f"median {ms(bm)} vs {ms(hm)} direct HTTP"))

    print("\nsummary")
    for k, v in RESULTS:
        print(f"  {k:<48} {v}")


try:
    main()
finally:
    for p in PROCS:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
