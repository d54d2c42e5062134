#!/usr/bin/env bash
# Fails when the generated protobuf code under src/protocol/pb/ differs from what `npm run gen:proto`
# makes of the .proto files beside it (a hand edit, or a .proto changed without regenerating).
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp src/protocol/pb/*.proto "$tmp/"
npx protons "$tmp"/*.proto >/dev/null
status=0
for proto in src/protocol/pb/*.proto; do
  base=$(basename "$proto" .proto)
  if ! diff -u "src/protocol/pb/$base.ts" "$tmp/$base.ts" >"$tmp/$base.diff"; then
    echo "src/protocol/pb/$base.ts is out of date with $proto: run npm run gen:proto" >&2
    head -40 "$tmp/$base.diff" >&2
    status=1
  fi
done
[ $status -eq 0 ] && echo "generated protobuf code matches src/protocol/pb/*.proto"
exit $status
