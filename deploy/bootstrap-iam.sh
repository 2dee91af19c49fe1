#!/usr/bin/env bash
# One-time IAM setup for DAG Launcher: the APIs, a dedicated runtime service
# account and every role the deployment needs, so the first deploy does not
# discover them one 403 at a time. Safe to run again. --help for options,
# --dry-run to print the gcloud commands instead of running them.
set -euo pipefail
here="$(dirname "${BASH_SOURCE[0]}")"
# shellcheck source=deploy/lib.sh
source "$here/lib.sh"

# The Airflow user name column (FAB ab_user.username) holds 64 characters.
AIRFLOW_USERNAME_MAX=64

usage() {
  cat <<EOF
Usage: ${0##*/} [options]

Sets up, in PROJECT:
  - the APIs: Cloud Functions, Cloud Run, Eventarc, Cloud Build, Artifact
    Registry, Pub/Sub, Cloud Storage, Secret Manager, Composer;
  - a runtime service account (default dag-launcher@PROJECT.iam.gserviceaccount.com)
    with roles/composer.user (it calls the Airflow REST API of Composer);
  - the Eventarc trigger account (default: the same account) with
    roles/run.invoker and roles/eventarc.eventReceiver;
  - the Cloud Storage service agent with roles/pubsub.publisher (Storage
    triggers publish through Pub/Sub);
  - optionally: read access to a gs:// config bucket, write access to the
    dead-letter bucket, and access to Secret Manager secrets;
  - the Composer side: Airflow's user for the account (role Op). Composer
    registers a service account on its first call with the environment's
    registration role (Op by default), except when the account's email is
    longer than $AIRFLOW_USERNAME_MAX characters: then it must be pre-registered as
    accounts.google.com:NUMERIC_ID. The script prints that command, or runs it
    with --register-airflow-user.

Options:
  --project PROJECT              Google Cloud project (default: CLOUDSDK_CORE_PROJECT or gcloud's)
  --service-account NAME|EMAIL   runtime account (default: dag-launcher); created if missing
  --trigger-service-account EMAIL
                                 Eventarc trigger account (default: the runtime account)
  --composer-environment ENV     the Composer environment the launcher triggers DAGs in
  --composer-location REGION     its region (required with --composer-environment)
  --airflow-role ROLE            Airflow role for the account (default: Op)
  --register-airflow-user        run the Airflow "users create" command instead of printing it
  --config-bucket BUCKET         grant read access for a gs:// config (roles/storage.objectViewer)
  --dead-letter-bucket BUCKET    grant roles/storage.objectCreator for dead-letter records
  --secret SECRET                grant roles/secretmanager.secretAccessor on it (repeatable)
  --legacy-pubsub-agent          grant the Pub/Sub service agent roles/iam.serviceAccountTokenCreator
                                 (projects created before 8 April 2021)
  --skip-apis                    do not enable APIs
  --dry-run                      print the gcloud commands instead of running them
  -h, --help                     this help

Example:
  ${0##*/} --project my-project --composer-environment prod --composer-location europe-west1 \\
      --dead-letter-bucket my-dead-letters --secret airflow-password --dry-run
EOF
}

project='' sa='dag-launcher' trigger_sa='' composer='' location='' role=Op register=0
config_bucket='' dl_bucket='' legacy_pubsub=0 apis=1
secrets=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --dry-run) dry_run; shift; continue ;;
    --register-airflow-user) register=1; shift; continue ;;
    --legacy-pubsub-agent) legacy_pubsub=1; shift; continue ;;
    --skip-apis) apis=0; shift; continue ;;
    --project) project="$(need_value "$@")" ;;
    --service-account) sa="$(need_value "$@")" ;;
    --trigger-service-account) trigger_sa="$(need_value "$@")" ;;
    --composer-environment) composer="$(need_value "$@")" ;;
    --composer-location) location="$(need_value "$@")" ;;
    --airflow-role) role="$(need_value "$@")" ;;
    --config-bucket) config_bucket="$(need_value "$@")" ;;
    --dead-letter-bucket) dl_bucket="$(need_value "$@")" ;;
    --secret) secrets+=("$(need_value "$@")") ;;
    *) die "unknown option: $1 (see --help)" ;;
  esac
  shift 2
done

[[ -n "$project" ]] || project="$(default_project)"
[[ -n "$project" ]] || die "--project is required (or set CLOUDSDK_CORE_PROJECT)"
[[ -z "$composer" || -n "$location" ]] || die "--composer-location is required with --composer-environment"
((!register)) || [[ -n "$composer" ]] || die "--register-airflow-user needs --composer-environment"
if [[ "$sa" == *@* ]]; then
  sa_email="$sa"
