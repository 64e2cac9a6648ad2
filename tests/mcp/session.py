"""A long-lived MCP client (official Python SDK) that a Rust test drives line by line.

Usage:
  session.py http URL TOKEN
  session.py stdio BIN HOME [KEY=VALUE ...]   (extra environment for `BIN serve --stdio`)
  session.py spawn '{"command": ..., "args": [...], "env": {...}}'
                                              (any stdio server, as a client config names it;
                                               env is merged over this process's environment)

After connecting it prints {"ready": true, "server": {...}} and then answers one JSON
line per request line on stdin:
  {"op": "call", "name": "...", "args": {...}}  -> {"ok", "is_error", "structured", "text"}
  {"op": "call_progress", ...}                  -> the same plus "progress": [{progress, total, message}]
  {"op": "parallel", "calls": [{"name", "args"}, ...]}
                                                -> {"ok", "results": [as for call, in call order],
                                                    "finish_order": [call indices as they completed]}
  {"op": "list_tools"}                          -> {"ok", "tools": [{"name", "input_schema", "annotations"}]}
  {"op": "list_resources"}                      -> {"ok", "resources": [uri, ...]}
  {"op": "read_resource", "uri": "..."}         -> {"ok", "text"}
A failure of one request is reported as {"ok": false, "error": "..."}; EOF ends the session.
"""
import asyncio
import json
import os
import sys

from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def flatten(e):
    if isinstance(e, BaseExceptionGroup):
        return "; ".join(flatten(x) for x in e.exceptions)
    return f"{type(e).__name__}: {e}"


def tool_result(r):
    text = "".join(getattr(c, "text", "") for c in r.content)
    return {"ok": True, "is_error": bool(r.is_error), "structured": r.structured_content, "text": text}


def tool_entry(t):
    annotations = t.annotations.model_dump(by_alias=True, exclude_none=True) if t.annotations else None
    return {"name": t.name, "input_schema": t.input_schema, "annotations": annotations}


async def handle(session, req):
    op = req["op"]
    if op == "call":
        return tool_result(await session.call_tool(req["name"], req.get("args") or {}))
    if op == "parallel":
        finished = []

        async def one(i, call):
            r = await session.call_tool(call["name"], call.get("args") or {})
            finished.append(i)
            return tool_result(r)

        results = await asyncio.gather(*(one(i, c) for i, c in enumerate(req["calls"])))
        return {"ok": True, "results": list(results), "finish_order": finished}
    if op == "call_progress":
        seen = []

        async def on_progress(progress, total, message):
            seen.append({"progress": progress, "total": total, "message": message})

        r = await session.call_tool(req["name"], req.get("args") or {}, progress_callback=on_progress)
        return {**tool_result(r), "progress": seen}
    if op == "list_tools":
        tools = await session.list_tools()
        return {"ok": True, "tools": [tool_entry(t) for t in tools.tools]}
    if op == "list_resources":
        res = await session.list_resources()
        return {"ok": True, "resources": [str(r.uri) for r in res.resources]}
    if op == "read_resource":
        res = await session.read_resource(req["uri"])
        return {"ok": True, "text": "".join(getattr(c, "text", "") for c in res.contents)}
    return {"ok": False, "error": f"unknown op {op}"}


async def serve_lines(read, write):
    async with ClientSession(read, write) as session:
        init = await session.initialize()
        emit({"ready": True, "server": {"name": init.server_info.name, "version": init.server_info.version}})
        loop = asyncio.get_running_loop()
        while True:
            line = await loop.run_in_executor(None, sys.stdin.readline)
            if not line:
                return
            try:
                emit(await handle(session, json.loads(line)))
            except Exception as e:  # noqa: BLE001 - reported to the test, which decides
                emit({"ok": False, "error": flatten(e)})


async def main():
    mode = sys.argv[1]
    if mode == "http":
        url, token = sys.argv[2], sys.argv[3]
        async with create_mcp_http_client(headers={"Authorization": f"Bearer {token}"}) as client:
            async with streamable_http_client(url, http_client=client) as (read, write, *_):
                await serve_lines(read, write)
    elif mode == "spawn":
        spec = json.loads(sys.argv[2])
        env = {**os.environ, **(spec.get("env") or {})}
        params = StdioServerParameters(command=spec["command"], args=spec.get("args") or [], env=env)
        async with stdio_client(params) as (read, write, *_):
            await serve_lines(read, write)
    else:
        binary, home = sys.argv[2], sys.argv[3]
        env = dict(os.environ)
        env["LLM_CLI_GATEWAY_HOME"] = home
        for kv in sys.argv[4:]:
            k, _, v = kv.partition("=")
            env[k] = v
        params = StdioServerParameters(command=binary, args=["serve", "--stdio"], env=env)
        async with stdio_client(params) as (read, write, *_):
            await serve_lines(read, write)


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except BaseException as e:  # noqa: BLE001
        emit({"ok": False, "fatal": True, "error": flatten(e)})
        sys.exit(1)
