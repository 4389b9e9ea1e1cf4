#!/usr/bin/env bash
# A big show on this Debian server, in one command: Janus and simple-whip-server installed
# (setup.sh) and configured from the show's settings (python -m console.sfu), and the
# headless hub beside them, its viewers watching through Janus.
#
#   sudo tools/sfu/show.sh --ice-hosts ADDR [--public-address ADDR] [--data-dir DIR]
#       [--bind ADDR] [--port N] [--trusted-proxy ADDR] [--install [--nginx]]
#
# Without --install both run here, in the foreground, until Ctrl+C (or either stops).
# With --install they become the systemd units shopcast-sfu and shopcast-hub (written by
# python -m console.sfu service), enabled and started: they start at boot and again after
# a crash. The data folder is /var/lib/shopcast unless --data-dir says otherwise.
# --nginx puts Debian's nginx in front (/etc/nginx/sites-available/shopcast, port 80):
# the hub's page and /ws, and of simple-whip-server only the paths a console publishes
# by; the hub then listens on 127.0.0.1 and trusts nginx alone.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
project="$(cd "$here/../.." && pwd)"
python="${PYTHON:-$project/.venv/bin/python}"
[[ -x "$python" ]] || python="$(command -v python3)"

ice="" public="" data="/var/lib/shopcast" bind="" port="" install=0 nginx=0
proxies=()
usage() { sed -n '6,7p' "$0" | sed 's/^# *//' >&2; exit 2; }
while (($#)); do
    case "$1" in
        --ice-hosts) ice="${2:?}"; shift 2 ;;
        --public-address) public="${2:?}"; shift 2 ;;
        --data-dir) data="${2:?}"; shift 2 ;;
        --bind) bind="${2:?}"; shift 2 ;;
        --port) port="${2:?}"; shift 2 ;;
        --trusted-proxy) proxies+=("${2:?}"); shift 2 ;;
        --install) install=1; shift ;;
        --nginx) nginx=1; shift ;;
        *) echo "show: unknown argument $1" >&2; usage ;;
    esac
done
[[ -n "$ice" ]] || { echo "show: give --ice-hosts, the address viewers reach this server at" >&2; usage; }

"$here/setup.sh"
cd "$project"

args=(--ice-hosts "$ice" --data-dir "$data")
[[ -n "$bind" ]] && args+=(--bind "$bind")
[[ -n "$public" ]] && args+=(--public-address "$public")
[[ -n "$port" ]] && args+=(--port "$port")
for proxy in "${proxies[@]}"; do args+=(--trusted-proxy "$proxy"); done

if ((install)); then
    site=/etc/nginx/sites-available/shopcast
    if ((nginx)); then
        command -v nginx >/dev/null || apt-get install -y -qq --no-install-recommends nginx
        args+=(--nginx "$site")
    fi
    "$python" -m console.sfu service "${args[@]}"
    systemctl daemon-reload
    systemctl enable --now shopcast-sfu.service shopcast-hub.service
    if ((nginx)); then
        ln -sf "$site" /etc/nginx/sites-enabled/shopcast
        rm -f /etc/nginx/sites-enabled/default
        nginx -t
        systemctl reload-or-restart nginx
        echo "show: nginx serves the show on port 80; publish to http://${public:-$ice}/whip/endpoint/show"
    fi
    echo "show: running; 'journalctl -u shopcast-sfu -u shopcast-hub -f' follows them."
    echo "show: the WHIP token is in $data/sfu/secrets.json; the host token:" \
        "$python -m console token --data-dir $data"
    exit 0
fi

# The units' two commands (shell words), run here; both print their tokens.
mapfile -t commands < <("$python" -m console.sfu service "${args[@]}" --print-commands)
((${#commands[@]} == 2)) || { echo "show: console.sfu service gave no commands" >&2; exit 1; }
mkdir -p "$data" && chmod 700 "$data"
eval "exec ${commands[0]} --print-token" &
sfu_pid=$!
trap 'kill "$sfu_pid" 2>/dev/null; wait "$sfu_pid" 2>/dev/null || true' EXIT
# The hub reads Janus's API secret and the WHIP token, which the SFU makes as it starts.
for _ in $(seq 100); do
    [[ -f "$data/sfu/secrets.json" ]] && break
    kill -0 "$sfu_pid" 2>/dev/null || { wait "$sfu_pid"; exit $?; }
    sleep 0.1
done
eval "exec ${commands[1]} --print-token" &
hub_pid=$!
trap 'kill "$hub_pid" "$sfu_pid" 2>/dev/null; wait 2>/dev/null || true' EXIT
trap 'exit 0' INT TERM
wait -n "$sfu_pid" "$hub_pid"
