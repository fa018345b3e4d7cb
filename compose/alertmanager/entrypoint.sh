#!/bin/sh
# Renders alertmanager.yml from its template and the environment (only the variables it names, so
# Alertmanager's own {{ template }} syntax stays), checks the result, then runs the command.
set -eu
: "${ALERT_SMTP_SMARTHOST:?ALERT_SMTP_SMARTHOST must be set (host:port of the mail relay)}"
: "${ALERT_SMTP_FROM:?ALERT_SMTP_FROM must be set}"
: "${ALERT_EMAIL_TO:?ALERT_EMAIL_TO must be set (the admins who receive alerts)}"
: "${ALERT_SMTP_REQUIRE_TLS:?ALERT_SMTP_REQUIRE_TLS must be true or false}"
: "${ALERT_SMS_NOTIFIER_URL:?ALERT_SMS_NOTIFIER_URL must be set (base URL of the SMS notifier)}"
: "${ALERT_DEADMAN_URL:?ALERT_DEADMAN_URL must be set (base URL of the dead man's switch)}"
: "${ALERT_GROUP_INTERVAL:?ALERT_GROUP_INTERVAL must be set (e.g. 5m)}"
vars='${ALERT_SMTP_SMARTHOST} ${ALERT_SMTP_FROM} ${ALERT_EMAIL_TO} ${ALERT_SMTP_REQUIRE_TLS} ${ALERT_SMS_NOTIFIER_URL} ${ALERT_DEADMAN_URL} ${ALERT_GROUP_INTERVAL}'
envsubst "$vars" </etc/refereezy/alertmanager/alertmanager.yml.template >/etc/alertmanager/alertmanager.yml
amtool check-config /etc/alertmanager/alertmanager.yml >/dev/null
exec "$@"
