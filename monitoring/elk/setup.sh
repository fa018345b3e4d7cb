#!/bin/bash
# elk-setup (profile elk): with Elasticsearch's security on, gives Kibana and Filebeat users of their
# own, so neither holds the elastic superuser's password. Safe to re-run: every call sets, never adds.
#   kibana_system    Kibana's built-in user: its password set to KIBANA_SYSTEM_PASSWORD
#   filebeat_writer  Filebeat: may create and write refereezy-logs-* and its index template, no more
set -euo pipefail
log() { echo "elk-setup: $*" >&2; }
for name in ELASTIC_PASSWORD KIBANA_SYSTEM_PASSWORD FILEBEAT_ES_PASSWORD; do
  value=${!name:-}
  [ -n "$value" ] || { log "$name is not set (npm run stack generates it into .env)"; exit 1; }
  # Written into JSON below without an encoder (the image has none): only characters that need no escaping.
  [[ $value =~ ^[A-Za-z0-9._~-]+$ ]] || { log "$name may hold only letters, digits and . _ ~ -"; exit 1; }
done
url=${ELASTICSEARCH_URL:-http://elasticsearch:9200}
es() { curl -fsS -u "elastic:$ELASTIC_PASSWORD" -H 'content-type: application/json' "$@"; }

for attempt in $(seq 60); do
  es "$url/_security/_authenticate" >/dev/null 2>&1 && break
  [ "$attempt" = 60 ] && { log "Elasticsearch at $url does not accept the elastic user after 120 s"; exit 1; }
  sleep 2
done

es -X POST "$url/_security/user/kibana_system/_password" -d "{\"password\":\"$KIBANA_SYSTEM_PASSWORD\"}" >/dev/null
log "kibana_system: password set"
es -X PUT "$url/_security/role/refereezy_logs_writer" -d '{
  "cluster": ["monitor", "read_ilm", "manage_index_templates"],
  "indices": [{ "names": ["refereezy-logs-*"], "privileges": ["create_doc", "create_index", "view_index_metadata", "auto_configure"] }]
}' >/dev/null
es -X PUT "$url/_security/user/filebeat_writer" -d "{\"password\":\"$FILEBEAT_ES_PASSWORD\",\"roles\":[\"refereezy_logs_writer\"]}" >/dev/null
log "filebeat_writer: role refereezy_logs_writer, password set"
