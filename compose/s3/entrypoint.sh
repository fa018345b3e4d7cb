#!/bin/bash
# First start: a CA of the store's own (kept on the s3_ca volume, which clients mount read-only to
# trust it) and a server certificate for the names clients use. Later starts reuse both.
set -euo pipefail
ca_dir=/var/lib/s3/ca
tls_dir=/var/lib/s3/tls
names=${S3_TLS_NAMES:-s3}
log() { echo "s3-entrypoint: $*" >&2; }
umask 022
mkdir -p "$ca_dir" "$tls_dir" /var/lib/s3/data
if [ ! -s "$ca_dir/ca.crt" ]; then
  log "creating the store's CA in $ca_dir"
  openssl req -x509 -newkey rsa:3072 -nodes -days 3650 -subj '/CN=Refereezy replica S3 CA' \
    -keyout "$tls_dir/ca.key" -out "$ca_dir/ca.crt.new" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
  mv "$ca_dir/ca.crt.new" "$ca_dir/ca.crt"
  rm -f "$tls_dir/server.pem"
fi
if [ ! -s "$tls_dir/server.pem" ] || [ "$(cat "$tls_dir/names" 2>/dev/null)" != "$names" ]; then
  log "issuing the server certificate for: $names"
  san=$(echo "$names" | tr ', ' '\n\n' | sed '/^$/d; s/^/DNS:/' | paste -sd, -)
  openssl req -newkey rsa:2048 -nodes -subj "/CN=${names%%[ ,]*}" -keyout "$tls_dir/server.key" -out "$tls_dir/server.csr" 2>/dev/null
  openssl x509 -req -in "$tls_dir/server.csr" -CA "$ca_dir/ca.crt" -CAkey "$tls_dir/ca.key" -CAcreateserial \
    -days 825 -out "$tls_dir/server.crt" -extfile <(printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\n' "$san") 2>/dev/null
  cat "$tls_dir/server.crt" "$tls_dir/server.key" >"$tls_dir/server.pem"
  chmod 600 "$tls_dir/server.pem" "$tls_dir/server.key" "$tls_dir/ca.key"
  echo "$names" >"$tls_dir/names"
fi
exec "$@"
