#!/bin/bash
# Patroni's post_bootstrap, on the cluster's first primary only: the application's role and
# database and the exporter's role (the same as compose/db/entrypoint.sh creates), then the
# pgBackRest stanza in the background (WAL archiving waits for it; a bootstrap must not).
set -euo pipefail
psql --quiet --no-psqlrc -v ON_ERROR_STOP=1 --username=postgres --dbname=postgres \
  -v app_user="$APP_DB_USER" -v app_db="$APP_DB_NAME" -v app_password="$DB_PASSWORD" \
  -v monitor_user="$MONITOR_DB_USER" -v monitor_password="$MONITOR_DB_PASSWORD" <<'SQL'
CREATE ROLE :"app_user" LOGIN PASSWORD :'app_password';
CREATE ROLE :"monitor_user" LOGIN PASSWORD :'monitor_password' IN ROLE pg_monitor;
CREATE DATABASE :"app_db" OWNER :"app_user";
\connect :"app_db"
REVOKE ALL ON SCHEMA public FROM PUBLIC;
GRANT ALL ON SCHEMA public TO :"app_user";
SQL
if [ -s /etc/pgbackrest/pgbackrest.conf ]; then
  (setsid bash -c 'sleep 5; pgbackrest --stanza=refereezy --log-level-console=warn stanza-create || echo "patroni-post-bootstrap: stanza-create failed; run db-backup stanza on the primary" >&2' &)
fi
