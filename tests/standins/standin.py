#!/usr/bin/env python3
"""Stand-ins for the claude, codex, gemini, grok and vibe CLIs (see README.md).

One script, dispatched on the name it was invoked as (bin/<cli> symlinks). Formats,
messages and exit codes follow the real CLIs as recorded in provider transcripts.
Stdlib only; never reads stdin beyond a non-blocking EOF check; traps no signals.
"""
import atexit, json, os, random, re, select, stat, subprocess, sys, time, uuid  # noqa: E401
from datetime import datetime, timezone
from pathlib import Path

CLI = os.path.basename(sys.argv[0])
MODES = ("ok", "not_logged_in", "hang", "slow", "garbage", "flood", "fail", "offline")
MISSING = "00000000-0000-4000-8000-000000000000"  # a session id no CLI knows
LOG_ENV_KEYS = ("VIBE_ACTIVE_MODEL", "VIBE_CWD", "GEMINI_CLI_TRUST_WORKSPACE", "GEMINI_MODEL",
                "GROK_MODEL", "IS_SANDBOX", "CODEX_HOME", "CLAUDE_CONFIG_DIR", "NO_COLOR", "TERM", "CI")
DEADLINE = None      # monotonic time at which ON_DEADLINE runs (vibe --time-limit)
ON_DEADLINE = None

# ---------------------------------------------------------------- shared helpers

def env_int(name, default):
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        return default

def current_mode():
    m = os.environ.get(f"STANDIN_{CLI.upper()}_MODE") or os.environ.get("STANDIN_MODE") or "ok"
    if m not in MODES:
        die(f"stand-in {CLI}: unknown mode {m!r} (one of {', '.join(MODES)})", 2)
    return m

def write(fd, data):
    data = data.encode() if isinstance(data, str) else data
    while data:
        data = data[os.write(fd, data):]

def out(s):
    write(1, s)

def err(s):
    write(2, s)

def die(msg, code):
    err(msg + "\n")
    sys.exit(code)

def done(text):
    out(text)
    sys.exit(0)

def nap(seconds):
    """Sleep, but honour the --time-limit deadline (vibe) if one is set."""
    end = time.monotonic() + seconds
    while True:
        now = time.monotonic()
        if DEADLINE is not None and now >= DEADLINE:
            ON_DEADLINE()
        if now >= end:
            return
        stop = end if DEADLINE is None else min(end, DEADLINE)
        time.sleep(min(stop - now, 3600))

def line(obj):  # compact, one per line (JSON Lines)
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n"

def pretty(obj):  # indent 2, like JSON.stringify(x, null, 2) / json.dumps(indent=2)
    return json.dumps(obj, ensure_ascii=False, indent=2) + "\n"

def is_uuid(s):
    return isinstance(s, str) and re.fullmatch(r"[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}", s)

uuid4 = lambda: str(uuid.uuid4())  # noqa: E731

def uuid7():  # codex thread ids are time-ordered v7 UUIDs
    r = int.from_bytes(os.urandom(10), "big")
    v = (int(time.time() * 1000) << 80) | (7 << 76) | (((r >> 62) & 0xFFF) << 64) | (2 << 62) | (r & (2**62 - 1))
    return str(uuid.UUID(int=v))

def utc(precision="ms"):
    t = datetime.now(timezone.utc)
    frac = f"{t.microsecond // 1000:03d}" if precision == "ms" else f"{t.microsecond:06d}"
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + frac + "Z"

def reply_for(prompt):
    for name in (f"STANDIN_{CLI.upper()}_REPLY", "STANDIN_REPLY"):
        if name in os.environ:  # an empty value is a reply too: the CLI said nothing
            return os.environ[name]
    return f"stand-in {CLI} reply: {prompt[:60]}"

def sval(v, default=None):
    """An option value, or default when absent or given without a value."""
    return default if v is None or v is True else v

def stdin_is_closed():
    """True for a closed fd 0, /dev/null, an exhausted file or a pipe at EOF; never blocks."""
    try:
        st = os.fstat(0)
        if stat.S_ISCHR(st.st_mode):
            return st.st_rdev == os.stat("/dev/null").st_rdev
        if stat.S_ISREG(st.st_mode):
            return os.lseek(0, 0, os.SEEK_CUR) >= st.st_size
        readable, _, _ = select.select([0], [], [], 0)
        return bool(readable) and os.read(0, 1) == b""
    except OSError:
        return not os.path.exists("/proc/self/fd/0")

