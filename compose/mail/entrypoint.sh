#!/bin/bash
# Renders Postfix's main.cf from the template for MAIL_MODE (relay: production; catch-all: the
# replica), then runs Postfix and, in catch-all mode, Dovecot in the foreground. If either exits,
# the other is stopped and the container exits with an error, so Docker restarts or reports it.
set -euo pipefail
log() { echo "mail-entrypoint: $*" >&2; }

# Empty: the subnets of the container's own interfaces (in the replica, the private network).
# (postconf reads main.cf, which the template is rendered into below: start from an empty one.)
[ -e /etc/postfix/main.cf ] || : >/etc/postfix/main.cf
MAIL_ALLOWED_NETWORKS=${MAIL_ALLOWED_NETWORKS:-$(postconf -o mynetworks_style=subnet -h mynetworks)}
export MAIL_ALLOWED_NETWORKS

MAIL_MODE=${MAIL_MODE:-catch-all}
case $MAIL_MODE in
  relay)
    : "${MAIL_RELAYHOST:?MAIL_RELAYHOST must be set in relay mode, e.g. [email-smtp.eu-west-1.amazonaws.com]:587}"
    export MAIL_VIRTUAL_ALIAS_MAPS='' MAIL_DEFAULT_TRANSPORT=smtp MAIL_SMTP_TLS_LEVEL=encrypt
    if [ -n "${MAIL_RELAY_USER:-}" ]; then
      : "${MAIL_RELAY_PASSWORD:?MAIL_RELAY_PASSWORD must be set with MAIL_RELAY_USER}"
      (umask 077 && printf '%s %s:%s\n' "$MAIL_RELAYHOST" "$MAIL_RELAY_USER" "$MAIL_RELAY_PASSWORD" >/etc/postfix/sasl_passwd)
      postmap /etc/postfix/sasl_passwd
      export MAIL_SMTP_SASL_AUTH=yes MAIL_SMTP_SASL_PASSWORD_MAPS=hash:/etc/postfix/sasl_passwd
    else
      export MAIL_SMTP_SASL_AUTH=no MAIL_SMTP_SASL_PASSWORD_MAPS=''
    fi
    ;;
  catch-all)
    : "${MAIL_CATCHALL_PASSWORD:?MAIL_CATCHALL_PASSWORD must be set (the IMAP password of the catch-all mailbox)}"
    # No relayhost, every recipient rewritten to the catch-all mailbox, any other delivery an error.
    export MAIL_RELAYHOST='' MAIL_VIRTUAL_ALIAS_MAPS=regexp:/etc/refereezy/postfix/catch-all.regexp \
      MAIL_DEFAULT_TRANSPORT='error:mail never leaves the replica' \
      MAIL_SMTP_SASL_AUTH=no MAIL_SMTP_SASL_PASSWORD_MAPS='' MAIL_SMTP_TLS_LEVEL=none
    (umask 077 && printf 'catchall:%s\n' "$(doveadm pw -s SHA512-CRYPT -p "$MAIL_CATCHALL_PASSWORD")" >/etc/dovecot/users)
    chown root:dovecot /etc/dovecot/users
    chmod 0640 /etc/dovecot/users
    ;;
  *)
    log "MAIL_MODE must be relay or catch-all, not '$MAIL_MODE'"
    exit 2
    ;;
esac

# In a container Postfix logs to its output (start-fg); the provisioning role leaves this empty (syslog).
export MAIL_LOG_FILE=/dev/stdout
vars='${MAIL_HOSTNAME} ${MAIL_ALLOWED_NETWORKS} ${MAIL_RELAYHOST} ${MAIL_VIRTUAL_ALIAS_MAPS}
      ${MAIL_DEFAULT_TRANSPORT} ${MAIL_SMTP_SASL_AUTH} ${MAIL_SMTP_SASL_PASSWORD_MAPS} ${MAIL_SMTP_TLS_LEVEL} ${MAIL_LOG_FILE}'
envsubst "$vars" </etc/refereezy/postfix/main.cf.template >/etc/postfix/main.cf
log "mode $MAIL_MODE; accepting mail from $MAIL_ALLOWED_NETWORKS; relayhost: ${MAIL_RELAYHOST:-none}"

# With --no-run (render only, e.g. to inspect postconf), stop here.
[ "${1:-}" = --no-run ] && exit 0

stopping=
stop() {
  stopping=1
  postfix stop >/dev/null 2>&1 || true
  [ -n "${dovecot_pid:-}" ] && kill -TERM "$dovecot_pid" 2>/dev/null || true
}
trap stop TERM INT

# start-fg checks the configuration and install first (postfix check) and fails on an error.
postfix start-fg &
postfix_pid=$!
dovecot_pid=
if [ "$MAIL_MODE" = catch-all ]; then
  doveconf -n >/dev/null
  dovecot -F &
  dovecot_pid=$!
fi

status=0
wait -n -p exited $postfix_pid $dovecot_pid || status=$?
if [ -z "$stopping" ]; then
  log "$( [ "${exited:-}" = "$postfix_pid" ] && echo postfix || echo dovecot ) exited (status $status); stopping"
  stop
  wait || true
  exit 1
fi
wait || true
