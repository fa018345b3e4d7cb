#!/bin/bash
# Creates the cluster, the application role and its database on first start (an empty volume),
# renders pg_hba.conf from the environment on every start, then runs PostgreSQL.
set -euo pipefail
# One name for the API role's password everywhere (.env, the API's config, the vault's db_password).
if [ -n "${APP_DB_PASSWORD+set}" ]; then
  echo "APP_DB_PASSWORD is now DB_PASSWORD (the API role's password has one name): rename it" >&2
  exit 1
fi
: "${DB_PASSWORD:?DB_PASSWORD must be set (the password of the API role)}"
: "${MONITOR_DB_PASSWORD:?MONITOR_DB_PASSWORD must be set (the password of the exporter role)}"
log() { echo "db-entrypoint: $*" >&2; }

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  log "initialising a new cluster in $PGDATA"
  initdb --pgdata="$PGDATA" --username=postgres --encoding=UTF8 --locale=C.UTF-8 \
    --auth-local=peer --auth-host=reject --data-checksums >/dev/null
  # A first start on the socket only: nothing can connect over the network until the role exists.
  pg_ctl --pgdata="$PGDATA" --silent --wait --options="-c listen_addresses='' -c config_file=/etc/refereezy/postgresql/postgresql.conf" start
  psql --quiet --no-psqlrc -v ON_ERROR_STOP=1 --username=postgres --dbname=postgres \
    -v app_user="$APP_DB_USER" -v app_db="$APP_DB_NAME" -v app_password="$DB_PASSWORD" \
    -v monitor_user="$MONITOR_DB_USER" -v monitor_password="$MONITOR_DB_PASSWORD" <<'SQL'
CREATE ROLE :"app_user" LOGIN PASSWORD :'app_password';
-- postgres_exporter's role: reads statistics (pg_monitor), nothing else.
CREATE ROLE :"monitor_user" LOGIN PASSWORD :'monitor_password' IN ROLE pg_monitor;
CREATE DATABASE :"app_db" OWNER :"app_user";
\connect :"app_db"
REVOKE ALL ON SCHEMA public FROM PUBLIC;
GRANT ALL ON SCHEMA public TO :"app_user";
SQL
  pg_ctl --pgdata="$PGDATA" --silent --wait --mode=fast stop
  log "cluster ready: database $APP_DB_NAME owned by $APP_DB_USER"
fi

envsubst '${APP_DB_NAME} ${APP_DB_USER} ${APP_CLIENT_CIDR} ${MONITOR_DB_USER}' \
  </etc/refereezy/postgresql/pg_hba.conf.template >"$PGDATA/pg_hba.conf"

# pgBackRest's config from the shared template (compose/db/pgbackrest.conf.template, which the db
# role renders too). Without a passphrase there are no backups: archiving is then switched off for
# this start, loudly, rather than failing on every WAL segment.
if [ -n "${BACKUP_CIPHER_PASS:-}" ]; then
  : "${BACKUP_S3_KEY:?BACKUP_S3_KEY must be set (the backup repos' S3 access key)}"
  : "${BACKUP_S3_KEY_SECRET:?BACKUP_S3_KEY_SECRET must be set (the backup repos' S3 secret key)}"
  (umask 077; envsubst '${BACKUP_REPO1_ENDPOINT} ${BACKUP_REPO1_REGION} ${BACKUP_REPO1_BUCKET} ${BACKUP_REPO2_ENDPOINT} ${BACKUP_REPO2_REGION} ${BACKUP_REPO2_BUCKET} ${BACKUP_S3_KEY} ${BACKUP_S3_KEY_SECRET} ${BACKUP_S3_CA_FILE} ${BACKUP_CIPHER_PASS} ${BACKUP_RETENTION_DAYS}' \
    </etc/refereezy/postgresql/pgbackrest.conf.template >/etc/pgbackrest/pgbackrest.conf)
  if [ "${1:-}" = postgres ] && [ "${BACKUP_SCHEDULE:-on}" = on ]; then
    # Detached (re-parented to the container's init), so PostgreSQL never sees it as its child.
    (setsid db-backup schedule &)
  fi
elif [ "${1:-}" = postgres ]; then
  log "WARNING: BACKUP_CIPHER_PASS is not set: no backups, WAL archiving off for this start"
  set -- "$@" -c archive_mode=off
fi
exec "$@"
