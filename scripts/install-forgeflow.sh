#!/usr/bin/env bash
# Install Forgeflow from its own copy into a virtual environment (used by action-run.sh
# and benchmarks/bench_install.py).
#
#   install-forgeflow.sh key SRC VENV EXTRAS [PACKAGE...]      print the cache key
#   install-forgeflow.sh install SRC VENV EXTRAS [PACKAGE...]  install unless VENV is current
#
# SRC is Forgeflow's own copy; EXTRAS the optional groups a job uses, comma-separated
# (github, model, postgres, iac, otel; empty: the core only); PACKAGEs third-party agent packages
# (requirement specifiers, checked by the caller). With uv (the default) the environment
# holds exactly the versions of SRC/scripts/locks/ (core.txt plus one file per extra, hashes
# checked), so it can be cached (actions/cache) under a key of the Python version, the
# locks, the extras and the packages: a warm job restores it and installs nothing. With
# FORGEFLOW_INSTALLER=pip (offline test runs) pip installs requirements.txt as before and
# the job's own Python packages stay visible. Prints "installed" or "current" on stdout.
set -euo pipefail

UV_VERSION=0.13.9

die() { printf '::error::%s\n' "$*"; exit 2; }

mode=${1:-}
src=${2:-}
venv=${3:-}
extras=${4:-}
shift 4 || die "usage: install-forgeflow.sh key|install SRC VENV EXTRAS [PACKAGE...]"
packages=("$@")
installer=${FORGEFLOW_INSTALLER:-uv}
[[ $installer == uv || $installer == pip ]] || die "FORGEFLOW_INSTALLER must be uv or pip, not '${installer}'"

locks=("$src/scripts/locks/core.txt")
for extra in ${extras//,/ }; do
  [[ $extra =~ ^(github|model|postgres|iac|otel)$ ]] ||
    die "input extras: '${extra}' is not one of github, model, postgres, iac, otel"
  locks+=("$src/scripts/locks/${extra}.txt")
done
for lock in "${locks[@]}"; do [[ -f $lock ]] || die "Forgeflow's lock file ${lock} is missing"; done

python_id=$(python3 -c 'import platform, sys; print(f"{platform.python_version()}-{sys.implementation.cache_tag}-{platform.machine()}")')
digest=$(
  {
    printf '%s\n' "$installer" "$UV_VERSION" "$python_id" "${extras}" "${packages[@]:-}"
    [[ $installer == pip ]] && printf '%s\n' "$src" && cat "$src/requirements.txt"
    cat "${locks[@]}"
  } | sha256sum | cut -c1-24
)
key="forgeflow-venv-$(uname -s)-${python_id}-${digest}"

if [[ $mode == key ]]; then
  printf '%s\n' "$key"
  exit 0
fi
[[ $mode == install ]] || die "usage: install-forgeflow.sh key|install SRC VENV EXTRAS [PACKAGE...]"

# The checkout itself goes on the environment's path (no build step); rewritten on every
# use, since a restored environment may come from another copy of the same locks.
link_checkout() {
  local site
  site=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
  (cd "$src" && pwd -P) >"$site/forgeflow-action.pth"
}

if [[ -f $venv/forgeflow-stamp && $(<"$venv/forgeflow-stamp") == "$key" && -x $venv/bin/python ]]; then
  link_checkout
  echo current
  exit 0
fi
rm -rf "$venv"

if [[ $installer == pip ]]; then
  python3 -m venv "$venv" || die "could not create a virtual environment in ${venv}"
  site=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
  # Packages the job's Python already has stay visible (pip does not fetch them again):
  # its site folders go on the environment's path, after the environment's own.
  python3 -c 'import site; print("\n".join(site.getsitepackages()))' >"$site/forgeflow-base.pth"
  pip=("$venv/bin/python" -m pip install --disable-pip-version-check --quiet)
  "${pip[@]}" -r "$src/requirements.txt" >&2 || die "installing Forgeflow's requirements failed"
  if ((${#packages[@]})); then
    "${pip[@]}" "${packages[@]}" >&2 || die "installing extra-packages failed: ${packages[*]}"
  fi
else
  # uv itself: the one on PATH when it is this version, else pip-installed next to the
  # environment.
  uv=$(command -v uv || true)
  if [[ -z $uv || $("$uv" --version 2>/dev/null) != "uv ${UV_VERSION}"* ]]; then
    tools="${venv}-uv"
    if [[ ! -x $tools/bin/uv ]]; then
      python3 -m pip install --disable-pip-version-check --quiet --target "$tools" "uv==${UV_VERSION}" >&2 ||
        die "installing uv ${UV_VERSION} failed"
    fi
    uv=$tools/bin/uv
  fi
  "$uv" venv --quiet --python "$(command -v python3)" "$venv" >&2 ||
    die "could not create a virtual environment in ${venv}"
  args=()
  for lock in "${locks[@]}"; do args+=(-r "$lock"); done
  "$uv" pip install --quiet --python "$venv/bin/python" --require-hashes "${args[@]}" >&2 ||
    die "installing Forgeflow's locked requirements failed"
  if ((${#packages[@]})); then
    "$uv" pip install --quiet --python "$venv/bin/python" "${packages[@]}" >&2 ||
      die "installing extra-packages failed: ${packages[*]}"
  fi
fi
link_checkout
printf '%s' "$key" >"$venv/forgeflow-stamp"
echo installed
