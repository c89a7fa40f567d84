#!/usr/bin/env bash
# Installs, with apt, whatever partd needs to build, test and run that is not
# there yet. Used by `make run`, `make test` and CI on a fresh Debian 12.
#
#   scripts/deps.sh [EXTRA_PACKAGE...]      e.g. scripts/deps.sh wrk
#
# Prints nothing and exits 0 when everything is already installed. As a
# non-root user it uses `sudo -n` when that works; otherwise it names the
# missing packages and the command to run, and exits 1.
set -euo pipefail

packages=(
	build-essential pkg-config
	libmicrohttpd-dev libjansson-dev libpq-dev libssl-dev zlib1g-dev
	check libsubunit-dev
	postgresql-15 postgresql-client-15 postgresql-15-partman
	curl jq procps
)
packages+=("$@")

if ! command -v dpkg-query >/dev/null 2>&1; then
	echo "deps.sh: dpkg-query not found; this script supports Debian 12 only" >&2
	exit 1
fi

# One dpkg-query for all names keeps the already-installed path fast.
# Unknown names print nothing on stdout (only a complaint we discard), so
# they are simply absent from the installed set.
declare -A installed=()
while read -r name status; do
	# "install ok installed" / "hold ok installed"; not "not-installed",
	# "half-installed" or "config-files".
	[[ " $status" == *" installed" ]] && installed[$name]=1
done < <(dpkg-query -W -f='${Package} ${Status}\n' "${packages[@]}" nodejs npm 2>/dev/null || true)

missing=()
for p in "${packages[@]}"; do
	[[ -n "${installed[$p]:-}" ]] || missing+=("$p")
done

# The OpenAPI lint runs through npx. The node from some other source (e.g.
# NodeSource) already ships npx and conflicts with Debian's npm, so only
# ask for node and npm when there is no npx at all.
if ! command -v npx >/dev/null 2>&1; then
	[[ -n "${installed[nodejs]:-}" ]] || missing+=(nodejs)
	[[ -n "${installed[npm]:-}" ]] || missing+=(npm)
fi

((${#missing[@]} == 0)) && exit 0

sudo=()
if ((EUID != 0)); then
	if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
		sudo=(sudo -n)
	else
		{
			echo "deps.sh: missing packages: ${missing[*]}"
			echo "deps.sh: install them as root with:"
			echo "  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${missing[*]}"
		} >&2
		exit 1
	fi
fi

echo "deps.sh: installing: ${missing[*]}" >&2
# Wait for a concurrent apt/dpkg (e.g. unattended-upgrades) instead of
# failing; no pty keeps dpkg's progress meter out of CI logs.
apt_opts=(-o DPkg::Lock::Timeout=300 -o Dpkg::Use-Pty=0)
# `env` because sudo drops DEBIAN_FRONTEND from the environment.
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "${apt_opts[@]}" -qq update >&2
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "${apt_opts[@]}" -y -q \
	--no-install-recommends install "${missing[@]}" >&2
