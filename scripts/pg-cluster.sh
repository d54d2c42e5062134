#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for Spare Cycles hubs and tests: unix socket only (no TCP), in DIR.
#   scripts/pg-cluster.sh start DIR [DATABASE]   initdb DIR (when new), start the server, create
#                                                DATABASE (default sparecycles), print its store URL
#   scripts/pg-cluster.sh stop DIR               stop the server (DIR is kept; rm -rf it to forget)
# The server refuses to run as root: run as root, the cluster belongs to the `postgres` user (DIR
# is chowned to it); run as anyone else, to that user. Trust authentication, socket in DIR only.
# The printed URL is postgres://postgres@/DATABASE?host=DIR (hub --store takes it as is).
# deadlock_timeout is 100 ms (default 1 s): two hubs locking rows in opposite orders is detected
# sooner, and the hub runs the losing transaction again (src/hub/pg-repository.ts).
set -euo pipefail
cmd=${1:-}; dir=${2:-}
if [ -z "$cmd" ] || [ -z "$dir" ]; then echo "usage: $0 start|stop DIR [DATABASE]" >&2; exit 2; fi
bin=$(compgen -G '/usr/lib/postgresql/*/bin/initdb' | sort -V | tail -n 1 | xargs -r dirname || true)
if [ -z "$bin" ]; then echo "$0: PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb; scripts/setup.sh installs it)" >&2; exit 1; fi
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
if [ "$(id -u)" -eq 0 ]; then
  as() { runuser -u postgres -- "$@"; }
  chown postgres: "$dir"
else
  as() { "$@"; }
fi
case "$cmd" in
  start)
    db=${3:-sparecycles}
    case "$db" in *[!A-Za-z0-9_]*|'') echo "$0: database name must be letters, digits and _: $db" >&2; exit 2 ;; esac
    if [ ! -f "$dir/PG_VERSION" ]; then
      as "$bin/initdb" -D "$dir" -A trust -U postgres -E UTF8 --locale=C >"$dir/../$(basename "$dir").initdb.log" 2>&1 \
        || { echo "$0: initdb failed, see $dir/../$(basename "$dir").initdb.log" >&2; exit 1; }
    fi
    if ! as "$bin/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
      as "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -o "-k $dir -c listen_addresses='' -c unix_socket_permissions=0700 -c max_connections=50 -c deadlock_timeout=100ms" -w start >/dev/null
    fi
    if ! as "$bin/psql" -h "$dir" -U postgres -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1; then
      as "$bin/createdb" -h "$dir" -U postgres "$db"
    fi
    echo "postgres://postgres@/$db?host=$dir"
    ;;
  stop)
    if [ -f "$dir/postmaster.pid" ]; then as "$bin/pg_ctl" -D "$dir" -m fast -w stop >/dev/null; fi
    ;;
  *) echo "usage: $0 start|stop DIR [DATABASE]" >&2; exit 2 ;;
esac
