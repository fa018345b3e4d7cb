# shellcheck shell=bash
# Prints the Debian archive mirror this machine's apt is configured with.
# Read from /etc/apt (deb822 .sources or one-line .list) so no mirror host is written in the repo.
# APT_ETC_DIR points elsewhere than /etc/apt (tests).
debian_mirror() {
  local file uri etc=${APT_ETC_DIR:-/etc/apt}
  for file in "$etc"/sources.list.d/*.sources; do
    [ -f "$file" ] || continue
    # deb822: the URIs of a stanza whose path ends in /debian (not debian-security, not third parties)
    uri=$(awk 'tolower($1)=="uris:" { for (i = 2; i <= NF; i++) if ($i ~ /\/debian\/?$/) { print $i; exit } }' "$file")
    if [ -n "$uri" ]; then echo "${uri%/}"; return 0; fi
  done
  for file in "$etc"/sources.list "$etc"/sources.list.d/*.list; do
    [ -f "$file" ] || continue
    uri=$(awk '$1=="deb" { for (i = 2; i <= NF; i++) if ($i ~ /^(https?|ftp):\/\// ) { if ($i ~ /\/debian\/?$/) { print $i; exit } else break } }' "$file")
    if [ -n "$uri" ]; then echo "${uri%/}"; return 0; fi
  done
  echo "debian_mirror: no Debian archive found in $etc/sources.list{,.d/}" >&2
  return 1
}
