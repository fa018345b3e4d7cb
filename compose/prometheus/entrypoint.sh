#!/bin/sh
# Renders prometheus.yml from its template and the environment (only the variables it names, so the
# config's own syntax stays as written), checks it with its rule and target files, then runs the command.
set -eu
: "${PROMETHEUS_SCRAPE_INTERVAL:?PROMETHEUS_SCRAPE_INTERVAL must be set (e.g. 15s)}"
: "${PROMETHEUS_SCRAPE_TIMEOUT:?PROMETHEUS_SCRAPE_TIMEOUT must be set (below the scrape interval)}"
: "${PROMETHEUS_EVALUATION_INTERVAL:?PROMETHEUS_EVALUATION_INTERVAL must be set (e.g. 15s)}"
: "${PROMETHEUS_BLACKBOX_EXPORTER:?PROMETHEUS_BLACKBOX_EXPORTER must be set (host:port of the blackbox exporter)}"
vars='${PROMETHEUS_SCRAPE_INTERVAL} ${PROMETHEUS_SCRAPE_TIMEOUT} ${PROMETHEUS_EVALUATION_INTERVAL} ${PROMETHEUS_BLACKBOX_EXPORTER}'
envsubst "$vars" </etc/refereezy/prometheus/prometheus.yml.template >/etc/prometheus/prometheus.yml
promtool check config /etc/prometheus/prometheus.yml >/dev/null
exec "$@"
