#!/bin/bash
# One etcd member, named after its host name, in a static cluster of ETCD_MEMBERS (space-separated
# host names). The same settings the etcd provisioning role writes to /etc/default/etcd.
set -euo pipefail
: "${ETCD_MEMBERS:?ETCD_MEMBERS must list the cluster's members (host names, space-separated)}"
name=${ETCD_NAME:-$(hostname)}
cluster=""
for member in $ETCD_MEMBERS; do cluster+="${cluster:+,}$member=http://$member:2380"; done
exec etcd \
  --name "$name" \
  --data-dir /var/lib/etcd/data \
  --listen-peer-urls http://0.0.0.0:2380 \
  --listen-client-urls http://0.0.0.0:2379 \
  --initial-advertise-peer-urls "http://$name:2380" \
  --advertise-client-urls "http://$name:2379" \
  --initial-cluster "$cluster" \
  --initial-cluster-token "${ETCD_CLUSTER_TOKEN:-refereezy-etcd}" \
  --initial-cluster-state new \
  --enable-v2=false
