#!/bin/sh
# The exporter takes its connection as a URL; built here so the password never sits in a file.
set -eu
: "${MONITOR_DB_PASSWORD:?MONITOR_DB_PASSWORD must be set (the password of the DB role monitor)}"
# Every byte percent-encoded: valid in a URL whatever the password holds.
password=$(printf '%s' "$MONITOR_DB_PASSWORD" | od -An -tx1 -v | tr -s ' \n' '\n' | sed '/^$/d;s/^/%/' | tr -d '\n')
export DATA_SOURCE_NAME="postgresql://${MONITOR_DB_USER}:${password}@${DB_HOST}:${DB_PORT}/${DB_NAME}?sslmode=disable"
exec prometheus-postgres-exporter --web.listen-address=:9187 "$@"
