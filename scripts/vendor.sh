#!/usr/bin/env bash
# Refreshes the vendored front-end files from the npm registry (npm pack,
# no package.json, no install scripts). Check the diff and VENDOR.md after.
set -euo pipefail
cd "$(dirname "$0")/.."
D=crates/web/assets/vendor
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
( cd "$T" && npm pack --silent htmx.org@2.0.11 htmx-ext-sse@2.2.4 us-atlas@3.0.1 >/dev/null \
  && for f in *.tgz; do mkdir -p "${f%.tgz}" && tar xzf "$f" -C "${f%.tgz}"; done )
cp "$T"/htmx.org-2.0.11/package/dist/htmx.min.js "$T"/htmx.org-2.0.11/package/LICENSE $D/htmx/
cp "$T"/htmx-ext-sse-2.2.4/package/dist/sse.min.js "$T"/htmx-ext-sse-2.2.4/package/LICENSE $D/htmx-ext-sse/
cp "$T"/us-atlas-3.0.1/package/states-albers-10m.json "$T"/us-atlas-3.0.1/package/LICENSE $D/us-atlas/
( cd $D && sha256sum */* )
