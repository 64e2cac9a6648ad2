#!/bin/sh
# Smoke test for the stand-in CLIs (README.md): every CLI in every mode (exit codes, output
# shape), the argv checks copied from the real CLIs, STANDIN_LOG, and that nothing is left
# running. Needs python3 and GNU timeout. Usage: sh tests/standins/selftest.sh
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
PATH="$HERE/bin:$PATH"
export PATH
for v in STANDIN_MODE STANDIN_CLAUDE_MODE STANDIN_CODEX_MODE STANDIN_GEMINI_MODE STANDIN_GROK_MODE \
    STANDIN_VIBE_MODE STANDIN_REPLY STANDIN_DELAY_MS STANDIN_SLOW_MS STANDIN_FLOOD_BYTES \
    STANDIN_VERSION_DELAY_MS STANDIN_CHILD GEMINI_CLI_TRUST_WORKSPACE VIBE_ACTIVE_MODEL IS_SANDBOX; do
    unset "$v"
done
WORK=$(mktemp -d "${TMPDIR:-/tmp}/standin-selftest.XXXXXX") || exit 1
trap 'rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM
STANDIN_LOG="$WORK/invocations.log"
export STANDIN_LOG
mkdir "$WORK/cwd" && cd "$WORK/cwd" || exit 1   # not a git repository (codex cares)
PASS=0 FAIL=0 RUNS=0 SKIP=0
U=00000000-0000-4000-8000-000000000000   # the session id no CLI knows
ID=0b6a3f0e-4c3e-4c7a-9d7e-1f2a3b4c5d6e   # a well-formed one

# Python predicate over the last run: o = stdout, e = stderr (text); doc/lines parse JSON.
PYX='import json, sys
o, e = (open(p, encoding="utf-8", errors="replace").read() for p in sys.argv[1:3])
doc = json.loads
def lines(s): return [json.loads(x) for x in s.splitlines() if x.strip()]
def parses(s):
    try: return json.loads(s) is not None or True
    except ValueError: return False
sys.exit(0 if eval(sys.argv[3]) else 1)'
PY=$(python3 -c 'import sys; print(sys.executable)')   # skip version-manager shims for the checks
pyx() { "$PY" -c "$PYX" "$WORK/out" "$WORK/err" "$1" 2>"$WORK/pyerr"; }

# run WANT_RC CMD... : one stand-in run, stdin from /dev/null, output kept in $WORK/out|err.
run() {
    want=$1
    shift
    RUNS=$((RUNS + 1))
    "$@" </dev/null >"$WORK/out" 2>"$WORK/err"
    RC=$?
    [ "$RC" -eq "$want" ]
}
pass() { PASS=$((PASS + 1)); }
fail() {
    FAIL=$((FAIL + 1))
    echo "FAIL: $*"
    head -c 300 "$WORK/out" | sed 's/^/    stdout| /'
    head -c 300 "$WORK/err" | sed 's/^/    stderr| /'
    [ -s "$WORK/pyerr" ] && tail -n 1 "$WORK/pyerr" | sed 's/^/    python| /'
    return 0
}
# verdict DESC WANT_RC PYTHON_PREDICATE: judge the run whose results are in $RC, $WORK/out|err.
verdict() {
    : >"$WORK/pyerr"
    if [ "$RC" -ne "$2" ]; then
        fail "$1: exit $RC, want $2"
    elif [ -n "$3" ] && ! pyx "$3"; then
        fail "$1: $3"
    else
        pass
    fi
}
# later BATCH DESC WANT_RC PYTHON_PREDICATE CMD... : start one stand-in run (stdin /dev/null)
# in the background; `settle BATCH` waits for that batch and judges each run.
BG=0
later() {
    batch=$1
    BG=$((BG + 1))
    RUNS=$((RUNS + 1))
    printf '%s\n%s\n%s\n' "$2" "$3" "$4" >"$WORK/bg.$BG.want"
    shift 4
    ("$@" </dev/null >"$WORK/bg.$BG.out" 2>"$WORK/bg.$BG.err"; echo $? >"$WORK/bg.$BG.rc") &
    echo "$BG $!" >>"$WORK/batch.$batch"
}
settle() {
    [ -s "$WORK/batch.$1" ] || return 0
    while read -r n pid; do wait "$pid"; done <"$WORK/batch.$1"
    while read -r n pid; do
        cp "$WORK/bg.$n.out" "$WORK/out"
        cp "$WORK/bg.$n.err" "$WORK/err"
        RC=$(cat "$WORK/bg.$n.rc")
        verdict "$(sed -n 1p "$WORK/bg.$n.want")" "$(sed -n 2p "$WORK/bg.$n.want")" "$(sed -n 3p "$WORK/bg.$n.want")"
    done <"$WORK/batch.$1"
    rm -f "$WORK/batch.$1"
}
# check DESC WANT_RC PYTHON_PREDICATE CMD... : a run in the current section's batch.
check() { later now "$@"; }

