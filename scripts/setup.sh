#!/usr/bin/env bash
# Installs everything Spare Cycles needs on a fresh Debian machine with Node 20 + npm + apt:
# Debian's chromium (headless volunteers, tests), primesieve and primecount (speed reference and
# independent prime counts), postgresql (the several-hubs store and its tests, scripts/pg-cluster.sh),
# iproute2 (scripts/netns.sh), then the npm packages (which bring Node 24 as a devDependency).
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v primesieve >/dev/null 2>&1 || need+=(primesieve)
command -v primecount >/dev/null 2>&1 || need+=(primecount)
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || need+=(postgresql)
# iproute2: `ip`, for the network namespace of the browser-to-browser test (scripts/netns.sh)
command -v ip >/dev/null 2>&1 || need+=(iproute2)
# libvulkan1: the Vulkan loader the `webgpu` package (Dawn, on Chromium's SwiftShader ICD) needs in Node
[ -e /usr/lib/x86_64-linux-gnu/libvulkan.so.1 ] || ldconfig -p 2>/dev/null | grep -q libvulkan.so.1 || need+=(libvulkan1)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi
# An npm running on Node < 22 skips optional packages that declare Node >= 22 — among them the
# native binary of Hardhat's EDR (@nomicfoundation/edr-<platform>, the local EVM of token payouts).
# The install above brought Node 24 (the `node` devDependency): install once more with it.
if [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 22 ] && [ -x node_modules/node/bin/node ]; then
  tmp_node=$(mktemp -d)
  cp node_modules/node/bin/node "$tmp_node/node"
  "$tmp_node/node" "$(readlink -f "$(command -v npm)")" ci --no-audit --no-fund
  rm -rf "$tmp_node"
fi
