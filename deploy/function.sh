# shellcheck shell=bash
# The body of deploy-storage.sh and deploy-pubsub.sh: one gen2 Cloud Function
# (Node.js 22, entry point launchDag) with an Eventarc trigger, built from
# this repository by Google's Node.js buildpack (npm ci, npm run gcp-build).
# Sourced after lib.sh; TRIGGER is "storage" or "pubsub".

usage_function() {
  local what flag example
  if [[ "$TRIGGER" == storage ]]; then
    what='a file finalized in a Cloud Storage bucket'
    flag='--bucket BUCKET            the bucket whose finalized objects trigger it (required)'
    example='--bucket my-landing-bucket'
  else
    what='a message published to a Pub/Sub topic'
    flag='--topic TOPIC              topic id or projects/P/topics/T (required; created if missing)'
    example='--topic dag-commands'
  fi
  cat <<EOF
Usage: ${0##*/} [options]

Deploys DAG Launcher as a 2nd gen Cloud Function triggered by $what,
running as its own service account (see bootstrap-iam.sh), with --retry so
an event whose DAG run could not be created yet is redelivered.

  $flag
  --project PROJECT          Google Cloud project (default: CLOUDSDK_CORE_PROJECT or gcloud's)
  --region REGION            function region (default: us-central1)
  --name NAME                function name (default: dag-launcher-$TRIGGER)
  --service-account EMAIL    runtime account (default: dag-launcher@PROJECT.iam.gserviceaccount.com)
  --trigger-service-account EMAIL
                             account Eventarc invokes the function as (default: the runtime account)
  --config PATH|gs://B/O     LAUNCHER_CONFIG: a file in the source dir (default: launcher.yaml)
                             or a Cloud Storage object re-read by generation
  --config-refresh DURATION  LAUNCHER_CONFIG_REFRESH for a gs:// config (default: 60s)
  --env KEY=VALUE            extra environment variable (repeatable), e.g. LOG_LEVEL=debug
  --env-vars-file FILE       use this YAML env-vars file instead of writing one
  --secret VAR=SECRET[:VERSION]
                             expose a Secret Manager secret as env var VAR (repeatable),
                             e.g. AIRFLOW_PASSWORD=airflow-password:latest
  --timeout DURATION         function timeout (default: 60s; match the config's functionTimeout)
  --concurrency N            requests per instance (default: 80)
  --cpu N                    vCPUs per instance (default: 1; concurrency > 1 needs 1 or more)
  --memory SIZE              memory per instance (default: 256Mi)
  --min-instances N          default: 0
  --max-instances N          default: 20
  --vpc-connector NAME       Serverless VPC Access connector for a private-IP Airflow
  --egress-settings SETTING  private-ranges-only (default with a connector) or all
  --source DIR               source to upload (default: this repository)
  --dry-run                  print the gcloud commands instead of running them
  -h, --help                 this help

Example:
  ${0##*/} --project my-project --region europe-west1 $example \\
      --secret AIRFLOW_PASSWORD=airflow-password:latest --dry-run
EOF
}

deploy_function_main() {
  local project='' region=us-central1 name="dag-launcher-$TRIGGER" sa='' trigger_sa='' config=launcher.yaml refresh=''
  local env_file='' timeout=60s concurrency=80 cpu=1 memory=256Mi min_instances=0 max_instances=20
  local connector='' egress='' bucket='' topic=''
  local source
  source="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  local -a envs=() secrets=()
  while [[ $# -gt 0 ]]; do
    case "$1" in
      -h | --help) usage_function; exit 0 ;;
      --dry-run) dry_run; shift; continue ;;
      --project) project="$(need_value "$@")" ;;
      --region) region="$(need_value "$@")" ;;
      --name) name="$(need_value "$@")" ;;
      --service-account) sa="$(need_value "$@")" ;;
      --trigger-service-account) trigger_sa="$(need_value "$@")" ;;
      --config) config="$(need_value "$@")" ;;
      --config-refresh) refresh="$(need_value "$@")" ;;
      --env) envs+=("$(need_value "$@")") ;;
      --env-vars-file) env_file="$(need_value "$@")" ;;
      --secret) secrets+=("$(need_value "$@")") ;;
      --timeout) timeout="$(need_value "$@")" ;;
      --concurrency) concurrency="$(need_value "$@")" ;;
      --cpu) cpu="$(need_value "$@")" ;;
      --memory) memory="$(need_value "$@")" ;;
      --min-instances) min_instances="$(need_value "$@")" ;;
      --max-instances) max_instances="$(need_value "$@")" ;;
      --vpc-connector) connector="$(need_value "$@")" ;;
      --egress-settings) egress="$(need_value "$@")" ;;
      --source) source="$(need_value "$@")" ;;
      --bucket) [[ "$TRIGGER" == storage ]] || die "--bucket is for deploy-storage.sh"; bucket="$(need_value "$@")" ;;
      --topic) [[ "$TRIGGER" == pubsub ]] || die "--topic is for deploy-pubsub.sh"; topic="$(need_value "$@")" ;;
      *) die "unknown option: $1 (see --help)" ;;
    esac
    shift 2
  done

  [[ -n "$project" ]] || project="$(default_project)"
  [[ -n "$project" ]] || die "--project is required (or set CLOUDSDK_CORE_PROJECT)"
  if [[ "$TRIGGER" == storage ]]; then
    bucket="${bucket#gs://}"
    bucket="${bucket%/}"
    [[ -n "$bucket" ]] || die "--bucket is required"
  else
    [[ -n "$topic" ]] || die "--topic is required"
  fi
  [[ "$concurrency" =~ ^[0-9]+$ ]] || die "--concurrency must be a number, got $concurrency"
  if ((concurrency > 1)) && [[ "$cpu" =~ ^0 ]]; then die "--concurrency $concurrency needs --cpu 1 or more (got $cpu)"; fi
  [[ "$timeout" =~ ^[0-9]+s?$ ]] || die "--timeout must be seconds like 60s, got $timeout"
  [[ "$timeout" == *s ]] || timeout="${timeout}s"
  local v s
  for v in "${envs[@]}"; do [[ "$v" =~ ^[A-Z_][A-Z0-9_]*=.*$ ]] || die "--env expects KEY=VALUE, got $v"; done
  for s in "${secrets[@]}"; do [[ "$s" =~ ^[A-Z_][A-Z0-9_]*=[A-Za-z0-9_-]+(:[A-Za-z0-9]+)?$ ]] || die "--secret expects VAR=SECRET[:VERSION], got $s"; done
  [[ -n "$sa" ]] || sa="dag-launcher@${project}.iam.gserviceaccount.com"
  [[ -n "$trigger_sa" ]] || trigger_sa="$sa"
  if [[ "$config" != gs://* && -z "$env_file" && ! -f "$source/$config" ]]; then
    note "warning: $config is not in $source; the function will refuse to start without it"
  fi
  require_gcloud

  if [[ -z "$env_file" ]]; then
    env_file="${TMPDIR:-/tmp}/$name.env.yaml"
    local body
    body="LAUNCHER_CONFIG: $(yaml_string "$config")"$'\n'
    [[ -z "$refresh" ]] || body+="LAUNCHER_CONFIG_REFRESH: $(yaml_string "$refresh")"$'\n'
    for v in "${envs[@]}"; do body+="${v%%=*}: $(yaml_string "${v#*=}")"$'\n'; done
    write_file "$env_file" "$body"
  fi
  if [[ "$timeout" != 60s ]]; then note "the config's functionTimeout should be $timeout too, so in-delivery retries stop in time"; fi

  local -a cmd=(gcloud functions deploy "$name" --gen2 "--project=$project" "--region=$region" --runtime=nodejs22
    "--source=$source" --entry-point=launchDag)
  if [[ "$TRIGGER" == storage ]]; then
    cmd+=("--trigger-bucket=$bucket")
  else
    cmd+=("--trigger-topic=$topic")
  fi
  cmd+=(--retry "--service-account=$sa" "--trigger-service-account=$trigger_sa" "--env-vars-file=$env_file")
  if ((${#secrets[@]})); then
    local joined='' one
    for one in "${secrets[@]}"; do
      [[ "$one" == *:* ]] || one="$one:latest"
      joined+="${joined:+,}$one"
    done
    cmd+=("--set-secrets=$joined")
  fi
  cmd+=("--timeout=$timeout" "--concurrency=$concurrency" "--cpu=$cpu" "--memory=$memory"
    "--min-instances=$min_instances" "--max-instances=$max_instances" --ingress-settings=internal-only --no-allow-unauthenticated)
  if [[ -n "$connector" ]]; then
    cmd+=("--vpc-connector=$connector" "--egress-settings=${egress:-private-ranges-only}")
  elif [[ -n "$egress" ]]; then
    die "--egress-settings needs --vpc-connector"
  fi
  run "${cmd[@]}"
  note "logs: gcloud functions logs read $name --gen2 --project=$project --region=$region"
}

# yaml_string VALUE: a double-quoted YAML scalar.
yaml_string() {
  local v="${1//\\/\\\\}"
  v="${v//\"/\\\"}"
  printf '"%s"' "$v"
}
