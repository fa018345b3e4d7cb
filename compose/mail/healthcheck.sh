#!/bin/bash
# Healthy when Postfix greets on 25 ("220 ") and, in catch-all mode, Dovecot on 143 ("* OK").
greets() {
  exec 3<>"/dev/tcp/127.0.0.1/$1" || return 1
  IFS= read -r -t 2 banner <&3 || return 1
  printf '%s\r\n' "$3" >&3
  exec 3<&-
  [[ $banner == "$2"* ]]
}
greets 25 '220 ' QUIT || exit 1
[ "${MAIL_MODE:-catch-all}" = catch-all ] || exit 0
greets 143 '* OK' 'a LOGOUT'
