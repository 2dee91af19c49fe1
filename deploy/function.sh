# shellcheck shell=bash
# The body of deploy-storage.sh and deploy-pubsub.sh: DAG Launcher (Node.js
# 22, entry point launchDag) built from this repository by Google's Node.js
# buildpack (npm ci, npm run gcp-build), with an Eventarc trigger. Two paths
# share one option parser: --platform functions (gcloud functions deploy
# --gen2) and --platform run (Cloud Run functions: gcloud run deploy
# --function, then gcloud eventarc triggers create). Sourced after lib.sh;
# TRIGGER is "storage" or "pubsub". Over 300 lines with the help text: one
# parser and both paths side by side, so they cannot drift apart.

usage_function() {
  local what flag example
  if [[ "$TRIGGER" == storage ]]; then
    what='a file finalized in a Cloud Storage bucket'
    flag='--bucket BUCKET            the bucket whose finalized objects trigger it (required)'
    example='--bucket my-landing-bucket'
  else
    what='a message published to a Pub/Sub topic'
    flag='--topic TOPIC              topic id, or projects/PROJECT/topics/ID in --project (required; created if missing)'
    example='--topic dag-commands'
  fi
  cat <<EOF2
Usage: ${0##*/} [options]

Deploys DAG Launcher triggered by $what, running as its own service
account (see bootstrap-iam.sh); an event whose DAG run could not be created
yet is redelivered.

  --platform functions|run   functions (default): gcloud functions deploy --gen2 --retry;
                             run: a Cloud Run function (gcloud run deploy --function
                             --base-image nodejs22) and an Eventarc trigger
                             (gcloud eventarc triggers create), whose Pub/Sub
                             subscription gets the retry policy
  $flag
  --project PROJECT          Google Cloud project (default: CLOUDSDK_CORE_PROJECT or gcloud's)
  --region REGION            function region (default: us-central1)
  --name NAME                function / service name (default: dag-launcher-$TRIGGER)
  --service-account EMAIL    runtime account (default: dag-launcher@PROJECT.iam.gserviceaccount.com)
  --trigger-service-account EMAIL
                             account Eventarc invokes the function as (default: the runtime account);
                             gets roles/run.invoker on this one service
  --trigger-location LOCATION
                             Eventarc trigger location (--platform run; default: --region). A
                             Storage trigger must be in the bucket's location (us, eu, ... for
                             a multi-region bucket)
  --build-service-account EMAIL
                             account Cloud Build builds the function as (default: the
                             project's default build account; see bootstrap-iam.sh --build-service-account)
  --config PATH|gs://B/O     LAUNCHER_CONFIG: a file in the source dir (default: launcher.yaml)
                             or a Cloud Storage object re-read by generation
  --config-refresh DURATION  LAUNCHER_CONFIG_REFRESH for a gs:// config (default: 60s)
  --env KEY=VALUE            extra environment variable (repeatable), e.g. LOG_LEVEL=debug
  --env-vars-file FILE       use this YAML env-vars file instead of writing one
  --secret VAR=SECRET[:VERSION]
                             expose a Secret Manager secret as env var VAR (repeatable),
                             e.g. AIRFLOW_PASSWORD=airflow-password:latest, or another
                             project's: AIRFLOW_PASSWORD=projects/123456789/secrets/airflow-password:2
  --timeout DURATION         function timeout (default: 60s; match the config's functionTimeout)
  --concurrency N            requests per instance (default: 80)
  --cpu N                    vCPUs per instance (default: 1; concurrency > 1 needs 1 or more)
  --memory SIZE              memory per instance (default: 256Mi)
  --min-instances N          default: 0
  --max-instances N          default: 20
  --network NETWORK          Direct VPC egress (--platform run): the VPC network
  --subnet SUBNET            Direct VPC egress (--platform run): the subnet (default: same name as the network)
  --vpc-connector NAME       Serverless VPC Access connector (either platform)
  --egress-settings SETTING  private-ranges-only (default) or all: all, with Cloud NAT, gives
                             the function a fixed outbound address for allowlists
  --source DIR               source to upload (default: this repository)
  --dry-run                  print the gcloud commands instead of running them
  -h, --help                 this help

Example:
  ${0##*/} --project my-project --region europe-west1 $example \\
      --secret AIRFLOW_PASSWORD=airflow-password:latest --dry-run
EOF2
}

# Options, shared by both paths (set by parse_deploy_options).
parse_deploy_options() {
  platform=functions project='' region=us-central1 name="dag-launcher-$TRIGGER" sa='' trigger_sa=''
  trigger_location='' build_sa='' config=launcher.yaml refresh='' env_file='' timeout=60s concurrency=80
  cpu=1 memory=256Mi min_instances=0 max_instances=20 network='' subnet='' connector='' egress=''
  bucket='' topic=''
  source="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  envs=() secrets=()
  while [[ $# -gt 0 ]]; do
    case "$1" in
      -h | --help) usage_function; exit 0 ;;
      --dry-run) dry_run; shift; continue ;;
      --platform) platform="$(need_value "$@")" ;;
      --project) project="$(need_value "$@")" ;;
      --region) region="$(need_value "$@")" ;;
      --name) name="$(need_value "$@")" ;;
      --service-account) sa="$(need_value "$@")" ;;
      --trigger-service-account) trigger_sa="$(need_value "$@")" ;;
      --trigger-location) trigger_location="$(need_value "$@")" ;;
      --build-service-account) build_sa="$(need_value "$@")" ;;
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
      --network) network="$(need_value "$@")" ;;
      --subnet) subnet="$(need_value "$@")" ;;
      --vpc-connector) connector="$(need_value "$@")" ;;
      --egress-settings) egress="$(need_value "$@")" ;;
      --source) source="$(need_value "$@")" ;;
      --bucket) [[ "$TRIGGER" == storage ]] || die "--bucket is for deploy-storage.sh"; bucket="$(need_value "$@")" ;;
      --topic) [[ "$TRIGGER" == pubsub ]] || die "--topic is for deploy-pubsub.sh"; topic="$(need_value "$@")" ;;
      *) die "unknown option: $1 (see --help)" ;;
    esac
    shift 2
  done

  [[ "$platform" == functions || "$platform" == run ]] || die "--platform is functions or run, got $platform"
  [[ -n "$project" ]] || project="$(default_project)"
  [[ -n "$project" ]] || die "--project is required (or set CLOUDSDK_CORE_PROJECT)"
  if [[ "$TRIGGER" == storage ]]; then
    bucket="${bucket#gs://}"
    bucket="${bucket%/}"
    [[ -n "$bucket" ]] || die "--bucket is required"
  else
    [[ -n "$topic" ]] || die "--topic is required"
    topic="$(topic_id "$topic" "$project")"
  fi
  [[ "$concurrency" =~ ^[0-9]+$ ]] || die "--concurrency must be a number, got $concurrency"
  if ((concurrency > 1)) && [[ "$cpu" =~ ^0 ]]; then die "--concurrency $concurrency needs --cpu 1 or more (got $cpu)"; fi
  [[ "$timeout" =~ ^[0-9]+s?$ ]] || die "--timeout must be seconds like 60s, got $timeout"
  [[ "$timeout" == *s ]] || timeout="${timeout}s"
  local v s
  for v in "${envs[@]}"; do [[ "$v" =~ ^[A-Z_][A-Z0-9_]*=.*$ ]] || die "--env expects KEY=VALUE, got $v"; done
  for s in "${secrets[@]}"; do check_secret "$s"; done
  [[ -n "$sa" ]] || sa="dag-launcher@${project}.iam.gserviceaccount.com"
  [[ -n "$trigger_sa" ]] || trigger_sa="$sa"
  [[ -n "$trigger_location" ]] || trigger_location="$region"
  [[ -z "$trigger_location" || "$platform" == run || "$trigger_location" == "$region" ]] || die "--trigger-location is for --platform run"
  [[ -z "$build_sa" ]] || build_sa="$(sa_email "$build_sa" "$project")"
  case "$egress" in
    '' | private-ranges-only | all) ;;
    all-traffic) egress=all ;;
    *) die "--egress-settings is private-ranges-only or all, got $egress" ;;
  esac
  if [[ -n "$network" || -n "$subnet" ]]; then
    [[ "$platform" == run ]] || die "--network/--subnet (Direct VPC egress) need --platform run: gcloud functions deploy has only --vpc-connector"
    [[ -z "$connector" ]] || die "--network/--subnet and --vpc-connector are two ways to the VPC: choose one"
    [[ -n "$network" ]] || die "--subnet needs --network"
    [[ -n "$subnet" ]] || subnet="$network"
  fi
  [[ -z "$egress" || -n "$connector" || -n "$network" ]] || die "--egress-settings needs --vpc-connector or --network"
  if [[ "$config" != gs://* && -z "$env_file" && ! -f "$source/$config" ]]; then
    note "warning: $config is not in $source; the function will refuse to start without it"
  fi
}

deploy_function_main() {
  parse_deploy_options "$@"
  require_gcloud

  if [[ -z "$env_file" ]]; then
    env_file="${TMPDIR:-/tmp}/$name.env.yaml"
    local body v
    body="LAUNCHER_CONFIG: $(yaml_string "$config")"$'\n'
    [[ -z "$refresh" ]] || body+="LAUNCHER_CONFIG_REFRESH: $(yaml_string "$refresh")"$'\n'
    for v in "${envs[@]}"; do body+="${v%%=*}: $(yaml_string "${v#*=}")"$'\n'; done
    write_file "$env_file" "$body"
  fi
  if [[ "$timeout" != 60s ]]; then note "the config's functionTimeout should be $timeout too, so in-delivery retries stop in time"; fi

  # Flags both gcloud commands spell the same way.
  local -a common=("--project=$project" "--region=$region" "--source=$source" "--service-account=$sa"
    "--env-vars-file=$env_file")
  if ((${#secrets[@]})); then
    local joined='' one
    for one in "${secrets[@]}"; do
      [[ "$one" =~ :[A-Za-z0-9]+$ ]] || one="$one:latest"
      joined+="${joined:+,}$one"
    done
    common+=("--set-secrets=$joined")
  fi
  common+=("--timeout=$timeout" "--concurrency=$concurrency" "--cpu=$cpu" "--memory=$memory"
    "--min-instances=$min_instances" "--max-instances=$max_instances" --no-allow-unauthenticated)
  [[ -z "$build_sa" ]] || common+=("--build-service-account=projects/$project/serviceAccounts/$build_sa")

  if [[ "$platform" == functions ]]; then
    deploy_with_functions
  else
    deploy_with_run
  fi
}

deploy_with_functions() {
  local -a cmd=(gcloud functions deploy "$name" --gen2 --runtime=nodejs22 --entry-point=launchDag "${common[@]}")
  if [[ "$TRIGGER" == storage ]]; then
    cmd+=("--trigger-bucket=$bucket")
  else
    cmd+=("--trigger-topic=$topic")
  fi
  cmd+=(--retry "--trigger-service-account=$trigger_sa" --ingress-settings=internal-only)
  [[ -z "$connector" ]] || cmd+=("--vpc-connector=$connector" "--egress-settings=${egress:-private-ranges-only}")
  run "${cmd[@]}"
  invoker_on_service
  note "logs: gcloud functions logs read $name --gen2 --project=$project --region=$region"
}

deploy_with_run() {
  local vpc_egress=private-ranges-only
  [[ "$egress" != all ]] || vpc_egress=all-traffic
  local -a cmd=(gcloud run deploy "$name" --function=launchDag --base-image=nodejs22 "${common[@]}" --ingress=internal)
  if [[ -n "$network" ]]; then
    cmd+=("--network=$network" "--subnet=$subnet" "--vpc-egress=$vpc_egress")
  elif [[ -n "$connector" ]]; then
    cmd+=("--vpc-connector=$connector" "--vpc-egress=$vpc_egress")
  fi
  run "${cmd[@]}"
  invoker_on_service

  local trigger_name="$name-trigger"
  local -a create=(gcloud eventarc triggers create "$trigger_name" "--project=$project" "--location=$trigger_location"
    "--destination-run-service=$name" "--destination-run-region=$region" "--service-account=$trigger_sa")
  if [[ "$TRIGGER" == storage ]]; then
    create+=(--event-filters=type=google.cloud.storage.object.v1.finalized "--event-filters=bucket=$bucket")
  else
    exists_or gcloud pubsub topics describe "$topic" "--project=$project" -- gcloud pubsub topics create "$topic" "--project=$project"
    create+=(--event-filters=type=google.cloud.pubsub.topic.v1.messagePublished "--transport-topic=projects/$project/topics/$topic")
  fi
  exists_or gcloud eventarc triggers describe "$trigger_name" "--project=$project" "--location=$trigger_location" -- "${create[@]}"
  # Eventarc delivers through a Pub/Sub subscription it owns: an unacked
  # event (a `retry` outcome) is redelivered until its 24 h retention ends;
  # the backoff between attempts is that subscription's retry policy.
  note "retry policy: exponential backoff 10s..600s on the trigger's Pub/Sub subscription"
  lookup TRANSPORT_SUBSCRIPTION gcloud eventarc triggers describe "$trigger_name" "--project=$project" "--location=$trigger_location" '--format=value(transport.pubsub.subscription)'
  run gcloud pubsub subscriptions update "$TRANSPORT_SUBSCRIPTION" --min-retry-delay=10s --max-retry-delay=600s
  note "logs: gcloud run services logs read $name --project=$project --region=$region"
}

# The trigger account may invoke this one service, nothing else in the project.
invoker_on_service() {
  run gcloud run services add-iam-policy-binding "$name" "--project=$project" "--region=$region" \
    "--member=serviceAccount:$trigger_sa" --role=roles/run.invoker --quiet
}

# yaml_string VALUE: a double-quoted YAML scalar.
yaml_string() {
  local v="${1//\\/\\\\}"
  v="${v//\"/\\\"}"
  printf '"%s"' "$v"
}
