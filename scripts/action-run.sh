#!/usr/bin/env bash
# The composite action's script (action.yml): install Forgeflow from the action's own
# checkout into a virtual environment (scripts/install-forgeflow.sh: uv and Forgeflow's
# locks, only the extras asked for, cached by actions/cache under the key that
# `action-run.sh --cache-key` gives), then run one agent on one input artifact.
#
# Every input arrives through the environment (FORGEFLOW_INPUT_*), is checked here before
# use, and is only ever passed to commands as a quoted argument.
set -euo pipefail

# --- helpers -----------------------------------------------------------------------------

# Escape a message for a workflow command (% CR LF, as the runner expects).
escape() {
  local s=${1//'%'/'%25'}
  s=${s//$'\r'/'%0D'}
  printf '%s' "${s//$'\n'/'%0A'}"
}
err() { printf '::error::%s\n' "$(escape "$*")"; }
die() { err "$*"; exit 2; }
# output NAME VALUE: one line to $GITHUB_OUTPUT (values here never hold a newline).
output() {
  case $2 in *$'\n'* | *$'\r'*) die "output $1 would hold a line break" ;; esac
  printf '%s=%s\n' "$1" "$2" >>"${GITHUB_OUTPUT:-/dev/null}"
}
summary() { printf '%s\n' "$@" >>"${GITHUB_STEP_SUMMARY:-/dev/null}"; }
# Markdown-safe table cell: no pipes, backticks or line breaks.
cell() {
  local s=${1//'|'/'\|'}
  s=${s//'`'/"'"}
  printf '%s' "${s//$'\n'/ }"
}

# --- inputs ------------------------------------------------------------------------------

src=${FORGEFLOW_ACTION_PATH:-}
agent=${FORGEFLOW_INPUT_AGENT:-}
input=${FORGEFLOW_INPUT_INPUT:-}
out=${FORGEFLOW_INPUT_OUTPUT:-}
settings=${FORGEFLOW_INPUT_SETTINGS:-}
extra=${FORGEFLOW_INPUT_EXTRA_PACKAGES:-}
extras=${FORGEFLOW_INPUT_EXTRAS:-}
run_id=${FORGEFLOW_INPUT_RUN_ID:-}
correlation_id=${FORGEFLOW_INPUT_CORRELATION_ID:-}
traceparent=${FORGEFLOW_INPUT_TRACEPARENT:-}

[[ -z $extras || $extras =~ ^(github|model|postgres|iac|otel)(,(github|model|postgres|iac|otel))*$ ]] ||
  die "input extras: '${extras}' is not a comma-separated list of github, model, postgres, iac, otel"
[[ -n $src && -f $src/requirements.txt && -d $src/agents ]] ||
  die "the action's own checkout (github.action_path) was not found: '${src}'"
[[ -z $agent || $agent =~ ^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$ ]] ||
  die "input agent: '${agent}' is not an agent name (letters, digits, _ . -)"
id_re='^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$'
[[ -z $run_id || $run_id =~ $id_re ]] || die "input run-id: '${run_id}' is not a valid id"
[[ -z $correlation_id || $correlation_id =~ $id_re ]] ||
  die "input correlation-id: '${correlation_id}' is not a valid id"
traceparent_re='^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$'
[[ -z $traceparent || $traceparent =~ $traceparent_re ]] ||
  die "input traceparent: '${traceparent}' is not a W3C traceparent (00-TRACEID-SPANID-FLAGS)"

# extra-packages: pip requirement specifiers only (name, extras, version constraints);
# no options, URLs or paths, so an input cannot redirect pip.
req_re='^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?(\[[A-Za-z0-9._,-]+\])?((==|!=|<=|>=|~=|<|>)[A-Za-z0-9.*+!]+(,(==|!=|<=|>=|~=|<|>)[A-Za-z0-9.*+!]+)*)?$'
packages=()
for spec in $extra; do
  [[ $spec =~ $req_re ]] ||
    die "input extra-packages: '${spec}' is not a pip requirement specifier (e.g. my-agents==1.2)"
  packages+=("$spec")
done

set_args=()
while IFS= read -r line; do
  line=${line%$'\r'}
  [[ -z ${line//[[:space:]]/} ]] && continue
  [[ $line =~ ^([A-Za-z0-9_-]+\.)?[A-Za-z0-9_-]+=.*$ ]] ||
    die "input settings: '${line}' is not KEY=VALUE or AGENT.KEY=VALUE (one a line)"
  key=${line%%=*}
  if [[ $key == *.* ]]; then
    # AGENT.KEY=VALUE: for that agent only (so one list can serve every leg of a fan-out)
    [[ ${key%%.*} == "$agent" ]] || continue
    line=${line#*.}
  fi
  set_args+=(--set "$line")
done <<<"$settings"

if [[ -n $agent ]]; then
  [[ -n $input ]] || die "input input: required when agent is set"
  [[ -f $input ]] || die "input input: '${input}' is not a file"
  out=${out:-forgeflow-artifacts/${agent}.json}
  [[ $out != *$'\n'* && ! -d $out ]] || die "input output: '${out}' must be a file path"
fi

# --- install -----------------------------------------------------------------------------

# Tracing on (OTEL_TRACES_EXPORTER in the job's environment): the otel extra as well.
tracing=""
case ",${OTEL_TRACES_EXPORTER:-}," in
  ,, | ,none,) ;;
  *) tracing=otel ;;
esac
[[ -n $tracing && ,$extras, != *,otel,* ]] && extras=${extras:+$extras,}otel

venv=${RUNNER_TEMP:-/tmp}/forgeflow-venv
install=(bash "$src/scripts/install-forgeflow.sh")
if [[ ${1:-} == --cache-key ]]; then
  # The key the action's actions/cache steps use; none with pip (offline test runs).
  key=""
  if [[ ${FORGEFLOW_INSTALLER:-uv} != pip ]]; then
    key=$("${install[@]}" key "$src" "$venv" "$extras" "${packages[@]}") || exit 2
  fi
  current=false
  [[ -n $key && -f $venv/forgeflow-stamp && $(<"$venv/forgeflow-stamp") == "$key" ]] && current=true
  output key "$key"
  output path "$venv"
  output current "$current"
  exit 0
fi
state=$("${install[@]}" install "$src" "$venv" "$extras" "${packages[@]}") || exit 2
output installed "$([[ $state == installed ]] && echo true || echo false)"
python=$venv/bin/python
# -P: the current folder (the caller's workspace, which may hold packages of its own named
# agents or orchestration) never goes on the path; Forgeflow comes from its own copy only.
"$python" -P -c 'import agents.run, orchestration.cli' || die "Forgeflow does not import from ${src}"
# Later steps get the interpreter and Forgeflow's own folder as outputs; the caller's PATH
# is left as it was.
output python "$python"
output forgeflow-path "$(cd "$src" && pwd -P)"

if [[ -z $agent ]]; then
  echo "Forgeflow installed in ${venv}; later steps run it with ${python} -P -m agents.run"
  exit 0
fi

# --- run ---------------------------------------------------------------------------------

args=("$agent" "$input" -o "$out" "${set_args[@]}")
[[ -n $run_id ]] && args+=(--run-id "$run_id")
[[ -n $correlation_id ]] && args+=(--correlation-id "$correlation_id")
mkdir -p "$(dirname -- "$out")"
set +e
# The model endpoint (optional) reaches only the agent process; the key is never echoed.
FORGEFLOW_MODEL_BASE_URL=${FORGEFLOW_INPUT_MODEL_BASE_URL:-} \
FORGEFLOW_MODEL=${FORGEFLOW_INPUT_MODEL:-} \
FORGEFLOW_MODEL_API_VERSION=${FORGEFLOW_INPUT_MODEL_API_VERSION:-} \
FORGEFLOW_MODEL_API_KEY=${FORGEFLOW_INPUT_MODEL_API_KEY:-} \
TRACEPARENT=${traceparent:-${TRACEPARENT:-}} \
  "$python" -P -m agents.run "${args[@]}"
code=$?
set -e
case $code in
  0) status=succeeded ;;
  1) status=failed ;;
  *)
    summary "### Forgeflow \`$(cell "$agent")\`" "" "Bad input (exit ${code}); see the log." ""
    output status error
    die "agent ${agent}: bad input or usage (exit ${code}); nothing was written"
    ;;
esac

path=$(cd "$(dirname -- "$out")" && pwd -P)/$(basename -- "$out")
{
  read -r confidence
  read -r trace_out
} < <("$python" -P -c '
import json, sys
doc = json.load(open(sys.argv[1], encoding="utf-8"))
print((doc.get("data") or {}).get("confidence", ""))
print(doc.get("traceparent") or "")' "$path")
[[ $trace_out =~ $traceparent_re ]] || trace_out=""
output artifact-path "$path"
output status "$status"
output confidence "$confidence"
output traceparent "$trace_out"
summary "### Forgeflow \`$(cell "$agent")\`" "" \
  "| status | confidence | artifact |" "|---|---|---|" \
  "| ${status} | ${confidence:-–} | \`$(cell "$out")\` |" ""
if [[ $status == failed ]]; then
  err "agent ${agent} failed; its artifact ${out} records the error"
  exit 1
fi
