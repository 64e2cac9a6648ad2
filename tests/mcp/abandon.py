"""Starts one tool call through the official MCP Python SDK and gives up on it after
SECONDS, the way a client whose tool timeout fires does: on the 2026-07-28 wire (`Client`)
the SDK closes the request's response stream; on a 2025 session (`ClientSession`) it
sends `notifications/cancelled`. Prints one JSON line {"ok", "gave_up"} and, for a
session, keeps it open a moment so the notification is delivered before the session ends.

Usage: abandon.py URL TOKEN WIRE SECONDS TOOL ARGS_JSON   (WIRE: session | stateless)
"""
import asyncio
import json
import sys

from mcp import Client, ClientSession
from mcp.client.streamable_http import create_mcp_http_client, streamable_http_client


async def give_up(call, seconds):
    try:
        await asyncio.wait_for(call, timeout=seconds)
        return False
    except (asyncio.TimeoutError, TimeoutError):
        return True


async def main():
    url, token, wire, seconds, tool, args = sys.argv[1:7]
    seconds, args = float(seconds), json.loads(args)
    async with create_mcp_http_client(headers={"Authorization": f"Bearer {token}"}) as http:
        if wire == "session":
            async with streamable_http_client(url, http_client=http) as (read, write, *_):
                async with ClientSession(read, write) as s:
                    await s.initialize()
                    gave_up = await give_up(s.call_tool(tool, args), seconds)
                    await asyncio.sleep(0.5)  # let the cancellation notification go out
        else:
            async with Client(streamable_http_client(url, http_client=http), mode="2026-07-28") as c:
                gave_up = await give_up(c.call_tool(tool, args), seconds)
    print(json.dumps({"ok": True, "gave_up": gave_up}))


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except BaseException as e:  # noqa: BLE001 - the test reads the error
        print(json.dumps({"ok": False, "error": f"{type(e).__name__}: {e}"}))
