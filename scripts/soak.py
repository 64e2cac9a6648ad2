"""Load and fault suite (issue 14, item 6): the gateway under load, a connection flood, a
full disk, kill -9 mid-job and oversized replies. Each scenario prints its figures and a
PASS/FAIL line on its invariant; SKIP when the machine cannot run it. The exit code is 1
when any invariant fails.

  jobs     N concurrent claude_request_async against a 1 s stand-in: jobs done, lost jobs
           (accepted but never completed; must be 0), wall time, gateway peak RSS
  flood    C idle TCP connections held open, then M authenticated tools/list calls, each on
           a new connection (a client arriving during the flood; 503 + Retry-After is
           followed) and on a keep-alive connection opened before: p50/p99, refused, 503
  kill9    5 hanging and 5 finished jobs, kill -9 of the gateway, restart on the same home:
           finished jobs readable (lost = 0), hanging ones orphaned, no stand-in left alive
  replies  a ~5 MB CLI output: sync claude_request through the official Python SDK (its
           1 MiB message limit), paging with llm_job_result offset/limit, and
           synthesize_validation with 60 repeated job ids (reply size, gateway peak RSS)
  disk     tools/list and a short claude_request while log writes fail: through the
           failpoint SOAK_LOG_FAILPOINT and/or with the home on a full small tmpfs (root)

Figures that need a feature this build lacks print "n/a (feature missing: ...)".

Usage: soak.py BIN STANDIN_BIN_DIR   (scripts/soak.sh runs it with the repo's .venv)

Environment (defaults; SOAK_SHORT=1 picks the short CI form in brackets):
  SOAK_SCENARIOS="jobs flood kill9 replies disk"
  SOAK_JOBS=200 [50]           concurrent async jobs
  SOAK_CONNS=1100 [1100]       idle connections in the flood
  SOAK_CALLS=50 [20]           timed tools/list calls during the flood
  SOAK_FLOOD_BYTES=5000000 [2000000]   CLI output size in the replies scenario
  SOAK_GATEWAY_NOFILE=1024     the gateway's soft fd limit at start (a common default;
                               0 = inherit this process's)
  SOAK_CALL_DEADLINE=30        seconds one tools/list may take, 503 retries included
  SOAK_MAX_RSS_MB=1536         the gateway is killed (FAIL) if its RSS passes this
  SOAK_LOG_FAILPOINT=log-write-fails   failpoint that makes log writes fail
  SOAK_TMPFS_MB=8              size of the full tmpfs home
  SOAK_KEEP=1                  keep the work directory
"""
import atexit
import errno
import http.client
import json
import os
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

BIN, STANDINS = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
SHORT = os.environ.get("SOAK_SHORT") == "1"


def env_int(name, default, short=None):
    v = os.environ.get(name)
    if v:
        return int(v)
    return short if SHORT and short is not None else default


N_JOBS = env_int("SOAK_JOBS", 200, 50)
N_CONNS = env_int("SOAK_CONNS", 1100, 1100)
N_CALLS = env_int("SOAK_CALLS", 50, 20)
FLOOD_BYTES = env_int("SOAK_FLOOD_BYTES", 5_000_000, 2_000_000)
GATEWAY_NOFILE = env_int("SOAK_GATEWAY_NOFILE", 1024)
CALL_DEADLINE = env_int("SOAK_CALL_DEADLINE", 30)
MAX_RSS = env_int("SOAK_MAX_RSS_MB", 1536) * 2**20
TMPFS_MB = env_int("SOAK_TMPFS_MB", 8)
LOG_FAILPOINT = os.environ.get("SOAK_LOG_FAILPOINT") or "log-write-fails"
SCENARIOS = (os.environ.get("SOAK_SCENARIOS") or "jobs flood kill9 replies disk").split()
MIB = 1 << 20
SDK_LIMIT = 1 << 20  # the official Python SDK refuses SSE events over 1 MiB
TOKEN = "soak-token-0123456789abcdef0123456789abcdef0123456789abcdef"
FAILPOINT_ENV = "LLM_CLI_GATEWAY_FAILPOINT"

WORK = tempfile.mkdtemp(prefix="llm-cli-gateway-soak.")
WS = os.path.join(WORK, "ws")  # the workspace root the jobs run in
os.makedirs(WS)
GATEWAYS = []      # every Gateway started
MOUNTS = []        # tmpfs mount points to unmount
VERDICTS = []      # (scenario, "PASS"|"FAIL"|"SKIP", text)
FIGURES = []       # (scenario, text) for the summary
HEAD = {}          # the headline figures issue 14 asks for, by name
_BINARY = None
try:
    import ctypes
    LIBC = ctypes.CDLL(None, use_errno=True)
except OSError:
    LIBC = None


# ------------------------------------------------------------------------------- helpers

def say(scenario, text):
    print(f"[{scenario}] {text}", flush=True)


def figure(scenario, text):
    FIGURES.append((scenario, text))
    say(scenario, text)


def verdict(scenario, ok, text):
    word = "SKIP" if ok is None else ("PASS" if ok else "FAIL")
    VERDICTS.append((scenario, word, text))
    say(scenario, f"{word}: {text}")


def missing(feature):
    return f"n/a (feature missing: {feature})"


def binary_has(s):
    """Whether the binary holds this string (a config key, a failpoint name): how the suite
    tells which features this build has, without running them."""
    global _BINARY
    if _BINARY is None:
        with open(BIN, "rb") as f:
            _BINARY = f.read()
    return s.encode() in _BINARY


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def ms(x):
    return f"{x * 1000:.1f} ms"


