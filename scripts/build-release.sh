#!/usr/bin/env bash
# Builds release assets for llm-cli-gateway.
#
#   scripts/build-release.sh [--out DIR] [--version V] [--target T]... [--base-url URL] [--binary PATH]
#
# For each target (default: the host) it builds the binary with cargo and writes into DIR
# (default dist/<version>):
#   llm-cli-gateway-<ver>-<target>                    the bootstrapper binary
#   llm-cli-gateway-bundle-<ver>-<target>.tar.gz      the gateway bundle (bundle.json inside)
#   SHA256SUMS                                        sha256sum format, every artifact
#   release-manifest.json                             validated against release-manifest.schema.json
# Targets whose Rust standard library is not installed are skipped with a note.
# --binary packages an already built binary (host target only) instead of running cargo.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
out="" version="" base_url="" binary=""
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out=$2; shift 2 ;;
    --version) version=$2; shift 2 ;;
    --target) targets+=("$2"); shift 2 ;;
    --base-url) base_url=$2; shift 2 ;;
    --binary) binary=$2; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "error: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

cd "$here"
host=$(rustc -vV | sed -n 's/^host: //p')
[ ${#targets[@]} -gt 0 ] || targets=("$host")
[ -n "$version" ] || version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
[ -n "$out" ] || out="dist/$version"
mkdir -p "$out"
out=$(cd "$out" && pwd)

pack() { # pack <packer-binary> <binary-to-package> <target>
  local args=(pack-release --binary "$2" --out "$out" --release-version "$version" --target "$3")
  [ -z "$base_url" ] || args+=(--base-url "$base_url")
  "$1" "${args[@]}"
}

built=0
for t in "${targets[@]}"; do
  if [ -n "$binary" ]; then
    [ "$t" = "$host" ] || { echo "error: --binary packages the host target only ($host), not $t" >&2; exit 2; }
    pack "$binary" "$binary" "$t"; built=$((built + 1)); continue
  fi
  if [ "$t" != "$host" ] && ! rustup target list --installed 2>/dev/null | grep -qx "$t"; then
    echo "note: skipping $t: its standard library is not installed (rustup target add $t)" >&2
    continue
  fi
  cargo build --release --locked --target "$t"
  exe=target/$t/release/llm-cli-gateway
  [ -f "$exe" ] || exe=$exe.exe
  # The packer runs on the host; for cross targets use the host build to package.
  packer=$exe
  if [ "$t" != "$host" ]; then
    cargo build --release --locked
    packer=target/release/llm-cli-gateway
  fi
  pack "$packer" "$exe" "$t"
  built=$((built + 1))
done
[ "$built" -gt 0 ] || { echo "error: no target could be built" >&2; exit 1; }
(cd "$out" && sha256sum -c --quiet SHA256SUMS)
echo "release $version: $built target(s) in $out"
