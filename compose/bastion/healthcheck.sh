#!/bin/bash
# Healthy when sshd accepts a connection and greets with an SSH-2.0 banner.
exec 3<>/dev/tcp/127.0.0.1/22 || exit 1
IFS= read -r -t 3 banner <&3 || exit 1
[[ $banner == SSH-2.0-* ]]
