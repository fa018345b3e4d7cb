#!/bin/bash
# Keeps the host key on the bastion_data volume (so its fingerprint outlives the container), renders
# sshd_config (forwarding to BASTION_PERMIT_OPEN only), creates the jump user (no shell, group
# ssh-jump) with the operators' public keys from BASTION_AUTHORIZED_KEYS, then runs sshd.
set -euo pipefail
: "${BASTION_AUTHORIZED_KEYS:?BASTION_AUTHORIZED_KEYS must hold at least one public key}"
key=/etc/ssh/host_keys/ssh_host_ed25519_key
[ -s "$key" ] || ssh-keygen -q -t ed25519 -N '' -C "bastion" -f "$key"

# As the common role renders it (roles/common/sshd.ts): a bastion's forwarding, and the key exchanges
# this OpenSSH implements, in the source's order.
: "${BASTION_PERMIT_OPEN:?BASTION_PERMIT_OPEN must name the destinations the jump user may reach}"
supported=$(ssh -Q kex)
source_kex=$(sed -n 's/^KexAlgorithms //p' /etc/ssh/sshd_config.template)
kex=$(tr ',' '\n' <<<"$source_kex" | grep -Fx -f <(printf '%s\n' "$supported") | paste -sd, -)
SSH_TCP_FORWARDING=local SSH_PERMIT_OPEN=$BASTION_PERMIT_OPEN envsubst '${SSH_TCP_FORWARDING} ${SSH_PERMIT_OPEN}' </etc/ssh/sshd_config.template \
  | sed "s/^KexAlgorithms .*/KexAlgorithms $kex/" >/etc/ssh/sshd_config.new
chmod 0600 /etc/ssh/sshd_config.new
/usr/sbin/sshd -t -f /etc/ssh/sshd_config.new
mv /etc/ssh/sshd_config.new /etc/ssh/sshd_config

if ! id "$BASTION_USER" >/dev/null 2>&1; then
  useradd --create-home --shell /usr/sbin/nologin --groups ssh-users,ssh-jump "$BASTION_USER"
fi
home=$(getent passwd "$BASTION_USER" | cut -d: -f6)
install -d -m 0700 -o "$BASTION_USER" -g "$BASTION_USER" "$home/.ssh"
printf '%s\n' "$BASTION_AUTHORIZED_KEYS" | tr ';' '\n' | sed '/^[[:space:]]*$/d' >"$home/.ssh/authorized_keys"
chown "$BASTION_USER:$BASTION_USER" "$home/.ssh/authorized_keys"
chmod 0600 "$home/.ssh/authorized_keys"

exec "$@"
