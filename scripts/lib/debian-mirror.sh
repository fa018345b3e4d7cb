# shellcheck shell=bash
# Prints the Debian archive mirror this machine's apt is configured with.
# Read from /etc/apt (deb822 .sources or one-line .list) so no mirror host is written in the repo.
debian_mirror() {
  local file uri
  for file in /etc/apt/sources.list.d/*.sources; do
    [ -f "$file" ] || continue
    # deb822: the URIs of a stanza whose path ends in /debian (not debian-security, not third parties)
    uri=$(awk 'tolower($1)=="uris:" { for (i = 2; i <= NF; i++) if ($i ~ /\/debian\/?$/) { print $i; exit } }' "$file")
    if [ -n "$uri" ]; then echo "${uri%/}"; return 0; fi
  done
  for file in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$file" ] || continue
    uri=$(awk '$1=="deb" { for (i = 2; i <= NF; i++) if ($i ~ /^(https?|ftp):\/\// ) { if ($i ~ /\/debian\/?$/) { print $i; exit } else break } }' "$file")
    if [ -n "$uri" ]; then echo "${uri%/}"; return 0; fi
  done
  echo "debian_mirror: no Debian archive found in /etc/apt/sources.list{,.d/}" >&2
  return 1
}
