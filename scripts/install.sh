#!/bin/sh
# llm-cli-gateway installer: downloads the binary for this machine, verifies it against the
# release's SHA256SUMS, installs it to ~/.local/bin and runs `llm-cli-gateway setup --yes`.
#
#   curl -fsSL https://github.com/llm-cli-gateway/llm-cli-gateway/releases/latest/download/install.sh | sh
#   sh install.sh [--version V] [--no-setup] [--] [setup options...]
#
# Environment:
#   LLM_CLI_GATEWAY_DOWNLOAD_URL  release directory to download from
#                                 [default: the project's latest release, or tag vV with --version]
#   LLM_CLI_GATEWAY_INSTALL_DIR   where the binary goes [default: ~/.local/bin]
#   HTTPS_PROXY / https_proxy     honoured by curl and wget
#
# Everything is inside main(), called on the last line: a download cut short defines an
# incomplete function and runs nothing.

main() {
    set -eu
    version=""
    run_setup=1
    while [ $# -gt 0 ]; do
        case "$1" in
            --version) [ $# -ge 2 ] || die "--version needs a value, e.g. --version 1.2.3"; version="$2"; shift 2 ;;
            --version=*) version="${1#--version=}"; shift ;;
            --no-setup) run_setup=0; shift ;;
            -h|--help) usage; return 0 ;;
            --) shift; break ;;
            *) die "unknown option $1 (see --help)" ;;
        esac
    done
    case "$version" in
        "" | [0-9]*.[0-9]*.[0-9]*) ;;
        *) die "--version $version is not a version like 1.2.3" ;;
    esac

    target="$(detect_target)"
    base="${LLM_CLI_GATEWAY_DOWNLOAD_URL:-}"
    if [ -z "$base" ]; then
        if [ -n "$version" ]; then
            base="https://github.com/llm-cli-gateway/llm-cli-gateway/releases/download/v$version"
        else
            base="https://github.com/llm-cli-gateway/llm-cli-gateway/releases/latest/download"
        fi
    fi
    base="${base%/}"
    dir="${LLM_CLI_GATEWAY_INSTALL_DIR:-$HOME/.local/bin}"
    if [ -n "${HTTPS_PROXY:-}" ] && [ -z "${https_proxy:-}" ]; then
        https_proxy="$HTTPS_PROXY"
        export https_proxy
    fi

    hasher="$(find_hasher)" || die "neither sha256sum nor shasum is installed; refusing to install an unverified binary
  install coreutils (sha256sum) or perl's shasum and run this again"

    tmp="$(mktemp -d "${TMPDIR:-/tmp}/llm-cli-gateway-install.XXXXXX")"
    trap 'rm -rf "$tmp"' EXIT INT TERM

    say "downloading SHA256SUMS from $base"
    fetch "$base/SHA256SUMS" "$tmp/SHA256SUMS" || die "could not download $base/SHA256SUMS"
    # Lines look like "<64 hex>  llm-cli-gateway-<version>-<target>".
    if [ -n "$version" ]; then
        name="llm-cli-gateway-$version-$target"
        line="$(grep "  $name\$" "$tmp/SHA256SUMS" || true)"
    else
        line="$(grep -E "  llm-cli-gateway-[0-9][^ ]*-$target\$" "$tmp/SHA256SUMS" | head -n 1 || true)"
        name="${line##* }"
    fi
    [ -n "$line" ] || die "the release at $base has no binary for $target${version:+ at version $version}"
    expected="${line%% *}"
    case "$expected" in
        *[!0-9a-fA-F]*|"") die "SHA256SUMS has a malformed line for $name" ;;
    esac
    [ "${#expected}" -eq 64 ] || die "SHA256SUMS has a malformed hash for $name"

    say "downloading $name"
    fetch "$base/$name" "$tmp/$name" || die "could not download $base/$name"
    actual="$($hasher "$tmp/$name" | cut -d' ' -f1)"
    if [ "$(lower "$actual")" != "$(lower "$expected")" ]; then
        die "checksum mismatch for $name: expected $expected, got $actual; nothing was installed"
    fi
    say "verified sha256 $actual"

    mkdir -p "$dir"
    chmod 755 "$tmp/$name"
    # Same file system as the destination, then rename: never a half-written binary.
    cp "$tmp/$name" "$dir/.llm-cli-gateway.new.$$"
    mv -f "$dir/.llm-cli-gateway.new.$$" "$dir/llm-cli-gateway"
    say "installed $dir/llm-cli-gateway"

    case ":${PATH:-}:" in
        *":$dir:"*) ;;
        *) say "$dir is not on your PATH; add it with:
    echo 'export PATH=\"$dir:\$PATH\"' >> ~/.profile && . ~/.profile" ;;
    esac

    if [ "$run_setup" = 1 ]; then
        say "running: llm-cli-gateway setup --yes $*"
        "$dir/llm-cli-gateway" setup --yes "$@"
    else
        say "next: llm-cli-gateway setup"
    fi
}

usage() {
    sed -n '2,14p' "$0" 2>/dev/null | sed 's/^# \{0,1\}//' || true
}

say() {
    printf 'llm-cli-gateway installer: %s\n' "$1" >&2
}

die() {
    printf 'llm-cli-gateway installer: error: %s\n' "$1" >&2
    exit 1
}

lower() {
    printf '%s' "$1" | tr 'A-F' 'a-f'
}

detect_target() {
    if [ -n "${LLM_CLI_GATEWAY_TARGET:-}" ]; then
        printf '%s' "$LLM_CLI_GATEWAY_TARGET"
        return
    fi
    os="$(uname -s)"
    arch="$(uname -m)"
    case "$arch" in
        x86_64|amd64) arch=x86_64 ;;
        aarch64|arm64) arch=aarch64 ;;
        *) die "unsupported CPU $arch; build from source: cargo install --git https://github.com/llm-cli-gateway/llm-cli-gateway" ;;
    esac
    case "$os" in
        Linux) printf '%s-unknown-linux-gnu' "$arch" ;;
        Darwin) printf '%s-apple-darwin' "$arch" ;;
        *) die "unsupported system $os; on Windows download the .exe from the releases page" ;;
    esac
}

find_hasher() {
    if command -v sha256sum >/dev/null 2>&1; then
        echo "sha256sum"
    elif command -v shasum >/dev/null 2>&1; then
        echo "shasum -a 256"
    else
        return 1
    fi
}

fetch() {
    if command -v curl >/dev/null 2>&1; then
        curl --proto '=https,http' -fsSL --retry 2 -o "$2" "$1"
    elif command -v wget >/dev/null 2>&1; then
        wget -q -O "$2" "$1"
    else
        die "neither curl nor wget is installed"
    fi
}

main "$@"
