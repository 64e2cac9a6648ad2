"""Drives llm-cli-gateway with the official MCP Python SDK and prints one JSON result.

Usage:
  client.py http URL TOKEN     initialize, tools/list, call llm_process_health; also try without the token
  client.py stdio BIN HOME     the same over stdio, spawning `BIN serve --stdio`
"""
import asyncio
import json
import sys

from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client


async def exercise(read, write):
    async with ClientSession(read, write) as session:
        init = await session.initialize()
        tools = await session.list_tools()
        result = await session.call_tool("llm_process_health", {})
        text = "".join(getattr(c, "text", "") for c in result.content)
        return {
            "server_name": init.server_info.name,
            "server_version": init.server_info.version,
            "protocol_version": init.protocol_version,
            "tools": sorted(t.name for t in tools.tools),
            "health_is_error": bool(result.is_error),
            "health": json.loads(text),
            "structured": result.structured_content,
        }


async def http(url, token):
    out = {}
    async with create_mcp_http_client(headers={"Authorization": f"Bearer {token}"}) as client:
        async with streamable_http_client(url, http_client=client) as (read, write, *_):
            out.update(await exercise(read, write))
    # Without the token the SDK must fail to initialize (401).
    statuses = []

    async def record(response):
        statuses.append(response.status_code)

    try:
        async with create_mcp_http_client() as client:
            client.event_hooks["response"].append(record)
            async with streamable_http_client(url, http_client=client) as (read, write, *_):
                async with ClientSession(read, write) as session:
                    await asyncio.wait_for(session.initialize(), 10)
        out["unauthenticated"] = "accepted"
    except BaseException as e:  # noqa: BLE001 - any failure is the expected outcome
        out["unauthenticated"] = "rejected: " + flatten(e)
    out["unauthenticated_statuses"] = statuses
    return out


def flatten(e):
    if isinstance(e, BaseExceptionGroup):
        return "; ".join(flatten(x) for x in e.exceptions)
    return f"{type(e).__name__}: {e}"


async def stdio(binary, home):
    params = StdioServerParameters(command=binary, args=["serve", "--stdio"], env={"LLM_CLI_GATEWAY_HOME": home})
    async with stdio_client(params) as (read, write, *_):
        return await exercise(read, write)


def main():
    mode = sys.argv[1]
    if mode == "http":
        result = asyncio.run(http(sys.argv[2], sys.argv[3]))
    else:
        result = asyncio.run(stdio(sys.argv[2], sys.argv[3]))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
