#!/bin/bash
# The official image's contract: redis-server runs as redis, owns /data, and takes connections from any address
# (protected mode off by default, as that image builds it; a config file, if given, stays the first argument).
set -euo pipefail

if [ "$1" = redis-server ]; then
    shift
    config=()
    if [ "${1:-}" != "${1%.conf}" ]; then
        config=("$1")
        shift
    fi
    chown -R redis:redis .
    exec setpriv --reuid redis --regid redis --init-groups redis-server "${config[@]}" --protected-mode no "$@"
fi
exec "$@"