else
  [[ "$sa" =~ ^[a-z][-a-z0-9]{4,28}[a-z0-9]$ ]] || die "--service-account: an account id is 6-30 characters of a-z, 0-9 and -, got $sa"
  sa_email="$sa@$project.iam.gserviceaccount.com"
fi
[[ -n "$trigger_sa" ]] || trigger_sa="$sa_email"
require_gcloud

if ((apis)); then
  run gcloud services enable cloudfunctions.googleapis.com run.googleapis.com eventarc.googleapis.com \
    cloudbuild.googleapis.com artifactregistry.googleapis.com pubsub.googleapis.com storage.googleapis.com \
    secretmanager.googleapis.com composer.googleapis.com iamcredentials.googleapis.com "--project=$project"
fi

note "runtime service account: $sa_email"
if [[ "$sa" != *@* ]]; then
  if ((DRY_RUN)); then
    printf '%s >/dev/null 2>&1 || %s\n' \
      "$(quote gcloud iam service-accounts describe "$sa_email" "--project=$project")" \
      "$(quote gcloud iam service-accounts create "$sa" "--project=$project" --display-name="DAG Launcher (Cloud Function runtime)")"
  elif ! gcloud iam service-accounts describe "$sa_email" "--project=$project" >/dev/null 2>&1; then
    run gcloud iam service-accounts create "$sa" "--project=$project" --display-name="DAG Launcher (Cloud Function runtime)"
  fi
fi

bind_project() {
  run gcloud projects add-iam-policy-binding "$project" "--member=serviceAccount:$1" "--role=$2" --condition=None --quiet
}

bind_project "$sa_email" roles/composer.user
bind_project "$trigger_sa" roles/run.invoker
bind_project "$trigger_sa" roles/eventarc.eventReceiver
lookup GCS_SERVICE_AGENT gcloud storage service-agent "--project=$project"
bind_project "$GCS_SERVICE_AGENT" roles/pubsub.publisher
if ((legacy_pubsub)); then
  lookup PROJECT_NUMBER gcloud projects describe "$project" '--format=value(projectNumber)'
  bind_project "service-$PROJECT_NUMBER@gcp-sa-pubsub.iam.gserviceaccount.com" roles/iam.serviceAccountTokenCreator
fi
if [[ "$trigger_sa" != "$sa_email" ]]; then
  note "deploying needs iam.serviceAccountUser on $trigger_sa for whoever runs gcloud functions deploy"
fi
if [[ -n "$config_bucket" ]]; then
  run gcloud storage buckets add-iam-policy-binding "gs://${config_bucket#gs://}" "--member=serviceAccount:$sa_email" --role=roles/storage.objectViewer
fi
if [[ -n "$dl_bucket" ]]; then
  run gcloud storage buckets add-iam-policy-binding "gs://${dl_bucket#gs://}" "--member=serviceAccount:$sa_email" --role=roles/storage.objectCreator
fi
for secret in "${secrets[@]}"; do
  run gcloud secrets add-iam-policy-binding "$secret" "--project=$project" "--member=serviceAccount:$sa_email" --role=roles/secretmanager.secretAccessor
done

if [[ -n "$composer" ]]; then
  if ((${#sa_email} > AIRFLOW_USERNAME_MAX)); then
    note "$sa_email is ${#sa_email} characters, longer than Airflow's $AIRFLOW_USERNAME_MAX-character user name:"
    note "Composer cannot register it on its first call (401/403), so pre-register it as accounts.google.com:NUMERIC_ID with role $role."
    # Without --register-airflow-user the commands are printed, not run.
    saved=$DRY_RUN
    if ((!register)); then
      dry_run
      ((saved)) || note "run these (or this script with --register-airflow-user):"
    fi
    lookup NUMERIC_ID gcloud iam service-accounts describe "$sa_email" "--project=$project" '--format=value(oauth2ClientId)'
    run gcloud composer environments run "$composer" "--location=$location" "--project=$project" users create -- \
      -u "accounts.google.com:$NUMERIC_ID" -e "$sa_email" -f "${sa_email%%@*}" -l - -r "$role" --use-random-password
    DRY_RUN=$saved
  else
    note "Composer registers $sa_email in Airflow on its first call, with the environment's"
    note "[webserver] rbac_user_registration_role (Op unless changed). If that role is not $role, or the call gets 403:"
    if ((DRY_RUN)); then
      printf '# %s\n' "$(quote gcloud composer environments run "$composer" "--location=$location" "--project=$project" users add-role -- -e "$sa_email" -r "$role")"
    else
      note "  $(quote gcloud composer environments run "$composer" "--location=$location" "--project=$project" users add-role -- -e "$sa_email" -r "$role")"
    fi
  fi
fi
