#!/usr/bin/env bash
# Install the Debian packages a step needs when they are missing (only possible as root).
# Usage: ensure_system_packages.sh COMMAND_OR_PATH:PACKAGE ...
set -euo pipefail
missing=()
for pair in "$@"; do
  probe="${pair%%:*}"; package="${pair#*:}"
  if [[ "$probe" == /* ]]; then [[ -e "$probe" ]] || missing+=("$package")
  else command -v "$probe" >/dev/null 2>&1 || missing+=("$package"); fi
done
[[ ${#missing[@]} -eq 0 ]] && exit 0
if [[ "$(id -u)" != 0 ]]; then
  echo "Missing system packages: ${missing[*]} (install them with apt-get as root)" >&2
  exit 1
fi
echo "Installing ${missing[*]} with apt-get"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${missing[@]}"
