#!/usr/bin/env bash
# Provision the real servers the integration tests run against, in a cache
# directory outside the clone so CI and later runs reuse them:
#   - one virtualenv per Airflow generation, from PyPI, with psycopg2 for its
#     PostgreSQL metadata database;
#   - PostgreSQL itself (Debian's package), only if it is not installed;
#   - fake-gcs-server, the Cloud Storage emulator, from the Go module proxy;
#   - shellcheck (Debian's package), which the deploy/ script tests run;
#   - checked, not installed: the Pub/Sub emulator of the Google Cloud CLI
#     (the real-delivery tests and the demo), with how to install it.
# Idempotent: whatever already matches its marker/version is left alone and
# nothing is installed.
#
#   test/airflow/provision.sh            # everything
#   test/airflow/provision.sh 3          # only Airflow 3 (plus PostgreSQL)
#   test/airflow/provision.sh gcs        # only the Cloud Storage emulator
#   test/airflow/provision.sh tools      # only shellcheck
#   test/airflow/provision.sh pubsub     # only check the Pub/Sub emulator
#
# Env: DAG_LAUNCHER_CACHE (default ~/.cache/dag-launcher), PYTHON (default python3),
#      AIRFLOW2_VERSION / AIRFLOW3_VERSION to pin other releases,
#      FAKE_GCS_VERSION (default v1.56.1).
set -euo pipefail

cache="${DAG_LAUNCHER_CACHE:-$HOME/.cache/dag-launcher}"
python="${PYTHON:-python3}"
airflow2="${AIRFLOW2_VERSION:-2.11.2}"
airflow3="${AIRFLOW3_VERSION:-3.3.2}"
# PostgreSQL drivers: psycopg2 for both; Airflow 3 also opens async sessions (asyncpg).
drivers2="psycopg2-binary==2.9.13"
drivers3="psycopg2-binary==2.9.13 asyncpg==0.32.0"
fake_gcs="${FAKE_GCS_VERSION:-v1.56.1}"

provision() {
  local major="$1" version="$2"
  local venv="$cache/airflow-$major"
  local marker="$venv/.dag-launcher-provisioned"
  local drivers
  if [[ "$major" == 3 ]]; then drivers="$drivers3"; else drivers="$drivers2"; fi
  local want="$version $drivers"
  if [[ -f "$marker" && "$(cat "$marker")" == "$want" && -x "$venv/bin/airflow" ]]; then
    echo "airflow $major: $version already provisioned in $venv"
    return 0
  fi
  if [[ -f "$marker" && "$(cut -d' ' -f1 "$marker")" == "$version" && -x "$venv/bin/airflow" ]]; then
    # Airflow itself is there; bring only the database drivers up to date.
    # shellcheck disable=SC2086 # a list of requirement specifiers
    "$venv/bin/pip" install --quiet --disable-pip-version-check $drivers
    echo "$want" > "$marker"
    echo "airflow $major: $version provisioned, added $drivers"
    return 0
  fi
  echo "airflow $major: installing apache-airflow==$version into $venv (first run only)"
  rm -rf "$venv"
  mkdir -p "$cache"
  "$python" -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check --upgrade pip setuptools wheel
  # shellcheck disable=SC2086 # a list of requirement specifiers
  "$venv/bin/pip" install --quiet --disable-pip-version-check "apache-airflow==$version" $drivers
  # The installed version must be what we asked for, and importable.
  local got
  got="$(AIRFLOW_HOME="$(mktemp -d)" "$venv/bin/python" -c 'import airflow; print(airflow.__version__)' 2>/dev/null | tail -n 1)"
  if [[ "$got" != "$version" ]]; then
    echo "airflow $major: expected $version, venv imports '$got'" >&2
    exit 1
  fi
  echo "$want" > "$marker"
  echo "airflow $major: $version ready"
}

postgres() {
  if compgen -G "/usr/lib/postgresql/*/bin/initdb" > /dev/null; then
    echo "postgresql: $(compgen -G "/usr/lib/postgresql/*/bin/initdb" | head -n 1 | xargs dirname) already installed"
    return 0
  fi
  echo "postgresql: installing Debian's postgresql package (first run only)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends postgresql > /dev/null
  # The package starts a system cluster; the tests run their own, so stop it.
  if command -v pg_ctlcluster > /dev/null; then pg_lsclusters -h 2>/dev/null | while read -r ver name _; do pg_ctlcluster "$ver" "$name" stop || true; done; fi
}

fake_gcs_server() {
  local bin="$cache/bin/fake-gcs-server"
  local marker="$cache/bin/.fake-gcs-server-version"
  if [[ -x "$bin" && -f "$marker" && "$(cat "$marker")" == "$fake_gcs" ]]; then
    echo "fake-gcs-server: $fake_gcs already provisioned in $cache/bin"
    return 0
  fi
  echo "fake-gcs-server: installing github.com/fsouza/fake-gcs-server@$fake_gcs from the Go module proxy (first run only)"
  mkdir -p "$cache/bin"
  GOBIN="$cache/bin" GOFLAGS=-mod=mod go install "github.com/fsouza/fake-gcs-server@$fake_gcs"
  echo "$fake_gcs" > "$marker"
}

shellcheck_tool() {
  if command -v shellcheck > /dev/null; then
    echo "shellcheck: $(shellcheck --version | sed -n 's/^version: //p') already installed"
    return 0
  fi
  echo "shellcheck: installing Debian's shellcheck package (first run only)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends shellcheck > /dev/null
}

# The Google Cloud CLI's Pub/Sub emulator (Java). Not installed from here: it
# comes with the CLI, as a gcloud component or a Debian package.
pubsub_emulator() {
  if command -v gcloud > /dev/null && CLOUDSDK_CORE_DISABLE_PROMPTS=1 gcloud beta emulators pubsub --help > /dev/null 2>&1 && command -v java > /dev/null; then
    echo "pubsub emulator: gcloud $(gcloud version 2>/dev/null | sed -n 's/^Google Cloud SDK //p') with its Pub/Sub emulator and Java already installed"
    return 0
  fi
  cat >&2 <<'MSG'
pubsub emulator: missing. The real-delivery tests (test/airflow/delivery.test.ts) and
`npm run demo` need the Google Cloud CLI's Pub/Sub emulator and a Java runtime (11+):
  apt:    sudo apt-get install google-cloud-cli google-cloud-cli-pubsub-emulator default-jre-headless
          (from Google's apt repository, https://cloud.google.com/sdk/docs/install#deb)
  gcloud: gcloud components install pubsub-emulator beta
MSG
  return 1
}

want="${1:-all}"
case "$want" in
  all | 2 | 3 | gcs | tools | pubsub) ;;
  *) echo "usage: ${0##*/} [all|2|3|gcs|tools|pubsub]" >&2; exit 2 ;;
esac
if [[ "$want" == "all" || "$want" == "2" || "$want" == "3" ]]; then postgres; fi
if [[ "$want" == "all" || "$want" == "2" ]]; then provision 2 "$airflow2"; fi
if [[ "$want" == "all" || "$want" == "3" ]]; then provision 3 "$airflow3"; fi
if [[ "$want" == "all" || "$want" == "gcs" ]]; then fake_gcs_server; fi
if [[ "$want" == "all" || "$want" == "tools" ]]; then shellcheck_tool; fi
if [[ "$want" == "all" || "$want" == "pubsub" ]]; then pubsub_emulator; fi