echo "== every CLI x every mode"
# cli  kind  hang-preamble-lines  args
while read -r cli kind pre args; do
    r="stand-in $cli reply: hi"
    case $kind in
        text) shape="o == '$r\n'" ;;
        json) shape="parses(o) and '$r' in o" ;;
        jsonl) shape="len(lines(o)) >= 2 and '$r' in o" ;;
    esac
    case $cli-$kind in
        claude-text) nli="o == 'Not logged in · Please run /login\n'" ;;
        claude-json) nli="doc(o)['is_error'] is True and doc(o)['result'] == 'Not logged in · Please run /login'" ;;
        claude-jsonl) nli="[x['type'] for x in lines(o)] == ['system', 'assistant', 'result'] and lines(o)[2]['is_error']" ;;
        codex-text) nli="'unexpected status 401 Unauthorized' in e and o == ''" ;;
        codex-jsonl) nli="[x['type'] for x in lines(o)] == ['thread.started', 'turn.started', 'error', 'turn.failed']" ;;
        gemini-json) nli="o == '' and doc(e)['error']['code'] == 41" ;;
        gemini-*) nli="o == '' and e.startswith('Please set an Auth method in your ')" ;;
        grok-*) nli="e.startswith('❌ Error: API key required.')" ;;
        vibe-*) nli="e.endswith('Error: Missing MISTRAL_API_KEY environment variable for mistral provider\n')" ;;
    esac
    nli_rc=1
    [ "$cli" = gemini ] && nli_rc=41
    l="$cli $kind"
    # shellcheck disable=SC2086  # $args is a word list on purpose
    {
    check "$l ok" 0 "$shape" env STANDIN_MODE=ok $cli $args
    check "$l slow" 0 "$shape" env STANDIN_MODE=slow STANDIN_SLOW_MS=20 $cli $args
    check "$l not_logged_in" $nli_rc "$nli" env STANDIN_MODE=not_logged_in $cli $args
    check "$l garbage" 0 "'not json' in o and not parses(o)" env STANDIN_MODE=garbage $cli $args
    check "$l flood" 0 "len(o) == 300000 and len(e) == 30000" env STANDIN_MODE=flood STANDIN_FLOOD_BYTES=300000 $cli $args
    check "$l fail" 3 "o == '' and e == 'stand-in $cli: simulated crash\n'" env STANDIN_MODE=fail $cli $args
    later hang "$l hang" 124 "len(lines(o)) == $pre" timeout -k 2 4 env STANDIN_MODE=hang $cli $args
    if [ "$cli" != codex ]; then
        later hang "$l offline (= hang)" 124 "len(lines(o)) == $pre" timeout -k 2 4 env STANDIN_MODE=offline $cli $args
    fi
    check "$l per-CLI mode beats STANDIN_MODE" 0 "$shape" env STANDIN_MODE=fail "STANDIN_$(echo "$cli" | tr a-z A-Z)_MODE=ok" $cli $args
    }
    settle now
done <<EOF
claude text 0 -p hi
claude json 0 -p hi --output-format json
claude jsonl 1 -p hi --output-format stream-json --verbose
codex text 0 exec --skip-git-repo-check hi
codex jsonl 2 exec --json --skip-git-repo-check hi
gemini text 0 -p hi --skip-trust
gemini json 0 -p hi -o json --skip-trust
gemini jsonl 2 -p hi -o stream-json --skip-trust
grok jsonl 0 -p hi
vibe text 0 -p hi --agent auto-approve
vibe json 0 -p hi --output json --agent auto-approve
vibe jsonl 1 -p hi --output streaming --agent auto-approve
EOF

settle hang

