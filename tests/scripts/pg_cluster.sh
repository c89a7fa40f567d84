#!/usr/bin/env bash
# A throwaway (tests) or local (`make run`) PostgreSQL 15 cluster in a
# directory of its own, never the system's "main" cluster.
#
#   pg_cluster.sh start   DIR [--port N] [--fast]  initdb if needed, start, print URL
#   pg_cluster.sh stop    DIR                      stop if running (no error otherwise)
#   pg_cluster.sh restart DIR                      restart on the same port, print URL
#   pg_cluster.sh url     DIR                      print URL
#   pg_cluster.sh status  DIR                      exit 0 if running, 1 if not
#   pg_cluster.sh destroy DIR                      stop, then rm -rf DIR
#
# stdout carries only the URL, postgresql://postgres@127.0.0.1:PORT/partd;
# everything else goes to stderr. Layout: DIR/data, DIR/sock (unix socket),
# DIR/log/postgresql.log, DIR/port. --fast turns off fsync and friends (for
# tests: a crash may corrupt the cluster). Without --port, the saved port is
# reused if still free, else a free one is picked. PGBIN overrides
# /usr/lib/postgresql/15/bin. Works as root (the server then runs as the
# `postgres` user, which owns DIR) and as any other user.
set -euo pipefail

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
DB_NAME=partd
# Written by `start`; `destroy` only removes directories that carry it, so a
# mistyped DIR can never rm -rf someone's data.
MARKER=.pg_cluster

log() { echo "pg_cluster: $*" >&2; }
die() {
	log "$*"
	exit 1
}

usage() {
	sed -n '4,10s/^# \{0,1\}//p' "$0" >&2
	exit 2
}

# The server and its tools refuse to run as root, so as root they run as
# postgres; from / because the caller's cwd (e.g. /root) may be closed to it.
as_owner() {
	if ((EUID != 0)); then
		"$@"
	elif command -v runuser >/dev/null 2>&1; then
		(cd / && runuser -u postgres -- "$@")
	else
		(cd / && su postgres -s /bin/bash -c "$(printf '%q ' "$@")")
	fi
}

url_for() { echo "postgresql://postgres@127.0.0.1:$1/$DB_NAME"; }

saved_port() {
	[[ -s "$DIR/port" ]] || return 1
	local p
	p=$(<"$DIR/port")
	[[ "$p" =~ ^[0-9]+$ ]] || return 1
	echo "$p"
}

has_cluster() { [[ -f "$DIR/data/PG_VERSION" ]]; }

is_running() {
	has_cluster && as_owner "$PGBIN/pg_ctl" status -D "$DIR/data" >/dev/null 2>&1 9>&-
}

# Nothing listens on the port (any address: a wildcard listener would make
# our bind on 127.0.0.1 fail too) and nothing answers on 127.0.0.1.
port_is_free() {
	local p=$1
	if command -v ss >/dev/null 2>&1 &&
		[[ -n "$(ss -Hltn "sport = :$p" 2>/dev/null)" ]]; then
		return 1
	fi
	! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null
}

free_port() {
	local p i
	# Let the kernel pick; python3 may be absent or a shim this user can't run.
	if p=$(python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])' 2>/dev/null) && [[ "$p" =~ ^[0-9]+$ ]] && port_is_free "$p"; then
		echo "$p"
		return 0
	fi
	# Below the kernel's ephemeral range (32768+), so outgoing connections
	# don't take it after we chose it; a random start keeps parallel runs apart.
	p=$((20000 + RANDOM % 10000))
	for ((i = 0; i < 500; i++, p++)); do
		if port_is_free "$p"; then
			echo "$p"
			return 0
		fi
	done
	die "no free TCP port found on 127.0.0.1"
}

# As root, postgres must own DIR and be able to reach it: mktemp -d makes
# 0700 root directories, and a parent such as /root may be closed too.
fix_ownership() {
	((EUID == 0)) || return 0
	getent passwd postgres >/dev/null || die "user postgres does not exist (is postgresql-15 installed?)"
	chown -R postgres:postgres "$DIR"
	chmod 755 "$DIR"
	as_owner test -r "$DIR/$MARKER" && return 0
	local d=$DIR
	while [[ "$d" != / ]]; do
		d=$(dirname "$d")
		if ! as_owner test -x "$d"; then
			log "granting search (o+x) on $d so that postgres can reach $DIR"
			chmod o+x "$d"
		fi
	done
	as_owner test -r "$DIR/$MARKER" || die "user postgres cannot reach $DIR"
}

lock_dir() {
	# Two starts of one DIR at once (parallel make targets) must not both
	# initdb. Every pg_ctl call closes fd 9 (9>&-): a server that inherited
	# it would hold the lock for its whole life.
	exec 9>>"$DIR/.pg_cluster.lock"
	flock -w 120 9 || die "timed out waiting for $DIR/.pg_cluster.lock"
}

