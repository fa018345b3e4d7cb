#!/bin/bash
# Renders HAProxy's configuration from DB_PROXY_NODES (space-separated node host names; each runs
# PostgreSQL on 5432 and Patroni's REST API on 8008), checks it and runs HAProxy.
set -euo pipefail
: "${DB_PROXY_NODES:?DB_PROXY_NODES must list the database nodes (host names, space-separated)}"
servers=""
for node in $DB_PROXY_NODES; do
  servers+="  server $node $node:5432 check port 8008"$'\n'
done
export DB_PROXY_SERVERS=$servers
envsubst '${DB_PROXY_SERVERS}' </etc/refereezy/db-proxy/haproxy.cfg.template >/tmp/haproxy.cfg
haproxy -c -f /tmp/haproxy.cfg >/dev/null || { haproxy -c -f /tmp/haproxy.cfg; exit 1; }
exec haproxy -W -db -f /tmp/haproxy.cfg
