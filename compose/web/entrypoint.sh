#!/bin/sh
# Renders the site template from the environment (only the variables it names, so nginx's own
# $variables stay), checks the result, then runs nginx.
set -eu
vars='${API_HOST} ${API_PORT} ${DNS_RESOLVER}'
envsubst "$vars" </etc/nginx/templates/refereezy.conf.template >/etc/nginx/conf.d/refereezy.conf
nginx -t -q
exec "$@"