write_conf() {
	local port=$1 fast=$2 sock=$DIR/sock conf=$DIR/data/pg_cluster.conf
	# A unix socket path longer than sun_path (107 bytes) is fatal to the
	# server; everything we do goes over TCP, so go without one then.
	if ((${#sock} + ${#port} + 10 > 107)); then
		log "socket path under $sock is too long; unix socket disabled"
		sock=
	fi
	{
		echo "# written by pg_cluster.sh on every start; edits are lost"
		echo "listen_addresses = '127.0.0.1'"
		echo "port = $port"
		echo "unix_socket_directories = '${sock//\'/\'\'}'"
		echo "max_connections = 200"
		if ((fast)); then
			echo "fsync = off"
			echo "synchronous_commit = off"
			echo "full_page_writes = off"
		fi
	} >"$conf"
	((EUID != 0)) || chown postgres:postgres "$conf"
}

init_cluster() {
	local fast=$1 extra=()
	[[ ! -e "$DIR/data" ]] || [[ -z "$(ls -A "$DIR/data")" ]] ||
		die "$DIR/data exists but holds no cluster (no PG_VERSION); remove it or pick another DIR"
	# Nothing to lose in a throwaway cluster, so skip initdb's fsyncs.
	((fast)) && extra+=(--no-sync)
	log "initdb $DIR/data"
	if ! as_owner "$PGBIN/initdb" -D "$DIR/data" -U postgres -A trust -E UTF8 \
		--no-locale "${extra[@]}" >"$DIR/log/initdb.log" 2>&1 9>&-; then
		cat "$DIR/log/initdb.log" >&2
		die "initdb failed"
	fi
	# Our settings live in a file of their own that start rewrites.
	echo "include_if_exists = 'pg_cluster.conf'" >>"$DIR/data/postgresql.conf"
	((EUID != 0)) || chown -R postgres:postgres "$DIR/log"
}

pg_start() {
	if ! as_owner "$PGBIN/pg_ctl" start -D "$DIR/data" -l "$DIR/log/postgresql.log" \
		-w -t 60 >&2 9>&-; then
		log "start failed; last lines of $DIR/log/postgresql.log:"
		tail -n 20 "$DIR/log/postgresql.log" >&2 || true
		return 1
	fi
}

ensure_db() {
	local port=$1
	local psql=("$PGBIN/psql" -X -w -q -h 127.0.0.1 -p "$port" -U postgres)
	if [[ -z "$("${psql[@]}" -d postgres -Atc "SELECT 1 FROM pg_catalog.pg_database WHERE datname = '$DB_NAME'")" ]]; then
		"${psql[@]}" -d postgres -c "CREATE DATABASE $DB_NAME" >&2
	fi
}

cmd_start() {
	local port='' fast=0
	while (($#)); do
		case $1 in
		--port)
			(($# >= 2)) || die "--port needs a value"
			if ! [[ "$2" =~ ^[0-9]{1,5}$ ]] || ((10#$2 < 1 || 10#$2 > 65535)); then
				die "bad port: $2"
			fi
			port=$((10#$2))
			shift 2
			;;
		--port=*)
			set -- --port "${1#--port=}" "${@:2}"
			;;
		--fast) fast=1 && shift ;;
		*) die "unknown option: $1" ;;
		esac
	done

	mkdir -p "$DIR/sock" "$DIR/log"
	touch "$DIR/$MARKER"
	lock_dir
	fix_ownership

	if is_running; then
		local cur
		cur=$(saved_port) || die "cluster in $DIR runs but $DIR/port is missing"
		[[ -z "$port" || "$port" == "$cur" ]] || log "already running on port $cur (not $port)"
		ensure_db "$cur"
		url_for "$cur"
		return 0
	fi

	has_cluster || init_cluster "$fast"

	# A port chosen here may be taken before the server binds it; then
	# choose again. A port the caller asked for gets one try.
	local tries=1 auto=0
	if [[ -z "$port" ]]; then
		auto=1
		tries=3
		if port=$(saved_port) && port_is_free "$port"; then :; else port=$(free_port); fi
	fi
	while :; do
		write_conf "$port" "$fast"
		if pg_start; then
			break
		fi
		((--tries > 0 && auto)) || die "could not start the cluster in $DIR"
		port=$(free_port)
		log "retrying on port $port"
	done
	echo "$port" >"$DIR/port"
	ensure_db "$port"
	url_for "$port"
}

cmd_stop() {
	[[ -d "$DIR" ]] || return 0
	is_running || return 0
	if ! as_owner "$PGBIN/pg_ctl" stop -D "$DIR/data" -m fast -w -t 60 >&2 9>&-; then
		log "fast stop timed out; stopping immediately"
		as_owner "$PGBIN/pg_ctl" stop -D "$DIR/data" -m immediate -w -t 60 >&2 9>&-
	fi
}

cmd_restart() {
	has_cluster || die "no cluster in $DIR (run start first)"
	local port
	port=$(saved_port) || die "no saved port in $DIR/port"
	lock_dir
	cmd_stop
	# Same settings file, so the same port and --fast choice as last start.
	pg_start || die "could not restart the cluster in $DIR"
	ensure_db "$port"
	url_for "$port"
}

cmd_destroy() {
	[[ -e "$DIR" ]] || return 0
	[[ "$DIR" != / ]] || die "refusing to destroy /"
	if [[ ! -e "$DIR/$MARKER" && -n "$(ls -A "$DIR")" ]]; then
		die "refusing to remove $DIR: not made by pg_cluster.sh (no $MARKER)"
	fi
	cmd_stop
	rm -rf -- "$DIR"
}

# Also used by the integration tests to give each partd a port.
if [[ "${1:-}" == free-port ]]; then
	free_port
	exit
fi
(($# >= 2)) || usage
cmd=$1
DIR=$(realpath -m -- "$2")
shift 2
[[ "$cmd" == start || $# -eq 0 ]] || usage
[[ -x "$PGBIN/initdb" ]] || die "PostgreSQL binaries not found in $PGBIN (run scripts/deps.sh, or set PGBIN)"

case $cmd in
start) cmd_start "$@" ;;
stop) cmd_stop ;;
restart) cmd_restart ;;
url)
	port=$(saved_port) || die "no cluster started in $DIR (no $DIR/port)"
	url_for "$port"
	;;
status) is_running || exit 1 ;;
destroy) cmd_destroy ;;
*) usage ;;
esac