echo "== codex offline"
later hang "codex --json offline: Reconnecting n/5, fallback item, waiting for network" 124 \
    "[x.get('message', '')[:17] for x in lines(o)[2:6]] == ['Reconnecting... %d' % n for n in (2, 3, 4, 5)] \
     and lines(o)[6]['item']['type'] == 'error' and 'waiting for network' in lines(o)[7]['message'] \
     and e.count('failed to connect to Responses WebSocket') == 5" \
    timeout -k 2 4 env STANDIN_MODE=offline codex exec --json --skip-git-repo-check hi
later hang "codex text offline: ERROR lines on stderr" 124 \
    "o == '' and 'ERROR: Reconnecting... 5/5' in e and 'ERROR: Reconnecting... waiting for network' in e" \
    timeout -k 2 4 env STANDIN_MODE=offline codex exec --skip-git-repo-check hi
later hang "vibe --time-limit ends a hang with exit 3" 3 "len(doc(o)) == 1 and doc(o)[0]['role'] == 'user' and e == 'Stopped: deadline\n'" \
    env STANDIN_MODE=hang vibe -p hi --output json --time-limit 1

echo "== versions, auth, env controls"
check "claude --version" 0 "o == '2.1.330 (Claude Code)\n'" claude --version
check "codex --version" 0 "o == 'codex-cli 0.169.0\n'" codex --version
check "gemini --version" 0 "o == '0.61.0\n'" gemini --version
check "grok --version" 0 "o == '1.0.1\n'" grok --version
check "vibe --version" 0 "o == 'vibe 3.0.2\n'" vibe --version
check "vibe -v" 0 "o == 'vibe 3.0.2\n'" vibe -v
later hang "STANDIN_VERSION_DELAY_MS delays --version" 124 "o == ''" \
    timeout -k 2 4 env STANDIN_VERSION_DELAY_MS=60000 gemini --version
later hang "STANDIN_DELAY_MS delays the answer" 124 "o == ''" timeout -k 2 4 env STANDIN_DELAY_MS=60000 grok -p hi
check "STANDIN_CHILD=1 (its sleeper is reaped on a normal exit)" 0 "o == 'stand-in claude reply: hi\n'" \
    env STANDIN_CHILD=1 claude -p hi
later hang "STANDIN_CHILD=1 hang (timeout kills the group, sleeper included)" 124 "o == ''" \
    timeout -k 2 4 env STANDIN_CHILD=1 STANDIN_MODE=hang claude -p hi
check "STANDIN_REPLY" 0 "o == 'custom answer\n'" env STANDIN_REPLY="custom answer" claude -p hi
check "reply quotes the first 60 chars of the prompt" 0 "o == 'stand-in vibe reply: ' + 'x' * 60 + '\n'" \
    vibe -p xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
check "claude auth status (ok)" 0 "doc(o)['loggedIn'] is True and doc(o)['authMethod'] == 'claude.ai'" \
    claude auth status
check "claude auth status (not_logged_in)" 1 "doc(o)['loggedIn'] is False and doc(o)['authMethod'] == 'none'" \
    env STANDIN_MODE=not_logged_in claude auth status
check "claude update" 0 "'up to date' in o" claude update
check "codex login status (ok)" 0 "'Logged in using ChatGPT' in e" codex login status
check "codex login status (not_logged_in)" 1 "e == 'Not logged in\n'" env STANDIN_CLAUDE_MODE=ok STANDIN_MODE=not_logged_in codex login status
check "unknown STANDIN_MODE is refused" 2 "'unknown mode' in e" env STANDIN_MODE=bogus grok -p hi
settle now
cat >"$WORK/slow.py" <<'PY'
import json, os, subprocess, sys, time
env = dict(os.environ, STANDIN_MODE="slow", STANDIN_SLOW_MS="300")
p = subprocess.Popen(["claude", "-p", "hi", "--output-format", "json"], stdin=subprocess.DEVNULL,
                     stdout=subprocess.PIPE, env=env)
chunks = []
while (c := p.stdout.read1(1 << 16)):
    chunks.append((time.monotonic(), c))
p.wait()
spread = chunks[-1][0] - chunks[0][0]  # 4 pauses of 300 ms between the 5 pieces
json.loads(b"".join(c for _, c in chunks))
sys.exit(0 if p.returncode == 0 and len(chunks) >= 2 and spread >= 1.1 else 1)
PY
RUNS=$((RUNS + 1))
if "$PY" "$WORK/slow.py"; then pass; else fail "slow: a valid document in pieces 300 ms apart"; fi

settle now

