#!/bin/bash
# Healthy when apt-cacher-ng answers its report page with HTTP 200.
exec 3<>/dev/tcp/127.0.0.1/3142 || exit 1
printf 'HEAD /acng-report.html HTTP/1.0\r\nHost: localhost\r\n\r\n' >&3
IFS= read -r -t 3 status <&3 || exit 1
[[ $status == HTTP/1.[01]\ 200* ]]
