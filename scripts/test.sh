#!/usr/bin/env bash
# Runs the whole test suite, setting up what it needs first:
#   - a Python venv in .venv with the official MCP SDK (`mcp`), used by tests/mcp_client.rs
#   - cargo-nextest when available (parallel, per-test processes), else cargo test
# Extra arguments go to the test runner, e.g. scripts/test.sh lifecycle
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import mcp' 2>/dev/null; then
  echo "==> creating .venv with the MCP Python SDK"
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check mcp
fi
export LLM_CLI_GATEWAY_TEST_PYTHON="$PWD/.venv/bin/python"

if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --no-fail-fast "$@"
else
  cargo test --no-fail-fast "$@"
fi
