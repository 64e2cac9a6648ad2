"""The policy gate's cost: median latency of a request the policy refuses (nothing is
spawned; the refusal is recorded) and of one with an unknown parameter, next to
llm_job_status (a store read) as the baseline, through one ClientSession of the official
Python SDK against `serve`.

Usage: .venv/bin/python scripts/bench/gate.py BIN tests/standins/bin"""
import asyncio, json, os, socket, statistics, subprocess, sys, tempfile, time, urllib.request
from mcp import ClientSession
from mcp.client.streamable_http import create_mcp_http_client, streamable_http_client

BIN, STANDINS = sys.argv[1], sys.argv[2]
N = 200
TOKEN = "b" * 64

def port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p

async def main():
    home = tempfile.mkdtemp()
    with open(f"{home}/auth-token", "w") as f: f.write(TOKEN)
    os.chmod(f"{home}/auth-token", 0o600)
    tmp = os.path.realpath(tempfile.gettempdir())
    with open(f"{home}/config.toml", "w") as f: f.write(f'[policy]\nworkspace_roots = ["{tmp}"]\n')
    p = port()
    env = {**os.environ, "LLM_CLI_GATEWAY_HOME": home, "PATH": f"{STANDINS}:{os.environ['PATH']}",
           "LLM_GATEWAY_DEDUP_WINDOW_MS": "0"}
    gw = subprocess.Popen([BIN, "serve", "--port", str(p)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{p}/healthz", timeout=1); break
            except Exception: time.sleep(0.05)
        async with create_mcp_http_client(headers={"Authorization": f"Bearer {TOKEN}"}) as http:
            async with streamable_http_client(f"http://127.0.0.1:{p}/mcp", http_client=http) as (r, w, *_):
                async with ClientSession(r, w) as s:
                    await s.initialize()
                    async def timed(name, args, n):
                        xs = []
                        for i in range(n):
                            a = {k: (v.format(i=i) if isinstance(v, str) else v) for k, v in args.items()}
                            t = time.perf_counter(); await s.call_tool(name, a); xs.append(time.perf_counter() - t)
                        return statistics.median(xs) * 1000
                    status = await timed("llm_job_status", {"jobId": "job-0000000000000000"}, N)
                    refused = await timed("claude_request", {"prompt": "x{i}", "permissionMode": "bypassPermissions"}, N)
                    unknown = await timed("claude_request", {"prompt": "x{i}", "permisionMode": "plan"}, N)
        print(json.dumps({"llm_job_status_ms": round(status, 2), "refused_by_policy_ms": round(refused, 2),
                          "unknown_parameter_ms": round(unknown, 2)}))
    finally:
        gw.terminate(); gw.wait()

asyncio.run(main())