echo "== claude argv checks"
check "claude --permission-mode bogus" 1 "e == \"error: option '--permission-mode <mode>' argument 'bogus' is invalid. Allowed choices are acceptEdits, auto, bypassPermissions, manual, dontAsk, plan.\n\"" \
    claude -p hi --permission-mode bogus
check "claude --permission-mode plan" 0 "o.startswith('stand-in')" claude -p hi --permission-mode plan
check "claude stream-json needs --verbose" 1 "e == 'Error: When using --print, --output-format=stream-json requires --verbose\n'" \
    claude -p hi --output-format stream-json
check "claude --resume unknown id" 1 "e == 'No conversation found with session ID: $U\n'" \
    claude -p hi --output-format json --resume $U
check "claude --resume keeps the id" 0 "doc(o)['session_id'] == '$ID' and doc(o)['is_error'] is False" \
    claude -p hi --output-format json --resume $ID
check "claude --session-id keeps the id" 0 "lines(o)[0]['session_id'] == lines(o)[2]['session_id'] == '$ID'" \
    claude -p hi --output-format stream-json --verbose --session-id $ID
check "claude json usage and cost" 0 "(lambda d: d['usage']['input_tokens'] == 12 and d['usage']['output_tokens'] == 34 and d['usage']['cache_read_input_tokens'] == 5 and d['usage']['cache_creation_input_tokens'] == 6 and d['total_cost_usd'] == 0.0123 and d['num_turns'] == 1 and list(d['modelUsage']) == ['opus'])(doc(o))" \
    claude -p hi --output-format json --model opus --allowedTools "Read Bash(git:*)" --max-turns 3
check "claude bypass as root with IS_SANDBOX" 0 "lines(o)[0]['permissionMode'] == 'bypassPermissions'" \
    env IS_SANDBOX=1 claude -p hi --output-format stream-json --verbose --dangerously-skip-permissions
if [ "$(id -u)" -eq 0 ]; then
    check "claude bypass refused as root" 1 "e == '--dangerously-skip-permissions cannot be used with root/sudo privileges for security reasons\n'" \
        claude -p hi --permission-mode bypassPermissions
else
    SKIP=$((SKIP + 1))
fi

settle now

echo "== codex argv checks"
check "codex outside a git repo" 1 "e == 'Not inside a trusted directory and --skip-git-repo-check was not specified.\n'" \
    codex exec --json hi
mkdir -p "$WORK/repo/.git" "$WORK/repo/sub"
check "codex inside a git repo (-C)" 0 "lines(o)[2]['item']['text'] == 'stand-in codex reply: hi'" \
    codex -a never exec --json -C "$WORK/repo/sub" -m gpt-5 -c 'model_reasoning_effort="low"' hi
check "codex resume unknown id" 1 "e == 'Error: thread/resume: thread/resume failed: no rollout found for thread id $U (code -32600)\n'" \
    codex exec resume --json --skip-git-repo-check $U hi
check "codex resume keeps the thread id" 0 "lines(o)[0]['thread_id'] == '$ID'" \
    codex exec resume --json --skip-git-repo-check $ID hi
check "codex resume --last" 0 "lines(o)[2]['item']['text'] == 'stand-in codex reply: hi'" \
    codex exec resume --json --skip-git-repo-check --last hi
check "codex fork makes a new thread" 0 "lines(o)[0]['thread_id'] != '$ID'" \
    codex exec fork --json --skip-git-repo-check $ID hi
check "codex usage and -o last message" 0 "lines(o)[-1]['usage'] == {'input_tokens': 120, 'cached_input_tokens': 20, 'output_tokens': 45} and open('$WORK/last.txt').read() == 'stand-in codex reply: hi'" \
    codex exec --json --skip-git-repo-check -o "$WORK/last.txt" hi

settle now

echo "== gemini argv checks"
check "gemini untrusted folder" 55 "o == '' and e.startswith('\x1b[31mGemini CLI is not running in a trusted directory.') and e.endswith('\x1b[0m\n')" \
    gemini -p hi -o json
check "gemini GEMINI_CLI_TRUST_WORKSPACE=true" 0 "doc(o)['response'] == 'stand-in gemini reply: hi'" \
    env GEMINI_CLI_TRUST_WORKSPACE=true gemini -p hi -o json
check "gemini --session-id not a UUID" 42 "e == 'Error: Invalid session ID format\n'" \
    gemini -p hi -o json --skip-trust --session-id not-a-uuid