def mib(b):
    return f"{b / MIB:.1f} MiB"


def proc_status(pid, key):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def find_key(obj, word):
    """(key, value) of the first key containing `word` (case-insensitive), depth first."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            if word in k.lower() and not isinstance(v, (dict, list)):
                return k, v
        for v in obj.values():
            hit = find_key(v, word)
            if hit:
                return hit
    elif isinstance(obj, list):
        for v in obj:
            hit = find_key(v, word)
            if hit:
                return hit
    return None


class HttpError(Exception):
    def __init__(self, status, body, retry_after=None):
        super().__init__(f"HTTP {status}: {body[:200]}")
        self.status, self.retry_after = status, retry_after


class Mcp:
    """An MCP session over streamable HTTP with the stdlib (as scripts/bench/gateway.py).
    keep_alive=False opens a new TCP connection per request, reusing the session id."""

    def __init__(self, port, token=TOKEN, session=None, timeout=120, keep_alive=True):
        self.port, self.token, self.session, self.timeout = port, token, session, timeout
        self.keep_alive, self.next_id, self.conn = keep_alive, 1, None
        self.last_reply_bytes = 0
        if session is None:
            self.rpc("initialize", {"protocolVersion": "2025-06-18", "capabilities": {},
                                    "clientInfo": {"name": "soak", "version": "1"}})
            self.post({"jsonrpc": "2.0", "method": "notifications/initialized"})

    def headers(self):
        h = {"content-type": "application/json", "accept": "application/json, text/event-stream",
             "authorization": f"Bearer {self.token}"}
        if self.session:
            h["mcp-session-id"] = self.session
        return h

    def connection(self):
        if self.conn is None or not self.keep_alive:
            if self.conn is not None:
                self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        return self.conn

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def post(self, body, cap=None):
        """Sends one JSON-RPC message; returns (status, headers, raw body). With `cap`,
        stops reading after that many bytes (the body is then cut)."""
        conn = self.connection()
        try:
            conn.request("POST", "/mcp", json.dumps(body), self.headers())
            r = conn.getresponse()
            if cap is None:
                raw = r.read()
            else:
                chunks, n = [], 0
                while n <= cap:
                    chunk = r.read1(1 << 16)
                    if not chunk:
                        break
                    chunks.append(chunk)
                    n += len(chunk)
                raw = b"".join(chunks)
                if n > cap:
                    conn.close()
                    self.conn = None
        except BaseException:
            conn.close()
            self.conn = None
            raise
        if self.session is None:
            self.session = r.getheader("mcp-session-id")
        if r.status >= 300:
            raise HttpError(r.status, raw.decode(errors="replace"), r.getheader("retry-after"))
        return r.status, r, raw

    def rpc(self, method, params=None, cap=None):
        body = {"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params or {}}
        self.next_id += 1
        _, _, raw = self.post(body, cap)
        self.last_reply_bytes = len(raw)
        if cap is not None and len(raw) > cap:
            return {"cut": True}
        text = raw.decode()
        for line in text.splitlines():
            if line.startswith("data:") and line[5:].strip():
                msg = json.loads(line[5:])
                if "result" in msg or "error" in msg:
                    return msg
        return json.loads(text)

    def call(self, name, args, cap=None):
        """The tool's (structured content, text, isError); raises on a JSON-RPC error."""
        msg = self.rpc("tools/call", {"name": name, "arguments": args}, cap)
        if msg.get("cut"):
            return None, None, None
        if "error" in msg:
            raise RuntimeError(f"{name}: {msg['error']}")
        res = msg["result"]
        text = "".join(c.get("text", "") for c in res.get("content", []))
        return res.get("structuredContent") or {}, text, bool(res.get("isError"))


class Gateway:
    """One `serve` on 127.0.0.1 with its own home, token, config and stand-in log."""

    def __init__(self, name, env=None, home=None, log_path=None, log_level="warn"):
        self.name = name
        self.home = home or os.path.join(WORK, name)
        os.makedirs(self.home, exist_ok=True)
        self.port = free_port()
        self.token_file = os.path.join(self.home, "auth-token")
        with open(self.token_file, "w") as f:
            f.write(TOKEN)
        os.chmod(self.token_file, 0o600)
        with open(os.path.join(self.home, "config.toml"), "w") as f:
            f.write(f"port = {self.port}\n\n[policy]\nworkspace_roots = [{json.dumps(WS)}]\n")
        self.standin_log = os.path.join(WORK, f"{name}.standins.jsonl")
        self.log_path = log_path or os.path.join(WORK, f"{name}.serve.log")
        self.env = dict(os.environ)
        self.env.update({
            "LLM_CLI_GATEWAY_HOME": self.home,
            "PATH": STANDINS + ":" + self.env.get("PATH", ""),
            "LLM_CLI_GATEWAY_LOG": log_level,
            "LLM_GATEWAY_SYNC_WAIT_MS": "60000",
            "STANDIN_LOG": self.standin_log,
        })
        self.env.pop(FAILPOINT_ENV, None)
        self.env.update(env or {})
        self.proc = None
        self.peak = 0
        GATEWAYS.append(self)

    def start(self, timeout=20):
        def limits():
            if LIBC is not None:  # PR_SET_PDEATHSIG: the gateway dies with us, even on kill -9
                LIBC.prctl(1, signal.SIGKILL)
            if GATEWAY_NOFILE:
                _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
                soft = GATEWAY_NOFILE if hard == resource.RLIM_INFINITY else min(GATEWAY_NOFILE, hard)
                resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))

        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [BIN, "serve", "--port", str(self.port), "--token-file", self.token_file],
            env=self.env, stdin=subprocess.DEVNULL, stdout=log, stderr=log, preexec_fn=limits)
        log.close()
        end = time.time() + timeout
        while time.time() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gateway {self.name} exited with {self.proc.returncode}: {self.log_tail()}")
            if self.healthz(timeout=1) is not None:
                return self
            time.sleep(0.05)
        raise RuntimeError(f"gateway {self.name} did not answer /healthz in {timeout} s")

    def log_tail(self, n=600):
        try:
            with open(self.log_path, "rb") as f:
                return f.read()[-n:].decode(errors="replace").strip()
        except OSError:
            return ""

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def healthz(self, timeout=5):
        try:
            c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
            c.request("GET", "/healthz")
            r = c.getresponse()
            body = r.read()
            c.close()
            return json.loads(body) if r.status == 200 else None
        except (OSError, ValueError, http.client.HTTPException):
            return None

    def rss_peak(self):
        """VmHWM: the gateway's peak resident set so far (kept after it exits)."""
        if self.alive():
            self.peak = max(self.peak, proc_status(self.proc.pid, "VmHWM") or 0)
        return self.peak

    def mcp(self, **kw):
        return Mcp(self.port, **kw)

    def kill9(self):
        self.rss_peak()
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        self.rss_peak()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def standin_runs(self):
        try:
            with open(self.standin_log) as f:
                return [json.loads(line) for line in f if line.strip()]
        except OSError:
            return []


