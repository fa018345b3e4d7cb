#!/bin/bash
# One etcd member, named after its host name, in a static cluster of DCS_MEMBERS (space-separated
# host names): renders etcd.env.template (the etcd role renders the same into /etc/default/etcd)
# and runs etcd with it.
set -euo pipefail
: "${DCS_MEMBERS:?DCS_MEMBERS must list the cluster members (host names, space-separated)}"
name=${ETCD_NAME:-$(hostname)}
cluster=""
for member in $DCS_MEMBERS; do cluster+="${cluster:+,}$member=http://$member:2380"; done
set -a
# shellcheck disable=SC1090
source <(sed -e "s|\${ETCD_NAME}|$name|g" -e "s|\${ETCD_ADVERTISE_HOST}|$name|g" \
  -e "s|\${ETCD_INITIAL_CLUSTER}|$cluster|g" -e "s|\${ETCD_CLUSTER_TOKEN}|${DCS_CLUSTER_TOKEN:-refereezy-etcd}|g" \
  /etc/refereezy/etcd/etcd.env.template)
set +a
exec etcd
