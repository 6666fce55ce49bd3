#!/bin/sh
# ringkv container entrypoint: fills in the two settings that depend on where the container runs,
# then replaces itself with the node (`exec`, so the node is PID 1 and gets docker stop's SIGTERM).
#   RINGKV_ID                 default: the container's hostname (so `docker compose up --scale`
#                             of a service with no id gives every replica its own id)
#   RINGKV_ADVERTISE_ADDRESS  default: "$(hostname):${RINGKV_PORT:-7001}", which peers on the same
#                             Docker network can resolve (the node listens on 0.0.0.0)
#   RINGKV_CLI                the built CLI, default /app/dist/src/cli/main.js (tests run this
#                             script outside a container by pointing it elsewhere)
# Arguments are passed on to `ringkv start` as flags.
set -eu

container_hostname() {
  hostname 2>/dev/null || cat /proc/sys/kernel/hostname
}

if [ -z "${RINGKV_ID:-}" ]; then
  RINGKV_ID=$(container_hostname)
  export RINGKV_ID
fi
if [ -z "${RINGKV_ADVERTISE_ADDRESS:-}" ]; then
  RINGKV_ADVERTISE_ADDRESS="$(container_hostname):${RINGKV_PORT:-7001}"
  export RINGKV_ADVERTISE_ADDRESS
fi

exec node "${RINGKV_CLI:-/app/dist/src/cli/main.js}" start "$@"