def standin_alive(pid, child=False):
    """Whether `pid` is still a live stand-in (or its `sleep 600` child), not a zombie and
    not a stranger that got the pid since."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = f.read().split(b"\0")
    except OSError:
        return False
    if state in ("Z", "X"):
        return False
    if child:
        return argv[:2] == [b"sleep", b"600"]
    return any(a.startswith(STANDINS.encode()) for a in argv[:3])


def leftover_standins(runs):
    left = []
    for r in runs:
        if standin_alive(r["pid"]):
            left.append(r["pid"])
        if r.get("child_pid") and standin_alive(r["child_pid"], child=True):
            left.append(r["child_pid"])
    return left


def kill_standins(runs):
    for r in runs:
        for pid, child in ((r["pid"], False), (r.get("child_pid"), True)):
            if pid and standin_alive(pid, child):
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass


_cleaned = False


def cleanup():
    global _cleaned
    if _cleaned:
        return
    _cleaned = True
    for g in GATEWAYS:
        try:
            g.stop()
        except Exception:  # noqa: BLE001 - cleanup goes on
            pass
    for g in GATEWAYS:
        kill_standins(g.standin_runs())
    for m in MOUNTS:
        unmount(m)
    if os.environ.get("SOAK_KEEP") == "1":
        print(f"(work directory kept: {WORK})")
    else:
        shutil.rmtree(WORK, ignore_errors=True)


def unmount(path):
    if path in MOUNTS and os.path.ismount(path):
        if subprocess.run(["umount", path], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", path], capture_output=True)
    if path in MOUNTS:
        MOUNTS.remove(path)


def on_signal(signum, _frame):
    raise SystemExit(128 + signum)


# ------------------------------------------------------------------------------- 1. jobs

def scenario_jobs():
    s = "jobs"
    say(s, f"{N_JOBS} concurrent claude_request_async, stand-in sleeps 1 s, distinct prompts")
    gw = Gateway("jobs", {"STANDIN_DELAY_MS": "1000"}).start()
    nonce = os.urandom(4).hex()
    ids, refused, lock = [], [], threading.Lock()
    threads_n = min(20, N_JOBS)

    def submit(k):
        try:
            c = gw.mcp()
        except Exception as e:  # noqa: BLE001 - counted below
            with lock:
                refused.append(f"session: {e}")
            return
        for i in range(k, N_JOBS, threads_n):
            try:
                r, text, err = c.call("claude_request_async", {"prompt": f"soak job {i} {nonce}", "cwd": WS})
                if err or not r.get("jobId"):
                    raise RuntimeError(text[:200])
                with lock:
                    ids.append(r["jobId"])
            except Exception as e:  # noqa: BLE001 - counted below
                with lock:
                    refused.append(str(e)[:200])
        c.close()

    t0 = time.perf_counter()
    threads = [threading.Thread(target=submit, args=(k,)) for k in range(threads_n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    submitted = time.perf_counter() - t0
    poll = gw.mcp()
    pending, done, lost = set(ids), 0, {}
    deadline = time.time() + 60 + N_JOBS  # generous: 1 s each, one at a time, plus start-up
    max_queued = 0
    while pending and time.time() < deadline and gw.alive():
        queued = 0
        for i in list(pending):
            st = poll.call("llm_job_status", {"jobId": i})[0].get("status")
            if st == "queued":
                queued += 1
            if st not in ("running", "queued"):
                pending.discard(i)
                if st == "completed":
                    done += 1
                else:
                    lost[i] = st
        max_queued = max(max_queued, queued)
        if pending:
            time.sleep(0.1)
    wall = time.perf_counter() - t0
    for i in pending:
        lost[i] = "still running at the deadline" if gw.alive() else "gateway died"
    peak = gw.rss_peak()
    distinct = len(set(ids))
    HEAD["jobs done"] = f"{done}/{N_JOBS} in {wall:.2f} s (1 s stand-in)"
    HEAD["lost jobs"] = HEAD.get("lost jobs", 0) + len(lost)
    HEAD["peak RSS (jobs)"] = mib(peak)
    figure(s, f"jobs done {done}/{N_JOBS}, lost {len(lost)}, refused at submit {len(refused)}; "
              f"wall {wall:.2f} s (submitted in {submitted:.2f} s); gateway peak RSS {mib(peak)}")
    if binary_has("max_concurrent_processes"):
        figure(s, f"most jobs queued at once: {max_queued}")
    else:
        figure(s, f"most jobs queued at once: {missing('[jobs] max_concurrent_processes queue')}")
    if refused:
        say(s, f"first refusal: {refused[0]}")
    if lost:
        say(s, f"lost, e.g.: {list(lost.items())[:3]}")
    gw.stop()
    verdict(s, done == N_JOBS and not lost and not refused and distinct == len(ids),
            f"{done}/{N_JOBS} completed, {len(lost)} lost, {len(refused)} refused, "
            f"{len(ids) - distinct} duplicate job ids")


# ------------------------------------------------------------------------------ 2. flood

def raise_nofile(want):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    elif hard == resource.RLIM_INFINITY and soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, want), hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


def peek(sock):
    """What the server did with an idle connection: open, 503, closed or reset."""
    try:
        data = sock.recv(256, socket.MSG_PEEK | socket.MSG_DONTWAIT)
    except BlockingIOError:
        return "open"
    except OSError:
        return "reset"
    if not data:
        return "closed"
    return "503" if data.startswith(b"HTTP/1.1 503") or data.startswith(b"HTTP/1.0 503") else "other"


def timed_list(port, session, keep=None):
    """One tools/list: on `keep` (a keep-alive Mcp) or on a new connection, following 503 +
    Retry-After until CALL_DEADLINE. Returns (seconds or None, 503s seen, error)."""
    t0 = time.perf_counter()
    seen503 = 0
    while True:
        left = CALL_DEADLINE - (time.perf_counter() - t0)
        if left <= 0:
            return None, seen503, "deadline passed while answered 503"
        c = keep or Mcp(port, session=session, timeout=min(5, max(left, 0.5)), keep_alive=False)
        try:
            msg = c.rpc("tools/list")
            if "result" not in msg:
                return None, seen503, f"JSON-RPC error {msg.get('error')}"
            return time.perf_counter() - t0, seen503, None
        except HttpError as e:
            if e.status != 503:
                return None, seen503, str(e)
            seen503 += 1
            try:
                wait = float(e.retry_after or 1)
            except ValueError:
                wait = 1
            time.sleep(max(0.05, min(wait, CALL_DEADLINE - (time.perf_counter() - t0))))
        except (OSError, http.client.HTTPException) as e:
            return None, seen503, f"{type(e).__name__}: {e}"
        finally:
            if keep is None:
                c.close()


def scenario_flood():
    s = "flood"
    soft, hard = raise_nofile(N_CONNS + 200)
    conns = N_CONNS
    if soft < N_CONNS + 100:
        conns = max(0, soft - 100)
        say(s, f"this process may open only {soft} files (hard limit {hard}): {conns} connections, not {N_CONNS}")
    gw_nofile = f"soft limit {GATEWAY_NOFILE} at start" if GATEWAY_NOFILE else "inherited fd limit"
    say(s, f"{conns} idle connections, then {N_CALLS} authenticated tools/list (gateway: {gw_nofile})")
    gw = Gateway("flood").start()
    fd_limit = None
    try:
        with open(f"/proc/{gw.proc.pid}/limits") as f:
            for line in f:
                if line.startswith("Max open files"):
                    fd_limit = line.split()[3]
    except OSError:
        pass
    say(s, f"gateway fd soft limit after start: {fd_limit}"
        + ("" if binary_has("max_connections") else f"; connection cap {missing('[server] max_connections')}"))
    keep = gw.mcp(timeout=10)
    session = keep.session
    for _ in range(5):
        keep.rpc("tools/list")
    socks, failed = [], {}
    t0 = time.perf_counter()
    timeouts_in_a_row = 0
    for i in range(conns):
        if timeouts_in_a_row >= 20:
            failed["not tried (20 connects in a row timed out)"] = conns - i
            break
        try:
            sk = socket.create_connection(("127.0.0.1", gw.port), timeout=1)
            sk.setblocking(False)  # peek() must not wait
            socks.append(sk)
            timeouts_in_a_row = 0
        except ConnectionRefusedError:
            failed["refused"] = failed.get("refused", 0) + 1
        except socket.timeout:
            failed["timed out"] = failed.get("timed out", 0) + 1
            timeouts_in_a_row += 1
        except OSError as e:
            key = errno.errorcode.get(e.errno, str(e))
            failed[key] = failed.get(key, 0) + 1
    opened = time.perf_counter() - t0
    time.sleep(0.5)
    states = {}
    for sk in socks:
        st = peek(sk)
        states[st] = states.get(st, 0) + 1
    figure(s, f"opened {len(socks)}/{conns} connections in {opened * 1000:.0f} ms; failed to connect: "
              f"{sum(failed.values())} {failed if failed else ''}".rstrip())
    figure(s, f"after 0.5 s: {states.get('open', 0)} held open, {states.get('503', 0)} answered 503, "
              f"{states.get('closed', 0) + states.get('reset', 0)} closed by the gateway, {states.get('other', 0)} other")

    h = gw.healthz(timeout=5)
    conn_info = h.get("connections") if h else None
    if h is None:
        figure(s, "/healthz during the flood: no answer")
    elif conn_info:
        figure(s, f"/healthz during the flood: connections {json.dumps(conn_info)}")
    else:
        figure(s, f"/healthz during the flood: connection count {missing('connections in /healthz')}")
    fresh, fresh_503, fresh_err, kept, kept_err = [], 0, [], [], []
    failures_in_a_row = 0
    for i in range(N_CALLS):
        if failures_in_a_row >= 2:
            fresh_err.extend(["not tried: 2 calls in a row failed"] * (N_CALLS - i))
            break
        took, n503, err = timed_list(gw.port, session)
        fresh_503 += n503
        if took is None:
            fresh_err.append(err)
            failures_in_a_row += 1
        else:
            fresh.append(took)
            failures_in_a_row = 0
    for _ in range(N_CALLS):
        took, _, err = timed_list(gw.port, session, keep=keep)
        if took is None:
            kept_err.append(err)
            break
        kept.append(took)
    held = sum(1 for sk in socks if peek(sk) == "open")
    HEAD["tools/list during the flood"] = (
        (f"p50 {ms(pct(fresh, 50))}, p99 {ms(pct(fresh, 99))} on a new connection per call ({len(fresh)}/{N_CALLS})"
         if fresh else f"none of {N_CALLS} served on a new connection")
        + (f"; p50 {ms(pct(kept, 50))}, p99 {ms(pct(kept, 99))} on a connection opened before" if kept else ""))
    if fresh:
        figure(s, f"tools/list on a new connection during the flood: p50 {ms(pct(fresh, 50))}, "
                  f"p99 {ms(pct(fresh, 99))} ({len(fresh)}/{N_CALLS} served, {fresh_503} answers 503 "
                  "followed by Retry-After)")
    else:
        figure(s, f"tools/list on a new connection during the flood: none served of {N_CALLS} ({fresh_503} x 503)")
    if fresh_err:
        skipped = sum(1 for e in fresh_err if e.startswith("not tried"))
        say(s, f"new-connection calls failed: {len(fresh_err) - skipped}"
               + (f" (then gave up: {skipped} not tried)" if skipped else "") + f"; first: {fresh_err[0]}")
    if kept:
        figure(s, f"tools/list on a connection opened before the flood: p50 {ms(pct(kept, 50))}, "
                  f"p99 {ms(pct(kept, 99))} ({len(kept)}/{N_CALLS})")
    else:
        figure(s, f"tools/list on a connection opened before the flood: failed: {kept_err[:1]}")
    figure(s, f"idle connections still held open after the calls: {held}")
    for sk in socks:
        sk.close()
    keep.close()
    time.sleep(1)
    health = gw.healthz()
    after, _, after_err = timed_list(gw.port, session)
    healthy = health is not None and after is not None and gw.alive()
    figure(s, f"after closing them: /healthz {'ok' if health else 'no answer'}, tools/list "
              + (ms(after) if after is not None else f"failed ({after_err})")
              + f"; gateway peak RSS {mib(gw.rss_peak())}")
    gw.stop()
    verdict(s, len(fresh) == N_CALLS and len(kept) == N_CALLS and healthy,
            f"{len(fresh)}/{N_CALLS} new-connection and {len(kept)}/{N_CALLS} keep-alive tools/list served "
            f"while {len(socks)} connections were opened; healthy afterwards: {healthy}")


# ------------------------------------------------------------------------------ 3. kill9

def status_of(c, job):
    return c.call("llm_job_status", {"jobId": job})[0].get("status")


def scenario_kill9():
    s = "kill9"
    say(s, "5 jobs with a hanging stand-in (codex, each with a `sleep 600` child) and 5 that finish; kill -9; restart")
    gw = Gateway("kill9", {"STANDIN_CODEX_MODE": "hang", "STANDIN_CHILD": "1"}).start()
    try:
        c = gw.mcp()
        nonce = os.urandom(4).hex()
        hanging, fast = [], {}
        for i in range(5):
            hanging.append(c.call("codex_request_async", {"prompt": f"soak hang {i} {nonce}", "cwd": WS})[0]["jobId"])
        for i in range(5):
            prompt = f"soak done {i} {nonce}"
            fast[c.call("claude_request_async", {"prompt": prompt, "cwd": WS})[0]["jobId"]] = prompt
        end = time.time() + 30
        while time.time() < end:
            st_fast = [status_of(c, j) for j in fast]
            st_hang = [status_of(c, j) for j in hanging]
            started = [r for r in gw.standin_runs() if r["cli"] == "codex"]
            if all(x == "completed" for x in st_fast) and all(x == "running" for x in st_hang) and len(started) >= 5:
                break
            time.sleep(0.1)
        say(s, f"before kill -9: finished {st_fast}, hanging {st_hang}, {len(started)} hanging stand-ins started")
        c.close()
        gw.kill9()
        runs = gw.standin_runs()
        hang_runs = [r for r in runs if r["cli"] == "codex"]
        alive_after_kill = leftover_standins(hang_runs)
        say(s, f"right after kill -9: {len(alive_after_kill)} stand-in processes (and children) alive")
        t_restart = time.perf_counter()
        gw.start()
        c = gw.mcp()
        readable, lost = 0, []
        for j, prompt in fast.items():
            r, text, err = c.call("llm_job_result", {"jobId": j})
            if not err and r.get("status") == "completed" and prompt[:40] in (r.get("response") or text or ""):
                readable += 1
            else:
                lost.append((j, r.get("status"), (text or "")[:120]))
        orphaned = {}
        end = time.time() + 10
        while time.time() < end:
            orphaned = {j: status_of(c, j) for j in hanging}
            if all(v == "orphaned" for v in orphaned.values()):
                break
            time.sleep(0.2)
        end = time.time() + 15
        left = leftover_standins(hang_runs)
        while left and time.time() < end:
            time.sleep(0.2)
            left = leftover_standins(hang_runs)
        cleaned_in = time.perf_counter() - t_restart
        n_orph = sum(1 for v in orphaned.values() if v == "orphaned")
        HEAD["lost jobs"] = HEAD.get("lost jobs", 0) + len(lost)
        figure(s, f"finished jobs readable after restart: {readable}/5 (lost {len(lost)}); "
                  f"hanging jobs orphaned: {n_orph}/5 {sorted(set(orphaned.values()))}")
        if left:
            figure(s, f"stand-in processes left alive 15 s after restart: {len(left)} (pids {left[:10]})")
        else:
            figure(s, f"stand-in processes left alive: 0 (all gone {cleaned_in:.1f} s after the restart began)")
        if lost:
            say(s, f"lost, e.g.: {lost[:2]}")
        c.close()
        verdict(s, readable == 5 and not lost and n_orph == 5 and not left,
                f"lost {len(lost)}, orphaned {n_orph}/5, stand-ins left alive {len(left)}")
    finally:
        gw.stop()
        kill_standins(gw.standin_runs())


# ---------------------------------------------------------------------------- 4. replies

def flood_text(n):
    """What the flood stand-in prints on stdout for STANDIN_FLOOD_BYTES=n (standin.py)."""
    block = (("stand-in claude flood ".ljust(63, "x") + "\n") * 1024).encode()
    return (block * (n // len(block) + 1))[:n].decode()


def sdk_call(port, tool, args):
    """One tool call through the official MCP Python SDK: (ok, result or error text)."""
    import asyncio
    import logging
    logging.getLogger("mcp").setLevel(logging.ERROR)  # "Session termination failed: 202" at close
    try:
        from mcp import ClientSession
        from mcp.client.streamable_http import streamable_http_client
        from mcp.shared._httpx_utils import create_mcp_http_client
    except ImportError as e:
        return None, f"MCP Python SDK not importable ({e}); run through scripts/soak.sh"

    async def run():
        async with create_mcp_http_client(headers={"Authorization": f"Bearer {TOKEN}"}) as http:
            async with streamable_http_client(f"http://127.0.0.1:{port}/mcp", http_client=http) as (r, w, *_):
                async with ClientSession(r, w) as session:
                    await session.initialize()
                    return await asyncio.wait_for(session.call_tool(tool, args), 120)

    def flat(e):
        if isinstance(e, BaseExceptionGroup):
            return "; ".join(flat(x) for x in e.exceptions)
        return f"{type(e).__name__}: {e}"

    try:
        return True, asyncio.run(run())
    except BaseException as e:  # noqa: BLE001 - the failure is the figure
        if isinstance(e, (KeyboardInterrupt, SystemExit)):
            raise
        return False, flat(e)[:300]


class RssWatch:
    """Kills the gateway if its RSS passes MAX_RSS (a reply built in memory must not take
    the machine down with it); records the peak."""

    def __init__(self, gw):
        self.gw, self.killed, self.stop_flag = gw, False, False
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        while not self.stop_flag and self.gw.alive():
            rss = proc_status(self.gw.proc.pid, "VmRSS") or 0
            if rss > MAX_RSS:
                self.gw.rss_peak()
                self.killed = True
                self.gw.proc.kill()
                return
            time.sleep(0.02)

    def stop(self):
        self.stop_flag = True
        self.t.join()


def scenario_replies():
    s = "replies"
    say(s, f"a stand-in printing {FLOOD_BYTES:,} bytes; sync claude_request through the Python SDK")
    gw = Gateway("replies", {"STANDIN_CLAUDE_MODE": "flood", "STANDIN_FLOOD_BYTES": str(FLOOD_BYTES)}).start()
    watch = RssWatch(gw)
    checks = []  # (what, True | False | None = could not check)
    try:
        prompt = f"soak flood {os.urandom(4).hex()}"
        args = {"prompt": prompt, "cwd": WS}
        ok, res = sdk_call(gw.port, "claude_request", args)
        job = None
        if ok is None:
            figure(s, f"sync claude_request through the SDK: n/a ({res})")
            checks.append(("sync reply through the SDK", None))
        elif not ok:
            figure(s, f"sync claude_request through the SDK failed: {res}")
            checks.append(("sync reply through the SDK", False))
        else:
            st = res.structured_content or {}
            text = "".join(getattr(c, "text", "") for c in res.content)
            job = st.get("jobId")
            flags = sorted(k for k, v in st.items() if k.endswith("Truncated") and v is True)
            marked = "truncated" in (text + (st.get("response") or "") + (st.get("stdout") or "")).lower()
            # The same request again is deduplicated to the same job: the bytes on the wire.
            c = gw.mcp()
            c.call("claude_request", args)
            size = c.last_reply_bytes
            c.close()
            reported = bool(flags) or marked
            how = ", ".join(flags) + (" + marker in the text" if marked else "") if reported else "no"
            figure(s, f"sync claude_request through the SDK: ok (status {st.get('status')}, isError {res.is_error}); "
                      f"reply {size:,} bytes on the wire; truncation reported: {how}")
            checks.append(("sync reply through the SDK, under 1 MiB, truncation reported",
                           size <= SDK_LIMIT and reported and not res.is_error))
        if job:
            checks.append(("paging with offset/limit gives the whole output", page_through(s, gw, job)))
            checks.append(("synthesize_validation with 60 repeated ids under 1 MiB", synthesize(s, gw, job, watch)))
    finally:
        watch.stop()
        gw.stop()
    figure(s, f"gateway peak RSS {mib(gw.rss_peak())}")
    if not job:
        checks.append(("paging and synthesize_validation (no job id from the sync call)", None))
    decided = [ok for _, ok in checks if ok is not None]
    verdict(s, None if not decided else all(decided),
            "; ".join(f"{what}: {'n/a' if ok is None else ('yes' if ok else 'NO')}" for what, ok in checks))


def page_through(s, gw, job):
    """Pages stdout with llm_job_result offset/limit: True, False, or None without the feature."""
    c = gw.mcp()
    try:
        first, text, err = c.call("llm_job_result", {"jobId": job, "stream": "stdout", "offset": 0, "limit": 256 * 1024})
        if err or "nextOffset" not in first or "text" not in first:
            figure(s, f"paging with llm_job_result offset/limit: {missing('llm_job_result offset/limit')}")
            return None
        pages, got, biggest, offset, page = 0, [], 0, 0, first
        t0 = time.perf_counter()
        while True:
            pages += 1
            biggest = max(biggest, c.last_reply_bytes)
            got.append(page.get("text") or "")
            nxt = page.get("nextOffset")
            if nxt is None or pages > 10_000:
                break
            if nxt <= offset:
                say(s, f"paging does not advance: nextOffset {nxt} after offset {offset}")
                break
            offset = nxt
            page, text, err = c.call("llm_job_result", {"jobId": job, "stream": "stdout", "offset": offset,
                                                        "limit": 256 * 1024})
            if err:
                say(s, f"page at {offset} failed: {text[:200]}")
                break
        full = "".join(got)
        total = first.get("totalLength")
        same = full == flood_text(FLOOD_BYTES)
        figure(s, f"paged stdout in {pages} pages of <= 256 KiB ({time.perf_counter() - t0:.2f} s): "
                  f"{len(full.encode()):,} bytes, totalLength {total}, stand-in printed {FLOOD_BYTES:,}; "
                  f"content identical: {same}; largest page reply {biggest:,} bytes")
        return same and total == FLOOD_BYTES and biggest <= SDK_LIMIT
    finally:
        c.close()


def synthesize(s, gw, job, watch):
    cap = 64 * MIB
    c = gw.mcp(timeout=300)
    t0 = time.perf_counter()
    try:
        r, text, err = c.call("synthesize_validation",
                              {"question": "soak: which answer is right?", "jobIds": [job] * 60, "judge": "codex"},
                              cap=cap)
        size = c.last_reply_bytes
        if r is None:
            outcome = f"reply over {mib(cap)}: stopped reading"
        else:
            outcome = f"isError {err}" + (f": {text[:120]!r}" if err else "")
    except Exception as e:  # noqa: BLE001 - the failure is the figure
        size, outcome = c.last_reply_bytes, f"failed: {type(e).__name__}: {str(e)[:160]}"
    finally:
        c.close()
    took = time.perf_counter() - t0
    if watch.killed:
        outcome = f"gateway killed: its RSS passed {mib(MAX_RSS)} (SOAK_MAX_RSS_MB)"
    figure(s, f"synthesize_validation with 60 x the same job id: reply {size:,} bytes in {took:.2f} s; {outcome}; "
              f"gateway peak RSS so far {mib(gw.rss_peak())}")
    return not watch.killed and 0 < size <= SDK_LIMIT and gw.alive()


# ------------------------------------------------------------------------------- 5. disk

def describe_exit(code):
    if code is not None and code < 0:
        return f"killed by {signal.Signals(-code).name}"
    return f"exit code {code}"


def dropped_lines(gw):
    h = gw.healthz()
    if h is None:
        return "no /healthz answer"
    hit = find_key(h, "dropped")
    return f"{hit[0]} = {hit[1]}" if hit else missing("dropped-log-lines count in /healthz")


def exercise(s, gw, label):
    """Unauthenticated noise (log lines), tools/list and a short claude_request while log
    writes fail. Returns (ok, figures)."""
    noise = 0
    for _ in range(50):
        try:
            c = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=5)
            c.request("POST", "/mcp", "{}", {"content-type": "application/json"})
            c.getresponse().read()
            c.close()
            noise += 1
        except (OSError, http.client.HTTPException):
            pass
    lists, err = 0, None
    try:
        c = gw.mcp(timeout=10)
        for _ in range(20):
            if "result" in c.rpc("tools/list"):
                lists += 1
        t0 = time.perf_counter()
        r, text, is_err = c.call("claude_request", {"prompt": f"soak disk {label} {os.urandom(4).hex()}", "cwd": WS})
        req = f"claude_request answered in {ms(time.perf_counter() - t0)}: status {r.get('status')}" + (
            f", error {text[:100]!r}" if is_err else "")
        c.close()
    except Exception as e:  # noqa: BLE001 - the failure is the figure
        err = f"{type(e).__name__}: {str(e)[:160]}"
        req = f"claude_request: {err}"
    alive = gw.alive()
    if not alive:
        last = gw.log_tail(300).splitlines()[-1:] or [""]
        say(s, f"the gateway exited ({describe_exit(gw.proc.returncode)}); its log ends: {last[0]!r}")
    figure(s, f"{label}: {noise}/50 unauthenticated requests answered, tools/list {lists}/20, {req}; "
              f"gateway alive: {alive}; dropped log lines: {dropped_lines(gw)}")
    return alive and lists == 20 and err is None


def scenario_disk():
    s = "disk"
    ran = False
    if binary_has(LOG_FAILPOINT):
        ran = True
        say(s, f"log writes fail: {FAILPOINT_ENV}={LOG_FAILPOINT}, log level debug")
        gw = Gateway("disk-failpoint", {FAILPOINT_ENV: LOG_FAILPOINT}, log_level="debug").start()
        try:
            ok = exercise(s, gw, "failpoint")
        finally:
            gw.stop()
        verdict(s, ok, "with log writes failing: every tools/list answered, claude_request answered, gateway alive")
    else:
        say(s, f"failpoint {LOG_FAILPOINT!r}: {missing('log-write failpoint (SOAK_LOG_FAILPOINT)')}; tmpfs only")
    why = tmpfs_unavailable()
    if why:
        say(s, f"full tmpfs home: skipped ({why})")
        if not ran:
            verdict(s, None, f"no way to make log writes fail here: no failpoint, and {why}")
        return
    mnt = os.path.join(WORK, "tmpfs")
    os.makedirs(mnt)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={TMPFS_MB}m,mode=0700", "tmpfs", mnt],
                      capture_output=True).returncode != 0:
        say(s, "full tmpfs home: skipped (mount -t tmpfs failed)")
        if not ran:
            verdict(s, None, "mount -t tmpfs failed and there is no failpoint")
        return
    MOUNTS.append(mnt)
    gw = None
    try:
        home = os.path.join(mnt, "home")
        say(s, f"home on a {TMPFS_MB} MiB tmpfs, the gateway's stderr log on it too, log level debug; filling it")
        gw = Gateway("disk-tmpfs", home=home, log_path=os.path.join(mnt, "serve.log"), log_level="debug").start()
        c = gw.mcp()
        c.call("claude_request", {"prompt": f"soak disk warm-up {os.urandom(4).hex()}", "cwd": WS})
        c.close()
        filler = os.path.join(mnt, "filler")
        with open(filler, "wb") as f:
            try:
                while True:
                    f.write(b"\0" * (1 << 16))
                    f.flush()
            except OSError:
                pass
        st = os.statvfs(mnt)
        say(s, f"tmpfs full: {st.f_bavail * st.f_frsize} bytes free")
        ok = exercise(s, gw, "full tmpfs")
        os.unlink(filler)
        time.sleep(1.5)
        ok_after = gw.alive() and exercise(s, gw, "space freed")
        verdict(s, ok and ok_after,
                "on a full disk: every tools/list answered, claude_request answered, gateway alive; after freeing: same")
    finally:
        if gw is not None:
            gw.stop()
            kill_standins(gw.standin_runs())
        unmount(mnt)


def tmpfs_unavailable():
    if os.geteuid() != 0:
        return "not root: mounting a tmpfs needs root"
    if not shutil.which("mount"):
        return "no mount command"
    return None


# -------------------------------------------------------------------------------- main

def main():
    atexit.register(cleanup)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    version = subprocess.run([BIN, "--version"], capture_output=True, text=True).stdout.strip()
    print(f"== llm-cli-gateway soak{' (short: SOAK_SHORT=1)' if SHORT else ''}")
    print(f"  date {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}; {os.cpu_count()} cpus; "
          f"load {' '.join(open('/proc/loadavg').read().split()[:3])}; binary {version}")
    print(f"  scenarios: {' '.join(SCENARIOS)}; jobs {N_JOBS}, connections {N_CONNS}, calls {N_CALLS}, "
          f"flood {FLOOD_BYTES:,} bytes", flush=True)
    t0 = time.perf_counter()
    table = {"jobs": scenario_jobs, "flood": scenario_flood, "kill9": scenario_kill9,
             "replies": scenario_replies, "disk": scenario_disk}
    try:
        for name in SCENARIOS:
            if name not in table:
                verdict(name, False, f"unknown scenario (one of {', '.join(table)})")
                continue
            print(flush=True)
            try:
                table[name]()
            except Exception as e:  # noqa: BLE001 - one scenario's crash is its FAIL
                verdict(name, False, f"scenario crashed: {type(e).__name__}: {e}")
            finally:
                for g in GATEWAYS:
                    g.stop()
    finally:
        cleanup()
    print(f"\n== summary ({time.perf_counter() - t0:.0f} s)")
    for sc, text in FIGURES:
        print(f"  {sc:8} {text}")
    peaks = [(g.peak, g.name) for g in GATEWAYS if g.peak]
    if peaks:
        top = max(peaks)
        HEAD["peak RSS (highest)"] = f"{mib(top[0])} (gateway {top[1]})"
    print("\n== headline figures")
    for k, v in HEAD.items():
        print(f"  {k + ':':30} {v}")
    print()
    for sc, word, text in VERDICTS:
        print(f"  {word} {sc}: {text}")
    failed = [v for v in VERDICTS if v[1] == "FAIL"]
    print(f"\n{len(failed)} invariant(s) failed" if failed else "\nall invariants held")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