def spawn_child():
    """STANDIN_CHILD=1: a `sleep 600` grandchild in our process group, as real CLIs leave
    helpers (MCP servers, shells) behind. Reaped when we exit by ourselves; a signal to us
    alone leaves it running, so only a kill of the whole group cleans up."""
    if os.environ.get("STANDIN_CHILD") != "1":
        return None
    child = subprocess.Popen(["sleep", "600"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    atexit.register(lambda: (child.kill(), child.wait()))
    return child.pid

def log_invocation(child_pid):
    path = os.environ.get("STANDIN_LOG")
    if not path:
        return
    try:
        cwd = os.getcwd()
    except OSError:
        cwd = None
    rec = {"cli": CLI, "argv": sys.argv[1:], "cwd": cwd, "pid": os.getpid(), "pgid": os.getpgid(0),
           "started": time.time(),
           "env": {k: os.environ[k] for k in LOG_ENV_KEYS if k in os.environ},
           # Names only: which of the gateway's own variables leaked into the CLI's environment.
           "gateway_env": sorted(k for k in os.environ
                                 if k.startswith(("LLM_CLI_GATEWAY", "LLM_GATEWAY_")) or k == "RUST_BACKTRACE"),
           "stdin_is_closed": stdin_is_closed()}
    if child_pid is not None:
        rec["child_pid"] = child_pid
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (json.dumps(rec) + "\n").encode())  # one write: lines never interleave
    finally:
        os.close(fd)

def parse(argv, takes=(), optional=(), flags=(), aliases=None, unknown_value=False, stop_at_positional=False):
    """Tiny option parser -> ({canonical name: [values]}, positionals). A flag's value is True.
    `takes` always consume the next argument; `optional` and (if unknown_value) unknown options
    consume it only when it does not start with '-'. `--name=value` always works."""
    aliases = aliases or {}
    opts, pos, i = {}, [], 0
    while i < len(argv):
        a = argv[i]
        i += 1
        if a == "--":
            pos += argv[i:]
            break
        if len(a) < 2 or a[0] != "-":
            if stop_at_positional:
                return opts, [a] + argv[i:]
            pos.append(a)
            continue
        name, eq, val = a.partition("=") if a.startswith("--") else (a, "", "")
        name = aliases.get(name, name)
        if not eq:
            nxt = argv[i] if i < len(argv) else None
            unknown = name not in takes and name not in optional and name not in flags
            if name in takes and nxt is not None:
                val, i = nxt, i + 1
            elif nxt is not None and not nxt.startswith("-") and (name in optional or (unknown and unknown_value)):
                val, i = nxt, i + 1
            else:
                val = True
        opts.setdefault(name, []).append(val)
    return opts, pos

def opt(opts, name, default=None):
    return opts[name][-1] if opts.get(name) else default

def version(text):
    nap(env_int("STANDIN_VERSION_DELAY_MS", 0) / 1000)
    done(text + "\n")

def garbage():
    alphabet = [chr(c) for c in range(0x20, 0x7F)] + list("äöüßéñ€漢字かな🙂🚀")
    junk = "".join(random.choice(alphabet) for _ in range(200))
    return "\x1b[31m{{{not json <<<" + junk + "\x1b[0m\n"

def flood():
    total = env_int("STANDIN_FLOOD_BYTES", 50_000_000)
    block = ((f"stand-in {CLI} flood ".ljust(63, "x") + "\n") * 1024).encode()  # 64 KiB of lines
    for fd, n in ((1, total), (2, total // 10)):
        while n > 0:
            chunk = block if n >= len(block) else block[:n]
            write(fd, chunk)
            n -= len(chunk)
    return ""

def run(mode, pre_out="", body_out="", pre_err="", body_err="", offline=None, on_done=None):
    """The mode behaviour once argv checks passed: preamble, then body (ok/slow) or silence."""
    if mode == "fail":
        die(f"stand-in {CLI}: simulated crash", 3)
    if mode == "garbage":
        done(garbage())
    if mode == "flood":
        done(flood())
    out(pre_out)
    err(pre_err)
    if mode == "offline" and offline:
        offline()
    if mode in ("hang", "offline"):
        nap(float("inf"))
    nap(env_int("STANDIN_DELAY_MS", 0) / 1000)
    if mode == "slow":
        gap, size = env_int("STANDIN_SLOW_MS", 300) / 1000, -(-len(body_out) // 5)
        for j in range(5):
            if j:
                nap(gap)
            out(body_out[j * size:(j + 1) * size])
    else:
        out(body_out)
    err(body_err)
    if on_done:
        on_done()
    sys.exit(0)

# ---------------------------------------------------------------- claude (2.1.330)

CLAUDE_NOT_LOGGED_IN = "Not logged in · Please run /login"
CLAUDE_PERMISSION_MODES = ("acceptEdits", "auto", "bypassPermissions", "manual", "dontAsk", "plan")
CLAUDE_TAKES = {"--output-format", "--model", "--session-id", "--permission-mode", "--allowedTools",
                "--disallowedTools", "--append-system-prompt", "--system-prompt", "--max-turns", "--add-dir",
                "--agent", "--agents", "--effort", "--fallback-model", "--input-format", "--json-schema",
                "--max-budget-usd", "--mcp-config", "--settings", "--setting-sources", "--tools", "--betas",
                "--plugin-dir", "--debug-file", "--name", "--system-prompt-file", "--append-system-prompt-file",
                "--permission-prompt-tool"}
CLAUDE_ALIASES = {"-p": "--print", "-r": "--resume", "-c": "--continue", "-v": "--version", "-h": "--help",
                  "-d": "--debug", "-n": "--name", "--allowed-tools": "--allowedTools",
                  "--disallowed-tools": "--disallowedTools"}
# The result object exactly as 2.1.330 prints it (claude-latest-p-json.txt); ids/times are replaced.
CLAUDE_RESULT = json.loads(
    '{"duration_api_ms":0,"stop_reason":"stop_sequence","session_id":"","total_cost_usd":0,"usage":{"output_tokens_details":'
    '{"thinking_tokens":0},"input_tokens":0,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":0,'
    '"server_tool_use":{"web_search_requests":0,"web_fetch_requests":0},"service_tier":"standard","cache_creation":'
    '{"ephemeral_1h_input_tokens":0,"ephemeral_5m_input_tokens":0},"inference_geo":"","iterations":[],"speed":"standard",'
    '"fallback_credit":null},"modelUsage":{},"permission_denials":[],"terminal_reason":"api_error","fast_mode_state":"off",'
    '"fast_mode_disabled_reason":"sdk_opt_in_required","subagent_stats":{"spawned":0,"requested":{"background":0,'
    '"foreground":0,"unset":0},"started_in_background":0,"max_depth":0,"spawned_by_subagents":0,"completed":0,"failed":0,'
    '"killed":{"parent":0,"user":0,"system":0},"refused":{"depth_limit":0,"concurrency_limit":0,"budget":0},"by_type":{}},'
    '"safety_stops":0,"is_error":true,"num_turns":1,"subtype":"success","api_error_status":null,"result":"","type":"result",'
    '"duration_ms":0,"uuid":"","queued_turn_count":0,"result_index":0}')
CLAUDE_AUTH_ERROR_MESSAGE = json.loads(
    '{"type":"assistant","message":{"diagnostics":null,"id":"","container":null,"model":"<synthetic>","role":"assistant",'
    '"stop_details":null,"stop_reason":"stop_sequence","stop_sequence":"","type":"message","usage":{"output_tokens_details":'
    'null,"input_tokens":0,"output_tokens":0,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"server_tool_use":'
    '{"web_search_requests":0,"web_fetch_requests":0},"service_tier":null,"cache_creation":{"ephemeral_1h_input_tokens":0,'
    '"ephemeral_5m_input_tokens":0},"inference_geo":null,"iterations":null,"speed":null,"fallback_credit":null},"content":'
    '[{"type":"text","text":"Not logged in · Please run /login"}],"context_management":null},"parent_tool_use_id":null,'
    '"session_id":"","uuid":"","timestamp":"","error":"authentication_failed","is_api_error_message":true}')

def claude_result(sid, model, text, ok, started):
    r = json.loads(json.dumps(CLAUDE_RESULT))
    r.update(session_id=sid, result=text, uuid=uuid4(), duration_ms=int((time.monotonic() - started) * 1000) + 1)
    if ok:
        usage = r["usage"]
        usage.update(input_tokens=12, output_tokens=34, cache_read_input_tokens=5, cache_creation_input_tokens=6)
        usage["cache_creation"]["ephemeral_5m_input_tokens"] = 6
        r.update(duration_api_ms=800, stop_reason="end_turn", total_cost_usd=0.0123, terminal_reason="completed",
                 is_error=False, modelUsage={model: {
                     "inputTokens": 12, "outputTokens": 34, "cacheReadInputTokens": 5, "cacheCreationInputTokens": 6,
                     "webSearchRequests": 0, "costUSD": 0.0123, "contextWindow": 200000, "maxOutputTokens": 32000}})
    return r

def claude_auth(argv, mode):
    if argv[:1] != ["status"]:
        die("stand-in claude: only `claude auth status` is simulated", 1)
    logged_in = mode != "not_logged_in"
    home = os.path.expanduser("~")
    if "--text" in argv:
        out("Logged in using Claude.ai account (stand-in@example.com).\n" if logged_in
            else "Not logged in. Run claude auth login to authenticate.\n")
    else:
        status = {"loggedIn": logged_in, "authMethod": "claude.ai" if logged_in else "none",
                  "apiProvider": "firstParty", "analyticsDisabled": False,
                  "projectsDirectory": f"{home}/.claude/projects", "configDirectory": f"{home}/.claude",
                  "loginExpiresAt": None, "consoleProfileSignInOffered": not logged_in}
        if logged_in:
            status.update(email="stand-in@example.com", subscriptionType="max")
        out(pretty(status))
    sys.exit(0 if logged_in else 1)

def claude(argv, mode):
    started = time.monotonic()
    if argv[:1] == ["auth"]:
        claude_auth(argv[1:], mode)
    if argv[:1] == ["update"]:
        done("Current version: 2.1.330\nChecking for updates to latest version...\nClaude Code is up to date (2.1.330)\n")
    if argv[:1] == ["install"]:  # cli_upgrade with a target version
        done(f"✔ Claude Code successfully installed!\n  Version: {argv[1] if len(argv) > 1 else '2.1.330'}\n")
    o, pos = parse(argv, CLAUDE_TAKES, {"--resume", "--debug"}, (), CLAUDE_ALIASES)  # unknown: boolean
    if "--version" in o:
        version("2.1.330 (Claude Code)")
    fmt = sval(opt(o, "--output-format"), "text")
    if fmt not in ("text", "json", "stream-json"):
        die(f"error: option '--output-format <format>' argument '{fmt}' is invalid. "
            "Allowed choices are text, json, stream-json.", 1)
    perm = opt(o, "--permission-mode")
    if perm is not None and perm not in ("default",) + CLAUDE_PERMISSION_MODES:
        die(f"error: option '--permission-mode <mode>' argument '{sval(perm, '')}' is invalid. "
            f"Allowed choices are {', '.join(CLAUDE_PERMISSION_MODES)}.", 1)
    if fmt == "stream-json" and "--verbose" not in o:
        die("Error: When using --print, --output-format=stream-json requires --verbose", 1)
    bypass = perm == "bypassPermissions" or "--dangerously-skip-permissions" in o
    if bypass and os.geteuid() == 0 and not os.environ.get("IS_SANDBOX"):
        die("--dangerously-skip-permissions cannot be used with root/sudo privileges for security reasons", 1)
    session_id, resume = opt(o, "--session-id"), sval(opt(o, "--resume"))
    if session_id is not None and not is_uuid(session_id):
        die("Error: Invalid session ID. Must be a valid UUID.", 1)
    if resume == MISSING:
        die(f"No conversation found with session ID: {MISSING}", 1)
    prompt = pos[0] if pos else ""
    if not prompt:
        die("Error: Input must be provided either through stdin or as a prompt argument when using --print", 1)

    sid = resume or session_id or uuid4()
    model = sval(opt(o, "--model"), "claude-opus-5-5")
    init = line({"type": "system", "subtype": "init", "cwd": os.getcwd(), "session_id": sid,
                 "tools": ["Task", "Bash", "Edit", "Read", "Write", "WebFetch", "WebSearch"], "mcp_servers": [],
                 "model": model, "permissionMode": "bypassPermissions" if bypass else (perm or "default"),
                 "slash_commands": ["compact", "context", "init", "review"], "apiKeySource": "none",
                 "claude_code_version": "2.1.330", "output_style": "default",
                 "agents": ["general-purpose", "Explore", "Plan"], "skills": [], "plugins": [], "uuid": uuid4()})
    if mode == "not_logged_in":
        result = claude_result(sid, model, CLAUDE_NOT_LOGGED_IN, False, started)
        if fmt == "text":
            out(CLAUDE_NOT_LOGGED_IN + "\n")
        elif fmt == "json":
            out(line(result))
        else:
            msg = json.loads(json.dumps(CLAUDE_AUTH_ERROR_MESSAGE))
            msg["message"]["id"] = uuid4()
            msg.update(session_id=sid, uuid=uuid4(), timestamp=utc())
            out(init + line(msg) + line(dict(result, model_usage_since_last_result={})))
        sys.exit(1)
    reply = reply_for(prompt)
    result = claude_result(sid, model, reply, True, started)
    if fmt == "text":
        run(mode, body_out=reply + "\n")
    if fmt == "json":
        run(mode, body_out=line(result))
    assistant = {"type": "assistant", "message": {
        "id": "msg_" + os.urandom(12).hex(), "type": "message", "role": "assistant", "model": model,
        "content": [{"type": "text", "text": reply}], "stop_reason": "end_turn", "stop_sequence": None,
        "usage": {"input_tokens": 12, "cache_creation_input_tokens": 6, "cache_read_input_tokens": 5,
                  "output_tokens": 34, "service_tier": "standard"}},
        "parent_tool_use_id": None, "session_id": sid, "uuid": uuid4()}
    run(mode, pre_out=init, body_out=line(assistant) + line(dict(result, model_usage_since_last_result={})))

# ---------------------------------------------------------------- codex (0.169.0)

CODEX_TOP_TAKES = {"--config", "--model", "--sandbox", "--ask-for-approval", "--profile", "--cd", "--add-dir",
                   "--image", "--enable", "--disable", "--local-provider", "--remote", "--remote-auth-token-env"}
CODEX_EXEC_TAKES = {"--config", "--model", "--sandbox", "--profile", "--cd", "--add-dir", "--image",
                    "--output-schema", "--output-last-message", "--color", "--enable", "--disable",
                    "--local-provider", "--thread-source", "--cyber-access-program"}
CODEX_ALIASES = {"-c": "--config", "-m": "--model", "-s": "--sandbox", "-a": "--ask-for-approval",
                 "-p": "--profile", "-C": "--cd", "-i": "--image", "-o": "--output-last-message",
                 "-V": "--version", "-h": "--help"}
CODEX_DNS = "stream disconnected before completion: failed to lookup address information: Name does not resolve"
CODEX_401 = "unexpected status 401 Unauthorized: Missing bearer or basic authentication in header"

def start_mcp_servers(overrides):
    """Like codex at start-up: every `-c mcp_servers.<name>.command=…` (with
    `mcp_servers.<name>.args=[…]`) is spawned as an MCP server, before any prompt is sent.
    This is the sandbox escape the gateway's policy must keep callers from."""
    config = {}
    for kv in overrides:
        key, _, value = str(kv).partition("=")
        parts = key.strip().split(".")
        if len(parts) == 3 and parts[0] == "mcp_servers":
            try:
                value = json.loads(value)
            except ValueError:
                pass
            config.setdefault(parts[1], {})[parts[2]] = value
    for server in config.values():
        if isinstance(server.get("command"), str):
            args = server.get("args") if isinstance(server.get("args"), list) else []
            subprocess.run([server["command"], *map(str, args)], stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)

def in_git_repo(path):
    p = Path(path).resolve()
    return any((d / ".git").exists() for d in (p, *p.parents))

def codex_offline(as_json):
    """No network: what codex exec prints forever (codex-exec-json-skipgit.txt)."""
    def event(obj, text):  # --json: an event on stdout; text mode: a line on stderr
        out(line(obj)) if as_json else err(text + "\n")

    for n in range(2, 7):
        nap(0.1)
        err(f"{utc('us')} ERROR codex_api::endpoint::responses_websocket: "
            "failed to connect to Responses WebSocket stage=Unknown\n")
        if n < 6:
            event({"type": "error", "message": f"Reconnecting... {n}/5 ({CODEX_DNS})"}, f"ERROR: Reconnecting... {n}/5")
    fallback = f"Falling back from WebSockets to HTTPS transport. {CODEX_DNS}"
    event({"type": "item.completed", "item": {"id": "item_0", "type": "error", "message": fallback}},
          f"warning: {fallback}")
    pause = 1
    while True:  # waits for the network with growing pauses, forever
        nap(pause)
        event({"type": "error", "message": "Reconnecting... waiting for network (Connection failed: error sending "
               "request)"}, "ERROR: Reconnecting... waiting for network")
        pause = min(pause * 2, 60)

def codex(argv, mode):
    # Everything not listed as taking a value is a boolean (--json, --skip-git-repo-check, --last, ...).
    top, rest = parse(argv, CODEX_TOP_TAKES, (), (), CODEX_ALIASES, stop_at_positional=True)
    if "--version" in top:
        version("codex-cli 0.169.0")
    sub = rest[0] if rest else None
    if sub == "login" and rest[1:2] == ["status"]:
        if mode == "not_logged_in":
            die("Not logged in", 1)
        die("Logged in using ChatGPT", 0)  # codex prints login status on stderr
    if sub == "update":
        done("codex-cli 0.169.0 is already the latest version.\n")
    if sub not in ("exec", "e"):
        die('ERROR: TERM is set to "dumb". Refusing to start the interactive TUI because no terminal is available '
            "for a confirmation prompt (stdin/stderr is not a TTY). Run in a supported terminal or unset TERM.", 1)
    o, pos = parse(rest[1:], CODEX_EXEC_TAKES, (), (), CODEX_ALIASES)
    if "--version" in o:
        version("codex-cli 0.169.0")
    o = {**top, **o}  # top-level options apply unless exec repeats them
    start_mcp_servers(o.get("--config") or [])
    # Like clap: after `--` nothing is a subcommand, so `-- resume` is a prompt.
    before_dashes = rest[1:rest.index("--")] if "--" in rest else rest[1:]
    action = pos.pop(0) if pos and pos[0] in ("resume", "fork") and pos[0] in before_dashes else None
    target = None
    if action and "--last" in o:
        prompt = pos[-1] if pos else ""
    elif action:
        target, prompt = (pos + [None, ""])[:2]
        if not target:
            die(f"Error: `codex exec {action}` needs a session id or --last", 2)
    else:
        prompt = pos[0] if pos else ""
    workdir = os.path.join(os.getcwd(), sval(opt(o, "--cd"), "."))
    if "--skip-git-repo-check" not in o and not in_git_repo(workdir):
        die("Not inside a trusted directory and --skip-git-repo-check was not specified.", 1)
    if target == MISSING:
        die(f"Error: thread/{action}: thread/{action} failed: no rollout found for thread id {MISSING} (code -32600)", 1)
    if not prompt or prompt == "-":
        die("No prompt provided. Either specify one as an argument or pipe the prompt into stdin.", 1)

    as_json = "--json" in o
    thread_id = target if action == "resume" and target else uuid7()
    started = line({"type": "thread.started", "thread_id": thread_id}) + line({"type": "turn.started"})
    banner = (f"OpenAI Codex v0.169.0\n--------\nworkdir: {os.path.normpath(workdir)}\n"
              f"model: {sval(opt(o, '--model'), 'gpt-6.1-sol')}\nprovider: openai\n"
              f"approval: {sval(opt(o, '--ask-for-approval'), 'never')}\n"
              f"sandbox: {sval(opt(o, '--sandbox'), 'read-only')}\nreasoning effort: none\n"
              f"reasoning summaries: none\nsession id: {thread_id}\n--------\nuser\n{prompt}\n")
    if mode == "not_logged_in":
        if as_json:
            out(started + line({"type": "error", "message": CODEX_401})
                + line({"type": "turn.failed", "error": {"message": CODEX_401}}))
        else:
            err(banner + f"ERROR: {CODEX_401}\n")
        sys.exit(1)
    reply = reply_for(prompt)
    last_message_file = sval(opt(o, "--output-last-message"))

    def save_last_message():
        if last_message_file:
            with open(last_message_file, "w", encoding="utf-8") as f:
                f.write(reply)

    offline = lambda: codex_offline(as_json)  # noqa: E731
    if as_json:
        body = (line({"type": "item.completed", "item": {"id": "item_0", "type": "agent_message", "text": reply}})
                + line({"type": "turn.completed",
                        "usage": {"input_tokens": 120, "cached_input_tokens": 20, "output_tokens": 45}}))
        run(mode, pre_out=started, body_out=body, offline=offline, on_done=save_last_message)
    run(mode, pre_err=banner, body_out=reply + "\n", body_err=f"codex\n{reply}\ntokens used\n165\n",
        offline=offline, on_done=save_last_message)

# ---------------------------------------------------------------- gemini (0.61.0)

GEMINI_TAKES = {"--prompt", "--model", "--output-format", "--resume", "--session-id", "--approval-mode", "--policy",
                "--admin-policy", "--include-directories", "--allowed-tools", "--allowed-mcp-server-names",
                "--extensions", "--prompt-interactive", "--session-file", "--delete-session"}
GEMINI_FLAGS = {"--yolo", "--sandbox", "--skip-trust", "--debug", "--version", "--help", "--list-sessions",
                "--list-extensions", "--screen-reader", "--raw-output", "--accept-raw-output-risk", "--acp",
                "--experimental-acp"}
GEMINI_ALIASES = {"-p": "--prompt", "-m": "--model", "-o": "--output-format", "-r": "--resume", "-y": "--yolo",
                  "-s": "--sandbox", "-d": "--debug", "-v": "--version", "-h": "--help", "-e": "--extensions",
                  "-i": "--prompt-interactive", "-l": "--list-extensions", "-w": "--worktree"}
GEMINI_TRUST = ("Gemini CLI is not running in a trusted directory. To proceed, either use `--skip-trust`, set the "
                "`GEMINI_CLI_TRUST_WORKSPACE=true` environment variable, or trust this directory in interactive mode. "
                "For more details, see https://geminicli.com/docs/cli/trusted-folders/#headless-and-automated-environments")

def gemini(argv, mode):
    o, pos = parse(argv, GEMINI_TAKES, (), GEMINI_FLAGS, GEMINI_ALIASES, unknown_value=True)
    if "--version" in o:
        version("0.61.0")
    for name, choices in (("--output-format", ("text", "json", "stream-json")),
                          ("--approval-mode", ("default", "auto_edit", "yolo", "plan"))):
        value = opt(o, name)
        if value is not None and value not in choices:
            die(f'Invalid values:\n  Argument: {name[2:]}, Given: "{sval(value, "")}", Choices: '
                + ", ".join(f'"{c}"' for c in choices), 1)
    prompt = sval(opt(o, "--prompt"), " ".join(pos))
    fmt = opt(o, "--output-format", "text")
    session_opt, resume = sval(opt(o, "--session-id")), sval(opt(o, "--resume"))
    sid = session_opt or uuid4()
    if mode == "not_logged_in":
        if resume == "latest":
            err("No previous sessions found for this project.\n")
        msg = (f"Please set an Auth method in your {os.path.expanduser('~')}/.gemini/settings.json or specify one of "
               "the following environment variables before running: GEMINI_API_KEY, GOOGLE_GENAI_USE_VERTEXAI, "
               "GOOGLE_GENAI_USE_GCA")
        err(pretty({"session_id": sid, "error": {"type": "Error", "message": msg, "code": 41}})
            if fmt == "json" else msg + "\n")
        sys.exit(41)
    if "--skip-trust" not in o and os.environ.get("GEMINI_CLI_TRUST_WORKSPACE") != "true":
        die(f"\x1b[31m{GEMINI_TRUST}\x1b[0m", 55)
    if session_opt is not None and not is_uuid(session_opt):
        die("Error: Invalid session ID format", 42)
    if resume == MISSING:
        die("Error resuming session: No previous sessions found for this project.", 42)
    if not prompt:
        die("No input provided via stdin. Input can be provided by piping data into gemini or using the --prompt "
            "option.", 42)

    sid = resume if is_uuid(resume) else sid
    model = sval(opt(o, "--model"))
    reply = reply_for(prompt)
    if fmt == "json":
        tokens = {"input": 90, "prompt": 100, "candidates": 40, "total": 150, "cached": 10, "thoughts": 0, "tool": 0}
        stats = {"models": {model or "gemini-2.5-pro": {
                     "api": {"totalRequests": 1, "totalErrors": 0, "totalLatencyMs": 850}, "tokens": tokens}},
                 "tools": {"totalCalls": 0, "totalSuccess": 0, "totalFail": 0, "totalDurationMs": 0,
                           "totalDecisions": {"accept": 0, "reject": 0, "modify": 0, "auto_accept": 0},
                           "byName": {}},
                 "files": {"totalLinesAdded": 0, "totalLinesRemoved": 0}}
        run(mode, body_out=pretty({"session_id": sid, "response": reply, "stats": stats}))
    if fmt == "stream-json":
        pre = (line({"type": "init", "timestamp": utc(), "session_id": sid, "model": model or "auto"})
               + line({"type": "message", "timestamp": utc(), "role": "user", "content": prompt}))
        usage = {"total_tokens": 150, "input_tokens": 100, "output_tokens": 40, "cached": 10, "input": 90}
        body = (line({"type": "message", "timestamp": utc(), "role": "assistant", "content": reply, "delta": True})
                + line({"type": "result", "timestamp": utc(), "status": "success",
                        "stats": dict(usage, duration_ms=850, tool_calls=0,
                                      models={model or "gemini-2.5-pro": usage})}))
        run(mode, pre_out=pre, body_out=body)
    run(mode, body_out=reply + "\n")

# ---------------------------------------------------------------- grok (1.0.1)

GROK_TAKES = {"--prompt", "--model", "--directory", "--api-key", "--base-url", "--max-tool-rounds", "--resume",
              "--permission-mode", "--effort", "--tools", "--disallowed-tools", "--output-format"}
GROK_FLAGS = {"--continue", "--always-approve", "--version", "--help"}
GROK_ALIASES = {"-p": "--prompt", "-m": "--model", "-d": "--directory", "-k": "--api-key", "-u": "--base-url",
                "-V": "--version", "-h": "--help"}

def grok(argv, mode):
    o, pos = parse(argv, GROK_TAKES, (), GROK_FLAGS, GROK_ALIASES, unknown_value=True)
    if pos[:1] == ["update"]:
        done("grok 1.0.1 is already up to date.\n")
    if "--version" in o:
        version("1.0.1")
    if mode == "not_logged_in":
        die('❌ Error: API key required. Set GROK_API_KEY environment variable, use --api-key flag, or set "apiKey" '
            "field in ~/.grok/user-settings.json", 1)
    prompt = sval(opt(o, "--prompt"), "")
    if not prompt:
        die("Error: interactive mode needs a terminal; use -p/--prompt for headless mode", 1)
    run(mode, body_out=line({"role": "user", "content": prompt})
        + line({"role": "assistant", "content": reply_for(prompt)}))

# ---------------------------------------------------------------- vibe (mistral-vibe 3.0.2)

VIBE_TAKES = {"--output", "--agent", "--enabled-tools", "--disabled-tools", "--time-limit", "--workdir",
              "--max-turns", "--max-price", "--max-tokens", "--prompt-file", "--output-dir", "--add-dir"}
VIBE_OPTIONAL = {"--prompt", "--resume", "--worktree"}
VIBE_FLAGS = {"--continue", "--trust", "--auto-approve", "--smart-approve", "--version", "--help", "--setup",
              "--check-upgrade"}
VIBE_ALIASES = {"-p": "--prompt", "-c": "--continue", "-v": "--version", "-h": "--help", "--yolo": "--auto-approve"}
VIBE_AGENTS = ("ask", "accept-edits", "smart-approve", "auto-approve")
VIBE_KEYRING = "Reading API keys from the system keyring (set them as environment variables to skip this)\n"

def vibe(argv, mode):
    global DEADLINE, ON_DEADLINE
    o, pos = parse(argv, VIBE_TAKES, VIBE_OPTIONAL, VIBE_FLAGS, VIBE_ALIASES, unknown_value=True)
    if "--version" in o:
        version("vibe 3.0.2")
    if pos[:1] == ["update"] or "--check-upgrade" in o:
        done("Vibe 3.0.2 is up to date.\n")
    fmt = sval(opt(o, "--output"), "text")
    if fmt not in ("text", "json", "streaming"):
        die(f"error: invalid value '{fmt}' for '--output <OUTPUT>'\n  [possible values: text, json, streaming]\n\n"
            "For more information, try '--help'.", 2)
    if "--prompt" not in o and "--prompt-file" not in o:
        die("Error: Interactive mode needs a terminal. Use -p/--prompt to run without one.", 1)
    agent = opt(o, "--agent")
    if agent is not None and agent not in VIBE_AGENTS:
        die(f"{VIBE_KEYRING}Error: Agent '{sval(agent, '')}' not found.", 2)
    if mode == "not_logged_in":
        die(f"{VIBE_KEYRING}Error: Missing MISTRAL_API_KEY environment variable for mistral provider", 1)
    resume = sval(opt(o, "--resume"))
    if resume == MISSING:
        die(f"Error: Session not found: {MISSING}", 1)
    prompt = sval(opt(o, "--prompt"), " ".join(pos))
    if sval(opt(o, "--prompt-file")):
        prompt = Path(opt(o, "--prompt-file")).read_text(encoding="utf-8")
    if not prompt:
        die("Error: No prompt provided. Use -p/--prompt, --prompt-file or pipe it into stdin.", 1)

    turn, now = os.urandom(16).hex(), int(time.time() * 1000)
    user = {"id": f"user-turn-{turn}-1", "sessionId": resume or uuid4(), "turnId": f"turn-{turn}",
            "inputEntryId": None, "createdAt": now, "updatedAt": now, "generationStatus": "completed",
            "relatedEntryId": None, "type": "message", "role": "user", "content": [{"type": "text", "text": prompt}],
            "source": "turn_start", "userDisplayContent": None, "outcome": None}
    assistant = dict(user, id=f"assistant-turn-{turn}-2", inputEntryId=user["id"], relatedEntryId=user["id"],
                     role="assistant", content=[{"type": "text", "text": reply_for(prompt)}], source="model",
                     model=os.environ.get("VIBE_ACTIVE_MODEL", "devstral-medium"))
    limit = sval(opt(o, "--time-limit"))
    if limit is not None and not re.fullmatch(r"\d+(\.\d*)?", limit):
        die(f"error: invalid value '{limit}' for '--time-limit <SECONDS>': invalid float literal\n\n"
            "For more information, try '--help'.", 2)
    if limit is not None:
        def stopped():  # --time-limit: write the export so far, exit 3 (vibe-p-json-fakekey-timelimit20.txt)
            if fmt == "json":
                out(pretty([user]))
            die("Stopped: deadline", 3)
        DEADLINE, ON_DEADLINE = time.monotonic() + float(limit), stopped
    if fmt == "json":
        run(mode, body_out=pretty([user, assistant]))
    if fmt == "streaming":
        run(mode, pre_out=line(user), body_out=line(assistant))
    run(mode, body_out=assistant["content"][0]["text"] + "\n")

def main():
    log_invocation(spawn_child())
    handler = {"claude": claude, "codex": codex, "gemini": gemini, "grok": grok, "vibe": vibe}.get(CLI)
    if handler is None:
        die(f"stand-in: invoked as {CLI!r}; run it through a bin/ symlink named claude, codex, gemini, grok or vibe", 2)
    try:
        handler(sys.argv[1:], current_mode())
    except BrokenPipeError:
        atexit._run_exitfuncs()  # os._exit skips them; the STANDIN_CHILD sleeper must go too
        os._exit(1)

if __name__ == "__main__":
    main()
