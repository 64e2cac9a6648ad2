// Baseline for the tools/list benchmark: the official MCP TypeScript SDK over streamable
// HTTP (stateful sessions, as the original gateway ran it) with 35 tools whose input
// schemas are about as large as the original gateway's request tools.
import { randomUUID } from "node:crypto";
import express from "express";
import { z } from "zod";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { isInitializeRequest } from "@modelcontextprotocol/sdk/types.js";

const port = Number(process.argv[2] ?? 3999);
const toolCount = Number(process.argv[3] ?? 35);

function buildServer() {
  const server = new McpServer({ name: "node-baseline", version: "1.5.4" });
  const shape = {
    prompt: z.string().min(1).max(100000).describe("The prompt to send"),
    model: z.string().optional().describe("Model name or alias"),
    outputFormat: z.enum(["text", "json", "stream-json"]).optional(),
    sessionId: z.string().optional(),
    resumeLatest: z.boolean().optional(),
    createNewSession: z.boolean().optional(),
    allowedTools: z.array(z.string()).optional(),
    disallowedTools: z.array(z.string()).optional(),
    permissionMode: z.enum(["default", "acceptEdits", "plan", "auto", "dontAsk", "bypassPermissions"]).optional(),
    cwd: z.string().optional(),
    idleTimeoutMs: z.number().int().optional(),
    forceRefresh: z.boolean().optional(),
    correlationId: z.string().optional(),
  };
  for (let i = 0; i < toolCount; i++) {
    server.registerTool(`tool_${i}`, { description: `Baseline tool ${i}: runs a provider CLI request with session support.`, inputSchema: shape },
      async () => ({ content: [{ type: "text", text: "ok" }] }));
  }
  return server;
}

const transports = {};
const app = express();
app.use(express.json({ limit: "4mb" }));
app.post("/mcp", async (req, res) => {
  const sid = req.headers["mcp-session-id"];
  let transport = sid ? transports[sid] : undefined;
  if (!transport) {
    if (sid || !isInitializeRequest(req.body)) {
      res.status(400).json({ jsonrpc: "2.0", error: { code: -32000, message: "no session" }, id: null });
      return;
    }
    transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => { transports[id] = transport; },
    });
    await buildServer().connect(transport);
  }
  await transport.handleRequest(req, res, req.body);
});
app.listen(port, "127.0.0.1", () => console.error(`node baseline on ${port}`));
