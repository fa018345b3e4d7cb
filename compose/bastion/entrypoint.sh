#!/bin/bash
# Keeps the host key on the bastion_data volume (so its fingerprint outlives the container), and
# installs the operators' public keys from BASTION_AUTHORIZED_KEYS, then runs sshd.
set -euo pipefail
: "${BASTION_AUTHORIZED_KEYS:?BASTION_AUTHORIZED_KEYS must hold at least one public key}"
key=/etc/ssh/host_keys/ssh_host_ed25519_key
[ -s "$key" ] || ssh-keygen -q -t ed25519 -N '' -C "bastion" -f "$key"

if ! id "$BASTION_USER" >/dev/null 2>&1; then
  useradd --create-home --shell /bin/bash --groups ssh-users "$BASTION_USER"
fi
home=$(getent passwd "$BASTION_USER" | cut -d: -f6)
install -d -m 0700 -o "$BASTION_USER" -g "$BASTION_USER" "$home/.ssh"
printf '%s\n' "$BASTION_AUTHORIZED_KEYS" | tr ';' '\n' | sed '/^[[:space:]]*$/d' >"$home/.ssh/authorized_keys"
chown "$BASTION_USER:$BASTION_USER" "$home/.ssh/authorized_keys"
chmod 0600 "$home/.ssh/authorized_keys"

/usr/sbin/sshd -t
exec "$@"
