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
    "webtorrent": "2.8.5"
  }
}
JSON
if [ -f .reference/node_modules/webtorrent/package.json ] && [ -f .reference/node_modules/bittorrent-tracker/package.json ]; then
  echo "reference peers already installed in .reference/"
  exit 0
fi
npm install --prefix .reference --ignore-scripts --no-audit --no-fund --loglevel=error
