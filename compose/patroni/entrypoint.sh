#!/bin/bash
# Renders pg_hba.conf (compose/db's template plus the replication lines), pgbackrest.conf
# (compose/db's template) and patroni.yml (this image's template) from the environment, then runs
# Patroni, which bootstraps, clones or rewinds PostgreSQL as the DCS says.
set -euo pipefail
# One name for the API role's password everywhere (.env, the API's config, the vault's db_password).
if [ -n "${APP_DB_PASSWORD+set}" ]; then
  echo "APP_DB_PASSWORD is now DB_PASSWORD (the API role's password has one name): rename it" >&2
  exit 1
fi
: "${DB_PASSWORD:?DB_PASSWORD must be set (the password of the API role)}"
: "${MONITOR_DB_PASSWORD:?MONITOR_DB_PASSWORD must be set (the password of the exporter role)}"
: "${PATRONI_REPLICATION_PASSWORD:?PATRONI_REPLICATION_PASSWORD must be set (the role standbys stream with)}"
: "${PATRONI_REWIND_PASSWORD:?PATRONI_REWIND_PASSWORD must be set (the role pg_rewind connects as)}"
: "${PATRONI_RESTAPI_PASSWORD:?PATRONI_RESTAPI_PASSWORD must be set (basic auth of the REST API: switchover, failover, restart, reinitialize)}"
: "${DCS_ETCD_HOSTS:?DCS_ETCD_HOSTS must list the etcd members (host:port,host:port,...)}"
log() { echo "patroni-entrypoint: $*" >&2; }
export PATRONI_NAME=${PATRONI_NAME:-$(hostname)} NODE_HOST=${NODE_HOST:-$(hostname)}

{
  envsubst '${APP_DB_NAME} ${APP_DB_USER} ${APP_CLIENT_CIDR} ${MONITOR_DB_USER}' </etc/refereezy/postgresql/pg_hba.conf.template
  envsubst '${REPLICATION_PEER_CIDR}' </etc/refereezy/patroni/pg_hba.replication.conf.template
} >/var/lib/postgresql/pg_hba.conf

if [ -n "${BACKUP_CIPHER_PASS:-}" ]; then
  : "${BACKUP_S3_KEY:?BACKUP_S3_KEY must be set (the S3 access key of the backup repos)}"
  : "${BACKUP_S3_KEY_SECRET:?BACKUP_S3_KEY_SECRET must be set (the S3 secret key of the backup repos)}"
  (umask 077; envsubst '${BACKUP_REPO1_ENDPOINT} ${BACKUP_REPO1_REGION} ${BACKUP_REPO1_BUCKET} ${BACKUP_REPO2_ENDPOINT} ${BACKUP_REPO2_REGION} ${BACKUP_REPO2_BUCKET} ${BACKUP_S3_KEY} ${BACKUP_S3_KEY_SECRET} ${BACKUP_S3_CA_FILE} ${BACKUP_CIPHER_PASS} ${BACKUP_RETENTION_DAYS}' \
    </etc/refereezy/postgresql/pgbackrest.conf.template >/etc/pgbackrest/pgbackrest.conf)
  export NODE_ARCHIVE_MODE=on
else
  log "WARNING: BACKUP_CIPHER_PASS is not set: no backups, WAL archiving off"
  export NODE_ARCHIVE_MODE=off
fi

(umask 077; envsubst '${PATRONI_SCOPE} ${PATRONI_NAME} ${NODE_HOST} ${DCS_ETCD_HOSTS} ${NODE_ARCHIVE_MODE} ${PATRONI_REPLICATION_PASSWORD} ${PATRONI_REWIND_PASSWORD} ${PATRONI_RESTAPI_PASSWORD} ${NODE_NOFAILOVER}' \
  </etc/refereezy/patroni/patroni.yml.template >/etc/patroni/patroni.yml)
# Never a REST API that takes POST /switchover from anyone: the rendered file must authenticate it.
python3 - /etc/patroni/patroni.yml <<'PY'
import sys, yaml
auth = (yaml.safe_load(open(sys.argv[1])).get('restapi') or {}).get('authentication') or {}
if not (auth.get('username') and auth.get('password')):
    sys.exit('patroni-entrypoint: ' + sys.argv[1] + ' has no restapi.authentication: refusing to run an unauthenticated REST API')
PY
if [ -n "${DR_STANDBY_SOURCE_HOST:-}" ]; then
  # The DR region: a standby cluster whose leader streams from the primary region (through its
  # db endpoint), and restores from the second region's repo when streaming cannot catch up.
  cat >>/etc/patroni/patroni.yml <<YAML
# A standby cluster (the DR region), written into the DCS at its bootstrap.
YAML
  python3 - "$DR_STANDBY_SOURCE_HOST" <<'PY'
import sys, yaml
path = '/etc/patroni/patroni.yml'
config = yaml.safe_load(open(path))
config['bootstrap']['dcs']['standby_cluster'] = {
    'host': sys.argv[1], 'port': 5432, 'create_replica_methods': ['basebackup'],
}
# A standby cluster has no synchronous standby of its own to wait for.
config['bootstrap']['dcs']['synchronous_mode'] = False
config['bootstrap'].pop('post_bootstrap', None)
yaml.safe_dump(config, open(path, 'w'), sort_keys=False)
PY
fi
exec patroni /etc/patroni/patroni.yml
