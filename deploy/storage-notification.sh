#!/usr/bin/env bash
# Sends a bucket's object changes to a Pub/Sub topic as Cloud Storage
# notifications (README "Delivery paths"), for DAG Launcher to read as
# Storage events. Then deliver the topic to the function with
# push-subscription.sh (or deploy-pubsub.sh for an Eventarc trigger).
# --help for options, --dry-run to print the gcloud commands instead.
set -euo pipefail
here="$(dirname "${BASH_SOURCE[0]}")"
# shellcheck source=deploy/lib.sh
source "$here/lib.sh"

usage() {
  cat <<EOF
Usage: ${0##*/} --bucket BUCKET --topic TOPIC [options]

Creates the topic if missing, lets the bucket's Cloud Storage service agent
publish to that one topic, and adds the notification.

  --bucket BUCKET                the bucket (gs:// optional; required)
  --topic TOPIC                  topic id, or projects/PROJECT/topics/ID in --project (required)
  --project PROJECT              the topic's project (default: CLOUDSDK_CORE_PROJECT or gcloud's)
  --object-prefix PREFIX         only objects whose names start with PREFIX, e.g. incoming/
  --event-types TYPES            comma-separated: OBJECT_FINALIZE (default), OBJECT_DELETE,
                                 OBJECT_ARCHIVE, OBJECT_METADATA_UPDATE
  --payload-format json|none     default: json (the object's metadata in the message)
  --push-to SERVICE              also run push-subscription.sh for the deployed SERVICE
  --region REGION                SERVICE's region (with --push-to; default: us-central1)
  --dry-run                      print the gcloud commands instead of running them
  -h, --help                     this help

Example:
  ${0##*/} --project my-proj --bucket acme-landing --topic acme-landing-files \\
      --object-prefix incoming/ --push-to dag-launcher-pubsub --dry-run
EOF
}

project='' bucket='' topic='' prefix='' types=OBJECT_FINALIZE payload=json push_to='' region=us-central1
while [[ $# -gt 0 ]]; do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --dry-run) dry_run; shift; continue ;;
    --project) project="$(need_value "$@")" ;;
    --bucket) bucket="$(need_value "$@")" ;;
    --topic) topic="$(need_value "$@")" ;;
    --object-prefix) prefix="$(need_value "$@")" ;;
    --event-types) types="$(need_value "$@")" ;;
    --payload-format) payload="$(need_value "$@")" ;;
    --push-to) push_to="$(need_value "$@")" ;;
    --region) region="$(need_value "$@")" ;;
    *) die "unknown option: $1 (see --help)" ;;
  esac
  shift 2
done

[[ -n "$project" ]] || project="$(default_project)"
[[ -n "$project" ]] || die "--project is required (or set CLOUDSDK_CORE_PROJECT)"
bucket="${bucket#gs://}"
bucket="${bucket%/}"
[[ -n "$bucket" ]] || die "--bucket is required"
[[ -n "$topic" ]] || die "--topic is required"
topic="$(topic_id "$topic" "$project")"
[[ "$types" =~ ^(OBJECT_FINALIZE|OBJECT_DELETE|OBJECT_ARCHIVE|OBJECT_METADATA_UPDATE)(,(OBJECT_FINALIZE|OBJECT_DELETE|OBJECT_ARCHIVE|OBJECT_METADATA_UPDATE))*$ ]] ||
  die "--event-types is a comma-separated list of OBJECT_FINALIZE, OBJECT_DELETE, OBJECT_ARCHIVE, OBJECT_METADATA_UPDATE, got $types"
[[ "$payload" == json || "$payload" == none ]] || die "--payload-format is json or none, got $payload"
require_gcloud

exists_or gcloud pubsub topics describe "$topic" "--project=$project" -- gcloud pubsub topics create "$topic" "--project=$project"
# The agent of the bucket's project publishes; granted on this topic only.
lookup GCS_SERVICE_AGENT gcloud storage service-agent "--project=$project"
run gcloud pubsub topics add-iam-policy-binding "$topic" "--project=$project" "--member=serviceAccount:$GCS_SERVICE_AGENT" --role=roles/pubsub.publisher
cmd=(gcloud storage buckets notifications create "gs://$bucket" "--project=$project" "--topic=projects/$project/topics/$topic"
  "--event-types=$types" "--payload-format=$payload")
[[ -z "$prefix" ]] || cmd+=("--object-prefix=$prefix")
run "${cmd[@]}"
if [[ "$types" != OBJECT_FINALIZE ]]; then
  note "events other than OBJECT_FINALIZE reach only routes whose match.type names them (README \"Events accepted\")"
fi
if [[ -n "$push_to" ]]; then
  args=(--project "$project" --region "$region" --service "$push_to" --topic "$topic")
  ((!DRY_RUN)) || args+=(--dry-run)
  bash "$here/push-subscription.sh" "${args[@]}"
else
  note "next: deploy/push-subscription.sh --project $project --topic $topic --service FUNCTION"
fi
