#!/usr/bin/env bash
# Delivers a Pub/Sub topic to a deployed DAG Launcher through a push
# subscription (README "Delivery paths"): the endpoint is the function's URL
# ending in /projects/P/topics/T, so the launcher knows the topic, and each
# push carries an OIDC token for the invoker account, which gets
# roles/run.invoker on that one service. --help for options, --dry-run to
# print the gcloud commands instead of running them.
set -euo pipefail
here="$(dirname "${BASH_SOURCE[0]}")"
# shellcheck source=deploy/lib.sh
source "$here/lib.sh"

usage() {
  cat <<EOF
Usage: ${0##*/} --topic TOPIC --service NAME [options]

Creates a push subscription from TOPIC to the deployed function SERVICE,
with an OIDC token for the invoker account and a retry policy.

  --topic TOPIC                  topic id in --topic-project, or projects/P/topics/T (required)
  --service NAME                 the deployed function / Cloud Run service (required)
  --project PROJECT              the function's project (default: CLOUDSDK_CORE_PROJECT or gcloud's)
  --region REGION                the function's region (default: us-central1)
  --topic-project PROJECT        the topic's project, when it is another one (default: --project)
  --subscription NAME            default: SERVICE-push-TOPIC
  --invoker-service-account EMAIL
                                 the push's OIDC identity, given roles/run.invoker on SERVICE
                                 (default: dag-launcher@PROJECT.iam.gserviceaccount.com)
  --ack-deadline SECONDS         default: 60 (at least the function's timeout)
  --dead-letter-topic TOPIC      forward after --max-delivery-attempts failed pushes
  --max-delivery-attempts N      default: 10 (with --dead-letter-topic)
  --dry-run                      print the gcloud commands instead of running them
  -h, --help                     this help

Example:
  ${0##*/} --project my-proj --region europe-west1 --service dag-launcher-pubsub --topic dag-commands --dry-run
EOF
}

project='' region=us-central1 topic='' topic_project='' service='' subscription='' invoker=''
ack=60 dlt='' attempts=10
while [[ $# -gt 0 ]]; do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --dry-run) dry_run; shift; continue ;;
    --project) project="$(need_value "$@")" ;;
    --region) region="$(need_value "$@")" ;;
    --topic) topic="$(need_value "$@")" ;;
    --topic-project) topic_project="$(need_value "$@")" ;;
    --service) service="$(need_value "$@")" ;;
    --subscription) subscription="$(need_value "$@")" ;;
    --invoker-service-account) invoker="$(need_value "$@")" ;;
    --ack-deadline) ack="$(need_value "$@")" ;;
    --dead-letter-topic) dlt="$(need_value "$@")" ;;
    --max-delivery-attempts) attempts="$(need_value "$@")" ;;
    *) die "unknown option: $1 (see --help)" ;;
  esac
  shift 2
done

[[ -n "$project" ]] || project="$(default_project)"
[[ -n "$project" ]] || die "--project is required (or set CLOUDSDK_CORE_PROJECT)"
[[ -n "$topic" ]] || die "--topic is required"
[[ -n "$service" ]] || die "--service is required (the deployed function's name)"
if [[ "$topic" =~ ^projects/([^/]+)/topics/ ]]; then
  [[ -z "$topic_project" || "$topic_project" == "${BASH_REMATCH[1]}" ]] || die "--topic $topic is not in --topic-project $topic_project"
  topic_project="${BASH_REMATCH[1]}"
fi
[[ -n "$topic_project" ]] || topic_project="$project"
topic="$(topic_id "$topic" "$topic_project")"
if ! [[ "$ack" =~ ^[0-9]+$ ]] || ((ack < 10 || ack > 600)); then die "--ack-deadline is 10-600 seconds, got $ack"; fi
if ! [[ "$attempts" =~ ^[0-9]+$ ]] || ((attempts < 5 || attempts > 100)); then die "--max-delivery-attempts is 5-100, got $attempts"; fi
[[ -n "$subscription" ]] || subscription="$service-push-$topic"
[[ -n "$invoker" ]] || invoker="dag-launcher@$project.iam.gserviceaccount.com"
dlt_id=''
[[ -z "$dlt" ]] || dlt_id="$(topic_id "$dlt" "$project")"
require_gcloud

lookup SERVICE_URL gcloud run services describe "$service" "--project=$project" "--region=$region" '--format=value(status.url)'
run gcloud run services add-iam-policy-binding "$service" "--project=$project" "--region=$region" \
  "--member=serviceAccount:$invoker" --role=roles/run.invoker --quiet
# The subscription lives with the function; its topic may be another
# project's. Under --dry-run SERVICE_URL is "${SERVICE_URL}", which the
# printed script expands.
cmd=(gcloud pubsub subscriptions create "$subscription" "--project=$project" "--topic=projects/$topic_project/topics/$topic"
  "--push-endpoint=$SERVICE_URL/projects/$topic_project/topics/$topic" "--push-auth-service-account=$invoker"
  "--push-auth-token-audience=$SERVICE_URL" "--ack-deadline=$ack" --min-retry-delay=10s --max-retry-delay=600s)
if [[ -n "$dlt_id" ]]; then
  cmd+=("--dead-letter-topic=projects/$project/topics/$dlt_id" "--max-delivery-attempts=$attempts")
fi
run "${cmd[@]}"
if [[ -n "$dlt_id" ]]; then
  note "dead-lettering: the Pub/Sub service agent publishes to $dlt_id and acks on $subscription"
  lookup PROJECT_NUMBER gcloud projects describe "$project" '--format=value(projectNumber)'
  agent="serviceAccount:service-$PROJECT_NUMBER@gcp-sa-pubsub.iam.gserviceaccount.com"
  run gcloud pubsub topics add-iam-policy-binding "$dlt_id" "--project=$project" "--member=$agent" --role=roles/pubsub.publisher
  run gcloud pubsub subscriptions add-iam-policy-binding "$subscription" "--project=$project" "--member=$agent" --role=roles/pubsub.subscriber
fi