check "gemini --resume unknown id" 42 "e == 'Error resuming session: No previous sessions found for this project.\n'" \
    gemini -p hi -o json --skip-trust --resume $U
check "gemini json: session id, model, tokens" 0 "(lambda d: d['session_id'] == '$ID' and d['stats']['models']['gemini-2.5-flash']['tokens']['prompt'] == 100)(doc(o))" \
    gemini -p hi -o json --skip-trust --session-id $ID -m gemini-2.5-flash --approval-mode yolo
check "gemini stream-json events" 0 "[x['type'] for x in lines(o)] == ['init', 'message', 'message', 'result'] and lines(o)[3]['stats']['input_tokens'] == 100" \
    gemini -p hi -o stream-json --skip-trust
check "gemini not_logged_in keeps --session-id" 41 "doc(e)['session_id'] == 'not-a-uuid'" \
    env STANDIN_MODE=not_logged_in gemini -p hi -o json --session-id not-a-uuid

settle now

echo "== vibe argv checks"
check "vibe unknown agent" 2 "e == 'Reading API keys from the system keyring (set them as environment variables to skip this)\nError: Agent \'bogus\' not found.\n'" \
    vibe -p hi --output json --agent bogus
check "vibe --resume unknown id" 1 "e == 'Error: Session not found: $U\n'" vibe -p hi --output json --resume $U
check "vibe --resume keeps the id; VIBE_ACTIVE_MODEL is the model" 0 "[m['sessionId'] for m in doc(o)] == ['$ID'] * 2 and doc(o)[1]['model'] == 'devstral-2' and doc(o)[1]['role'] == 'assistant'" \
    env VIBE_ACTIVE_MODEL=devstral-2 vibe -p hi --output json --resume $ID --enabled-tools read_file --enabled-tools grep
check "vibe without -p needs a terminal" 1 "e == 'Error: Interactive mode needs a terminal. Use -p/--prompt to run without one.\n'" vibe

settle now
settle hang

echo "== broken pipe, stdin, STANDIN_LOG, leftovers"
RUNS=$((RUNS + 1))
(env STANDIN_MODE=flood STANDIN_FLOOD_BYTES=20000000 grok -p hi 2>"$WORK/err" </dev/null; echo $? >"$WORK/rc") | head -c 100 >/dev/null
if [ "$(cat "$WORK/rc")" = 1 ] && [ ! -s "$WORK/err" ]; then pass; else fail "flood into a closed pipe: exit $(cat "$WORK/rc"), want 1, quietly"; fi
RUNS=$((RUNS + 1))
sleep 1 | claude -p "stdin open" >/dev/null 2>&1
if tail -n 1 "$STANDIN_LOG" | grep -q '"stdin_is_closed": false'; then pass; else fail "stdin_is_closed false for an open pipe"; fi
cp "$STANDIN_LOG" "$WORK/out"
: >"$WORK/err"
if pyx "len(lines(o)) == $RUNS and all(set(x) - {'child_pid'} == {'cli', 'argv', 'cwd', 'pid', 'pgid', 'env', 'stdin_is_closed'} for x in lines(o)) and sum('child_pid' in x for x in lines(o)) == 2 and sum(not x['stdin_is_closed'] for x in lines(o)) == 1 and any(x['env'].get('VIBE_ACTIVE_MODEL') == 'devstral-2' for x in lines(o))"; then
    pass
else
    fail "STANDIN_LOG: one well-formed line per run ($RUNS runs, $(wc -l <"$STANDIN_LOG") lines)"
fi
sleep 0.2
# STANDIN_CHILD sleepers are reparented when their stand-in dies, so a killed one may linger
# as a zombie until the reaper gets to it: a zombie is not running.
alive=$(python3 -c 'import json, sys
def alive(pid):
    try: return open(f"/proc/{pid}/stat").read().rpartition(")")[2].split()[0] not in "ZX"
    except OSError: return False
recs = list(map(json.loads, open(sys.argv[1])))
print(" ".join(str(p) for x in recs for p in (x["pid"], x.get("child_pid")) if p and alive(p)))' "$STANDIN_LOG")
if [ -z "$alive" ]; then pass; else fail "stand-ins still running: $alive"; fi

echo "selftest: $PASS passed, $FAIL failed, $SKIP skipped ($RUNS stand-in runs)"
[ "$FAIL" -eq 0 ]
