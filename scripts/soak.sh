#!/usr/bin/env bash
# Load and fault suite (scripts/soak.py): 200 concurrent 1 s jobs, a flood of 1,100 idle
# connections, kill -9 mid-job, oversized replies, failing log writes / a full disk.
# Prints figures and a PASS/FAIL line per scenario; exits 1 if an invariant fails.
# Everything runs on 127.0.0.1 in a temporary directory that is removed at exit.
#
# Environment (see scripts/soak.py for all of them):
#   BIN         binary to run [default: $CARGO_TARGET_DIR/release/llm-cli-gateway, built if missing]
#   SOAK_SHORT=1    the short form CI runs (50 jobs, 20 timed calls, 2 MB output)
#   SOAK_SCENARIOS="jobs flood kill9 replies disk"   which scenarios
# A tmpfs home is mounted for the full-disk case only when running as root.
set -euo pipefail
cd "$(dirname "$0")/.."

TARGET_DIR="${CARGO_TARGET_DIR:-target}"
BIN="${BIN:-$TARGET_DIR/release/llm-cli-gateway}"
if [ ! -x "$BIN" ]; then
  if [ "$BIN" = "$TARGET_DIR/release/llm-cli-gateway" ]; then
    echo "==> $BIN missing; building it (cargo build --release)" >&2
    cargo build --release --locked
  else
    echo "error: BIN=$BIN is not an executable file" >&2
    exit 1
  fi
fi

if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import mcp' 2>/dev/null; then
  echo "==> creating .venv with the MCP Python SDK"
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check mcp
fi

exec .venv/bin/python scripts/soak.py "$BIN" "$PWD/tests/standins/bin"
