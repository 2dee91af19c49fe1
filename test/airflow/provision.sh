#!/usr/bin/env bash
# Provision the real Apache Airflow servers the integration tests run against:
# one virtualenv per Airflow generation, from PyPI, in a cache directory outside
# the clone so CI and later runs reuse them. Idempotent: a venv whose marker
# matches the wanted version is left alone and nothing is installed.
#
#   test/airflow/provision.sh            # both (2.x and 3.x)
#   test/airflow/provision.sh 3          # only Airflow 3
#
# Env: DAG_LAUNCHER_CACHE (default ~/.cache/dag-launcher), PYTHON (default python3),
#      AIRFLOW2_VERSION / AIRFLOW3_VERSION to pin other releases.
set -euo pipefail

cache="${DAG_LAUNCHER_CACHE:-$HOME/.cache/dag-launcher}"
python="${PYTHON:-python3}"
airflow2="${AIRFLOW2_VERSION:-2.11.2}"
airflow3="${AIRFLOW3_VERSION:-3.3.2}"

provision() {
  local major="$1" version="$2"
  local venv="$cache/airflow-$major"
  local marker="$venv/.dag-launcher-provisioned"
  if [[ -f "$marker" && "$(cat "$marker")" == "$version" && -x "$venv/bin/airflow" ]]; then
    echo "airflow $major: $version already provisioned in $venv"
    return 0
  fi
  echo "airflow $major: installing apache-airflow==$version into $venv (first run only)"
  rm -rf "$venv"
  mkdir -p "$cache"
  "$python" -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check --upgrade pip setuptools wheel
  "$venv/bin/pip" install --quiet --disable-pip-version-check "apache-airflow==$version"
  # The installed version must be what we asked for, and importable.
  local got
  got="$(AIRFLOW_HOME="$(mktemp -d)" "$venv/bin/python" -c 'import airflow; print(airflow.__version__)' 2>/dev/null | tail -n 1)"
  if [[ "$got" != "$version" ]]; then
    echo "airflow $major: expected $version, venv imports '$got'" >&2
    exit 1
  fi
  echo "$version" > "$marker"
  echo "airflow $major: $version ready"
}

want="${1:-all}"
if [[ "$want" == "all" || "$want" == "2" ]]; then provision 2 "$airflow2"; fi
if [[ "$want" == "all" || "$want" == "3" ]]; then provision 3 "$airflow3"; fi
