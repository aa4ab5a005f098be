#!/usr/bin/env bash
# Make sure a PostgreSQL server (initdb, pg_ctl, postgres) is installed for the tests.
#
# Looks where tests/pg_server.py looks: `$PG_CONFIG --bindir` (default: pg_config), then the
# newest /usr/lib/postgresql/*/bin. Only when nothing is found does it install Debian's
# `postgresql` package with apt-get (after apt-get update; through sudo when not root).
# Idempotent and quiet: prints the folder of the server binaries on success; on failure
# prints one clear line (and the tail of apt-get's output) on stderr and exits non-zero.
#
# Environment: PG_CONFIG (pg_config to ask), POSTGRES_LIB_ROOT (default /usr/lib/postgresql).
set -euo pipefail

lib_root="${POSTGRES_LIB_ROOT:-/usr/lib/postgresql}"
pg_config="${PG_CONFIG:-pg_config}"

die() {
  printf 'ensure-postgres: %s\n' "$*" >&2
  exit 1
}

has_server() {
  [[ -x "$1/initdb" && -x "$1/pg_ctl" && -x "$1/postgres" ]]
}

find_bindir() {
  local dir
  if command -v "${pg_config}" >/dev/null 2>&1; then
    dir="$("${pg_config}" --bindir 2>/dev/null || true)"
    if [[ -n "${dir}" ]] && has_server "${dir}"; then
      printf '%s\n' "${dir}"
      return 0
    fi
  fi
  # Newest major version first.
  while IFS= read -r dir; do
    if has_server "${dir}"; then
      printf '%s\n' "${dir}"
      return 0
    fi
  done < <(compgen -G "${lib_root}/*/bin" | sort -V -r)
  return 1
}

if bindir="$(find_bindir)"; then
  printf '%s\n' "${bindir}"
  exit 0
fi

command -v apt-get >/dev/null 2>&1 ||
  die "no PostgreSQL server found and apt-get is unavailable: install PostgreSQL (initdb, pg_ctl) yourself"

as_root=()
if [[ "$(id -u)" -ne 0 ]]; then
  command -v sudo >/dev/null 2>&1 ||
    die "no PostgreSQL server found; installing it needs root (or sudo): apt-get install -y postgresql"
  as_root=(sudo --non-interactive)
fi

log="$(mktemp)"
trap 'rm -f "${log}"' EXIT

run_quietly() {
  local what="$1"
  shift
  if ! "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive "$@" >"${log}" 2>&1; then
    printf 'ensure-postgres: %s failed; last lines of its output:\n' "${what}" >&2
    tail -n 5 "${log}" | sed 's/^/  /' >&2
    exit 1
  fi
}

run_quietly "apt-get update" apt-get update -qq
run_quietly "apt-get install postgresql" apt-get install -y -qq --no-install-recommends postgresql

bindir="$(find_bindir)" ||
  die "apt-get installed postgresql, but no initdb/pg_ctl were found under ${lib_root}/*/bin"
printf '%s\n' "${bindir}"
