"""One tool call through the official MCP Python SDK, with an elicitation callback, on
either wire. Prints one JSON line: {"ok", "is_error", "text", "structured", "protocol",
"asked": [the messages the server asked the user]}.

Usage:
  consent.py URL TOKEN WIRE ANSWER TOOL ARGS_JSON
    WIRE    session   - ClientSession, initialize handshake (2025-11-25; elicitation/create)
            stateless - high-level Client negotiating 2026-07-28 (InputRequired results,
                        retried by the SDK with the user's answer)
    ANSWER  accept | accept-unticked | decline | cancel | none (no elicitation capability)
"""
import asyncio
import json
import sys

from mcp import Client, ClientSession
from mcp.client.streamable_http import create_mcp_http_client, streamable_http_client
from mcp.types import ElicitResult


def flatten(e):
    if isinstance(e, BaseExceptionGroup):
        return "; ".join(flatten(x) for x in e.exceptions)
    return f"{type(e).__name__}: {e}"


async def main():
    url, token, wire, answer, tool, args = sys.argv[1:7]
    args = json.loads(args)
    asked = []

    async def on_elicit(context, params):
        asked.append(getattr(params, "message", ""))
        if answer == "accept":
            return ElicitResult(action="accept", content={"allow": True})
        if answer == "accept-unticked":
            return ElicitResult(action="accept", content={"allow": False})
        return ElicitResult(action=answer)

    callback = None if answer == "none" else on_elicit
    async with create_mcp_http_client(headers={"Authorization": f"Bearer {token}"}) as http:
        if wire == "session":
            async with streamable_http_client(url, http_client=http) as (read, write, *_):
                async with ClientSession(read, write, elicitation_callback=callback) as s:
                    init = await s.initialize()
                    r = await s.call_tool(tool, args)
                    protocol = init.protocol_version
        else:
            async with Client(
                streamable_http_client(url, http_client=http),
                mode="2026-07-28",
                elicitation_callback=callback,
            ) as c:
                r = await c.call_tool(tool, args)
                protocol = c.protocol_version
    text = "".join(getattr(c, "text", "") for c in r.content)
    print(json.dumps({
        "ok": True,
        "is_error": bool(r.is_error),
        "text": text,
        "structured": r.structured_content,
        "protocol": protocol,
        "asked": asked,
    }))


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except BaseException as e:  # noqa: BLE001 - the test reads the error
        print(json.dumps({"ok": False, "error": flatten(e)}))
