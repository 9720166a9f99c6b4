#!/usr/bin/env bash
# Installs the reference peers (WebTorrent, bittorrent-tracker) into the
# git-ignored .reference/ folder. They are test and benchmark opponents only,
# never dependencies of SwarmDrop. --ignore-scripts because their dependency
# node-datachannel cannot build everywhere and ip-set 3's preinstall refuses npm;
# the browser bundle and the tracker server work without those scripts.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .reference
cat > .reference/package.json <<'JSON'
{
  "name": "swarmdrop-reference-peers",
  "private": true,
  "dependencies": {
    "bittorrent-tracker": "11.2.3",
    "webtorrent": "3.0.21"
  }
}
JSON
installed() { node -p "require('./.reference/node_modules/$1/package.json').version" 2>/dev/null || true; }
if [ "$(installed webtorrent)" = 3.0.21 ] && [ "$(installed bittorrent-tracker)" = 11.2.3 ]; then
  echo "reference peers already installed in .reference/ (webtorrent 3.0.21, bittorrent-tracker 11.2.3)"
  exit 0
fi
npm install --prefix .reference --ignore-scripts --no-audit --no-fund --loglevel=error
