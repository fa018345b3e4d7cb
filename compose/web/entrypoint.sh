#!/bin/sh
# Renders the site template from the environment (only the variables it names, so nginx's own
# $variables stay), checks the result, then runs nginx.
set -eu
vars='${API_HOST} ${API_PORT} ${DNS_RESOLVER}'
envsubst "$vars" </etc/nginx/templates/refereezy.conf.template >/etc/nginx/conf.d/refereezy.conf
nginx -t -q
# nginx resolved the API's name once (its upstream keeps connections alive): when the name points
# elsewhere (a recreated API container gets a new address), reload it so it reconnects there.
addresses() { getent ahostsv4 "$API_HOST" | awk '{ print $1 }' | sort -u | tr '\n' ' '; }
if [ "${1:-}" = nginx ]; then
  (
    known=$(addresses)
    while sleep 2; do
      now=$(addresses)
      if [ -n "$now" ] && [ "$now" != "$known" ] && nginx -s reload 2>/dev/null; then known=$now; fi
    done
  ) &
fi
exec "$@"
