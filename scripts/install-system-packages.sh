#!/usr/bin/env bash
# Installs Debian packages for swarm-ts (run as root): `scripts/install-system-packages.sh PKG...`
# Used by .ci/run and by `npm start` (for whatever is missing), so there is one way to do it.
#
# Packages like docker.io try to start their service from the postinst. Our engines never use
# the system dockerd (they run on their own sockets and ports), and on machines without systemd
# that start can fail the install, so a policy-rc.d answering 101 ("action not allowed") keeps
# invoke-rc.d from starting any service during this install. A pre-existing policy-rc.d is kept.
set -euo pipefail

if [ "$#" -eq 0 ]; then
  echo "usage: $0 PACKAGE..." >&2
  exit 2
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "error: installing packages needs root; run: sudo apt-get install -y $*" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
policy=/usr/sbin/policy-rc.d
created_policy=no
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' > "$policy"
  chmod 755 "$policy"
  created_policy=yes
fi
cleanup() { if [ "$created_policy" = yes ]; then rm -f "$policy"; fi; }
trap cleanup EXIT

apt-get update
apt-get install -y "$@"
