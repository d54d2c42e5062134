#!/usr/bin/env bash
# Run a command in a private network namespace with a veth pair (issue 15): WebRTC between
# headless Chromium tabs gathers no ICE candidates on loopback alone, so the hub (on 127.0.0.1)
# and the volunteers run inside a namespace whose only other interfaces are v0 (10.99.0.1/30) and
# v1 (10.99.0.2/30), with a default route through v0; nothing outside the namespace is reachable.
# Needs root (or CAP_SYS_ADMIN + CAP_NET_ADMIN) and iproute2. Exits 97 when the namespace cannot be
# made, so that a caller can tell that apart from the command's own failure.
#
#   scripts/netns.sh npm run demo -- --job matmul --n 2048 --volunteers 4
set -euo pipefail
if [ $# -eq 0 ]; then echo "usage: scripts/netns.sh COMMAND [ARGS...]" >&2; exit 2; fi
command -v unshare >/dev/null && command -v ip >/dev/null || { echo "netns: unshare and ip (iproute2) are needed" >&2; exit 97; }
unshare -n -- true 2>/dev/null || { echo "netns: unshare -n failed (needs root or CAP_SYS_ADMIN)" >&2; exit 97; }
exec unshare -n -- bash -c '
  set -e
  {
    ip link set lo up &&
    ip link add v0 type veth peer name v1 &&
    ip addr add 10.99.0.1/30 dev v0 &&
    ip addr add 10.99.0.2/30 dev v1 &&
    ip link set v0 up && ip link set v1 up &&
    ip route add default via 10.99.0.2 dev v0
  } || { echo "netns: could not set up the veth pair" >&2; exit 97; }
  exec "$@"
' netns "$@"
