#!/bin/sh
# The one user (REGISTRY_USER, REGISTRY_PASSWORD from .env) as a bcrypt htpasswd file on the tmpfs;
# the password goes to htpasswd on its standard input, never in its arguments.
set -eu
: "${REGISTRY_USER:?REGISTRY_USER is not set}"
if [ -z "${REGISTRY_PASSWORD:-}" ]; then
  echo "registry: REGISTRY_PASSWORD is not set (npm run stack generates it into .env)" >&2
  exit 1
fi
umask 077
printf '%s\n' "$REGISTRY_PASSWORD" | htpasswd -iBn "$REGISTRY_USER" >/tmp/htpasswd
unset REGISTRY_PASSWORD
exec "$@"
