#!/bin/sh
# Renders prometheus.yml from its template and the environment (only the variables it names, so the
# config's own syntax stays as written), and the HA clusters' target files from PROMETHEUS_HA_TARGETS;
# checks the config with its rule and target files, then runs the command.
set -eu
: "${PROMETHEUS_SCRAPE_INTERVAL:?PROMETHEUS_SCRAPE_INTERVAL must be set (e.g. 15s)}"
: "${PROMETHEUS_SCRAPE_TIMEOUT:?PROMETHEUS_SCRAPE_TIMEOUT must be set (below the scrape interval)}"
: "${PROMETHEUS_EVALUATION_INTERVAL:?PROMETHEUS_EVALUATION_INTERVAL must be set (e.g. 15s)}"
: "${PROMETHEUS_BLACKBOX_EXPORTER:?PROMETHEUS_BLACKBOX_EXPORTER must be set (host:port of the blackbox exporter)}"
vars='${PROMETHEUS_SCRAPE_INTERVAL} ${PROMETHEUS_SCRAPE_TIMEOUT} ${PROMETHEUS_EVALUATION_INTERVAL} ${PROMETHEUS_BLACKBOX_EXPORTER}'
envsubst "$vars" </etc/refereezy/prometheus/prometheus.yml.template >/etc/prometheus/prometheus.yml

# The targets of job $1 (patroni or etcd) in PROMETHEUS_HA_TARGETS: space-separated entries
# "<job>/<cluster>=<host:port>[,<host:port>...]", one per cluster that runs (docker-compose.ha.yml sets
# them; `--dr` adds the DR region's). Each cluster is a target group labelled cluster=<cluster>, so
# the alerts count members per cluster. Unset (no HA): "[]", no targets, nothing scraped or paged.
ha_targets() {
  echo "# Job $1: rendered from PROMETHEUS_HA_TARGETS by the entrypoint (production's from the inventory)."
  found=''
  for entry in ${PROMETHEUS_HA_TARGETS:-}; do
    if ! printf '%s\n' "$entry" | grep -Eq '^(patroni|etcd)/[a-z0-9-]+=[A-Za-z0-9.-]+:[0-9]+(,[A-Za-z0-9.-]+:[0-9]+)*$'; then
      echo "PROMETHEUS_HA_TARGETS: \"$entry\" is not <patroni|etcd>/<cluster>=<host:port>[,<host:port>...]" >&2
      return 1
    fi
    job=${entry%%/*} cluster=${entry#*/} list=${entry#*=}
    cluster=${cluster%%=*}
    [ "$job" = "$1" ] || continue
    printf -- "- targets: ['%s']\n  labels: { cluster: %s }\n" "$(printf '%s' "$list" | sed "s/,/', '/g")" "$cluster"
    found=1
  done
  [ -n "$found" ] || echo '[]'
}
set -f # the entries are words, never globs
for job in patroni etcd; do ha_targets "$job" >"/etc/prometheus/targets/$job.yml"; done
set +f

promtool check config /etc/prometheus/prometheus.yml >/dev/null
exec "$@"
