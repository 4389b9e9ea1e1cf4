#!/usr/bin/env bash
# Install what a big show's server runs beside the hub: Debian's Janus (the SFU viewers
# receive from) and meetecho's simple-whip-server (the WHIP endpoint the console publishes
# to), for `python -m console.sfu` to configure and start. Run as root; running it again
# changes nothing that is already in place.
#
# simple-whip-server's Debian package cannot be installed where nodejs does not come from
# Debian (its node-* dependencies conflict with it, ../shared/SFU-FACTS.md), so its files
# are unpacked from the package and its few modules installed with npm, at the versions
# Debian ships, into SHOPCAST_WHIP_SERVER (default /opt/shopcast/simple-whip-server).
# Nothing under /etc is edited; the system's own janus service is left as it is.
set -euo pipefail

target="${SHOPCAST_WHIP_SERVER:-/opt/shopcast/simple-whip-server}"
modules=(express@4.18.2 cors@2.8.5 colors@1.4.0 debug@4.3.4 websocket@1.0.34 async@3.2.4
    body-parser@1.20.1)

if ((EUID != 0)); then
    echo "setup: run as root (it installs Debian packages): sudo $0" >&2
    exit 1
fi

packages=(janus)
command -v node >/dev/null || packages+=(nodejs)
command -v npm >/dev/null || packages+=(npm)
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
        || missing+=("$package")
done
if ((${#missing[@]})); then
    echo "setup: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

version="$(apt-cache policy simple-whip-server | awk '/Candidate:/ {print $2}')"
if [[ -z "$version" || "$version" == "(none)" ]]; then
    echo "setup: apt knows no simple-whip-server package (Debian 12 or later has it)" >&2
    exit 1
fi
stamp="$target/.shopcast-setup"
wanted="simple-whip-server $version ${modules[*]}"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$wanted" ]]; then
    echo "setup: simple-whip-server $version is in $target"
    exit 0
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# apt-get download writes as the _apt user when it can: give it the folder.
chown _apt "$work" 2>/dev/null || true
(cd "$work" && apt-get download -qq "simple-whip-server=$version")
dpkg-deb -x "$work"/simple-whip-server_*.deb "$work/root"
mkdir -p "$target"
# src/config.js is a link into /etc in the package: python -m console.sfu writes its own.
rm -rf "$target/src"
cp -r "$work/root/usr/share/simple-whip-server/src" "$target/src"
rm -f "$target/src/config.js"
(cd "$target" && npm install --silent --no-audit --no-fund --no-save --no-package-lock \
    "${modules[@]}")
echo "$wanted" >"$stamp"
echo "setup: simple-whip-server $version installed in $target"
