#!/usr/bin/env bash
# Installs the Debian packages GridWatch needs, only those missing (idempotent, quiet when all present).
set -euo pipefail
# fonts-noto-cjk: Chinese glyphs for the browser tests and `make screenshots` (no tofu boxes)
packages=(postgresql-15 postgresql-15-postgis-3 chromium gdal-bin fonts-noto-cjk)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
((${#missing[@]})) || exit 0
echo "Installing Debian packages: ${missing[*]}"
sudo=""
[[ $(id -u) -eq 0 ]] || sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
