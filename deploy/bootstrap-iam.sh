#!/usr/bin/env bash
# One-time IAM setup for DAG Launcher: the APIs, dedicated runtime and build
# service accounts and the least roles the deployment needs, so the first
# deploy does not discover them one 403 at a time. Safe to run again.
# --help for options, --dry-run to print the gcloud commands instead.
# Over 300 lines: the Airflow user step differs by Airflow version, and the
# help text documents each case.
set -euo pipefail
here="$(dirname "${BASH_SOURCE[0]}")"
# shellcheck source=deploy/lib.sh
source "$here/lib.sh"

# Before Airflow 2.3.0, FAB's ab_user.username and email columns hold 64
# characters (2.3.0's migration widened them to 256).
AIRFLOW_USERNAME_MAX=64
# The custom role for `api: composer-cli`: executeAirflowCommand authorizes
# executeAirflowCommand, pollAirflowCommand and stopAirflowCommand; get reads
# the environment. No predefined role below composer.admin holds it.
COMPOSER_CLI_ROLE_ID=dagLauncherComposerCli
COMPOSER_CLI_PERMISSIONS=composer.environments.executeAirflowCommand,composer.environments.get

usage() {
  cat <<EOF
Usage: ${0##*/} [options]

Sets up, in PROJECT:
  - the APIs: Cloud Functions, Cloud Run, Eventarc, Cloud Build, Artifact
    Registry, Pub/Sub, Cloud Storage, Secret Manager, Composer, IAM;
  - a runtime service account (default dag-launcher@PROJECT.iam.gserviceaccount.com)
    with roles/composer.user (it calls the Airflow REST API of Composer), or
    with --composer-cli a custom role holding only
    composer.environments.executeAirflowCommand and .get (api: composer-cli);
  - a build service account (default dag-launcher-build@PROJECT...) for
    --build-service-account, with roles/logging.logWriter,
    roles/artifactregistry.writer and roles/storage.objectViewer (since July
    2024 a new project's default build account may lack them);
  - the Eventarc trigger account (default: the runtime account) with
    roles/eventarc.eventReceiver; roles/run.invoker is granted by the deploy
    scripts on the one service, not here on the project;
  - the Cloud Storage service agent with roles/pubsub.publisher (Storage
    triggers publish through Pub/Sub);
  - the deployer (--deployer, default: gcloud's account) with
    roles/iam.serviceAccountUser on the runtime, trigger and build accounts;
  - optionally: read access to a gs:// config bucket, write access to the
    dead-letter bucket, and access to Secret Manager secrets;
  - the Airflow user step, by the environment's Airflow version (from
    gcloud composer environments describe, or --airflow-version):
      * before 2.3.0, an email over $AIRFLOW_USERNAME_MAX characters cannot be registered
        automatically: the script prints (or runs, with --register-airflow-user)
        users create for accounts.google.com:NUMERIC_ID;
      * otherwise Composer registers the account on its first call with the
        registration role (Op by default); before Airflow 3 the script prints
        users add-role for another role;
      * Airflow 3: gcloud composer environments run refuses users commands;
        set the registration role, or an Airflow Admin changes the user's role
        in the UI (Security > Users);
      * with --composer-cli no Airflow user is involved: the commands run as
        the environment's service account.

Options:
  --project PROJECT              Google Cloud project (default: CLOUDSDK_CORE_PROJECT or gcloud's)
  --service-account NAME|EMAIL   runtime account (default: dag-launcher); created if missing
  --trigger-service-account EMAIL
                                 Eventarc trigger account (default: the runtime account)
  --build-service-account NAME|EMAIL
                                 build account (default: dag-launcher-build); created if missing
  --deployer MEMBER              who runs the deploy scripts, e.g. user:alice@example.com or
                                 serviceAccount:ci@P.iam.gserviceaccount.com (default: gcloud's account)
  --composer-environment ENV     the Composer environment the launcher triggers DAGs in
  --composer-location REGION     its region (required with --composer-environment)
  --airflow-version VERSION      the environment's Airflow version (default: read from the environment)
  --airflow-role ROLE            Airflow role for the account (default: Op)
  --register-airflow-user        run the pre-registration command instead of printing it
  --composer-cli                 grant the custom role for api: composer-cli instead of composer.user
  --config-bucket BUCKET         grant read access for a gs:// config (roles/storage.objectViewer)
  --dead-letter-bucket BUCKET    grant roles/storage.objectCreator for dead-letter records
  --secret SECRET                grant roles/secretmanager.secretAccessor on it (repeatable;
                                 projects/NUMBER/secrets/NAME for another project's)
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

project='' sa='dag-launcher' trigger_sa='' build_sa='dag-launcher-build' deployer='' composer='' location=''
airflow_version='' role=Op register=0 composer_cli=0 config_bucket='' dl_bucket='' legacy_pubsub=0 apis=1
secrets=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --dry-run) dry_run; shift; continue ;;
    --register-airflow-user) register=1; shift; continue ;;
    --composer-cli) composer_cli=1; shift; continue ;;
    --legacy-pubsub-agent) legacy_pubsub=1; shift; continue ;;
    --skip-apis) apis=0; shift; continue ;;
    --project) project="$(need_value "$@")" ;;
    --service-account) sa="$(need_value "$@")" ;;
    --trigger-service-account) trigger_sa="$(need_value "$@")" ;;
    --build-service-account) build_sa="$(need_value "$@")" ;;
    --deployer) deployer="$(need_value "$@")" ;;
    --composer-environment) composer="$(need_value "$@")" ;;
    --composer-location) location="$(need_value "$@")" ;;
    --airflow-version) airflow_version="$(need_value "$@")" ;;
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
[[ -z "$airflow_version" || "$airflow_version" =~ ^[0-9]+\.[0-9]+(\.[0-9]+)?$ ]] || die "--airflow-version is like 2.10.5, got $airflow_version"
if ((register)) && [[ "$airflow_version" =~ ^([3-9]|[1-9][0-9]+)\. ]]; then
  die "--register-airflow-user: Airflow $airflow_version has no users command in gcloud composer environments run (it stops below 3.0.0); Composer registers the account on its first call"
fi
[[ -z "$deployer" || "$deployer" =~ ^(user|serviceAccount|group|principal|principalSet):.+ ]] || die "--deployer is a member like user:alice@example.com, got $deployer"
[[ "$sa" == *@* || "$sa" =~ ^[a-z][-a-z0-9]{4,28}[a-z0-9]$ ]] || die "--service-account: an account id is 6-30 characters of a-z, 0-9 and -, got $sa"
sa_email="$(sa_email "$sa" "$project")"
build_email="$(sa_email "$build_sa" "$project")"
[[ -n "$trigger_sa" ]] || trigger_sa="$sa_email"
require_gcloud

if ((apis)); then
  run gcloud services enable cloudfunctions.googleapis.com run.googleapis.com eventarc.googleapis.com \
    cloudbuild.googleapis.com artifactregistry.googleapis.com pubsub.googleapis.com storage.googleapis.com \
    secretmanager.googleapis.com composer.googleapis.com iam.googleapis.com iamcredentials.googleapis.com "--project=$project"
fi

bind_project() {
  run gcloud projects add-iam-policy-binding "$project" "--member=$1" "--role=$2" --condition=None --quiet
}
create_account() { # ID DISPLAY_NAME
  exists_or gcloud iam service-accounts describe "$1@$project.iam.gserviceaccount.com" "--project=$project" -- \
    gcloud iam service-accounts create "$1" "--project=$project" "--display-name=$2"
}

note "runtime service account: $sa_email"
[[ "$sa" == *@* ]] || create_account "$sa" "DAG Launcher (function runtime)"
if ((composer_cli)); then
  # Composer has no per-environment IAM: the role is granted on the project.
  note "api: composer-cli: a custom role with only $COMPOSER_CLI_PERMISSIONS"
  exists_or gcloud iam roles describe "$COMPOSER_CLI_ROLE_ID" "--project=$project" -- \
    gcloud iam roles create "$COMPOSER_CLI_ROLE_ID" "--project=$project" "--title=DAG Launcher Composer CLI" \
    "--permissions=$COMPOSER_CLI_PERMISSIONS" --stage=GA
  bind_project "serviceAccount:$sa_email" "projects/$project/roles/$COMPOSER_CLI_ROLE_ID"
else
  bind_project "serviceAccount:$sa_email" roles/composer.user
fi

note "build service account: $build_email (deploy with --build-service-account $build_email)"
[[ "$build_sa" == *@* ]] || create_account "$build_sa" "DAG Launcher (Cloud Build)"
for build_role in roles/logging.logWriter roles/artifactregistry.writer roles/storage.objectViewer; do
  bind_project "serviceAccount:$build_email" "$build_role"
done

bind_project "serviceAccount:$trigger_sa" roles/eventarc.eventReceiver
lookup GCS_SERVICE_AGENT gcloud storage service-agent "--project=$project"
bind_project "serviceAccount:$GCS_SERVICE_AGENT" roles/pubsub.publisher
if ((legacy_pubsub)); then
  lookup PROJECT_NUMBER gcloud projects describe "$project" '--format=value(projectNumber)'
  bind_project "serviceAccount:service-$PROJECT_NUMBER@gcp-sa-pubsub.iam.gserviceaccount.com" roles/iam.serviceAccountTokenCreator
fi

# Deploying acts as each account the function and its build run as.
if [[ -z "$deployer" ]]; then
  lookup DEPLOYER_ACCOUNT gcloud config get-value account
  deployer="user:$DEPLOYER_ACCOUNT"
  note "the deployer is taken to be a user; pass --deployer serviceAccount:EMAIL for a CI account"
fi
declare -A acted_as=()
for account in "$sa_email" "$trigger_sa" "$build_email"; do
  [[ -z "${acted_as[$account]:-}" ]] || continue
  acted_as[$account]=1
  run gcloud iam service-accounts add-iam-policy-binding "$account" "--project=$project" "--member=$deployer" --role=roles/iam.serviceAccountUser
done

if [[ -n "$config_bucket" ]]; then
  run gcloud storage buckets add-iam-policy-binding "gs://${config_bucket#gs://}" "--member=serviceAccount:$sa_email" --role=roles/storage.objectViewer
fi
if [[ -n "$dl_bucket" ]]; then
  run gcloud storage buckets add-iam-policy-binding "gs://${dl_bucket#gs://}" "--member=serviceAccount:$sa_email" --role=roles/storage.objectCreator
fi
for secret in "${secrets[@]}"; do
  if [[ "$secret" =~ ^projects/([^/]+)/secrets/([^/:]+)$ ]]; then
    run gcloud secrets add-iam-policy-binding "${BASH_REMATCH[2]}" "--project=${BASH_REMATCH[1]}" "--member=serviceAccount:$sa_email" --role=roles/secretmanager.secretAccessor
  else
    run gcloud secrets add-iam-policy-binding "$secret" "--project=$project" "--member=serviceAccount:$sa_email" --role=roles/secretmanager.secretAccessor
  fi
done

[[ -n "$composer" ]] || exit 0
if ((composer_cli)); then
  note "api: composer-cli runs Airflow commands as the environment's own service account: no Airflow user for $sa_email"
  exit 0
fi

# The environment's Airflow version: given, or read from its image version
# (composer-2.9.7-airflow-2.9.3, composer-3-airflow-2.10.5-build.7, ...). A
# read-only look-up, made under --dry-run too, since the commands depend on it.
if [[ -z "$airflow_version" ]]; then
  image_cmd=(gcloud composer environments describe "$composer" "--location=$location" "--project=$project" '--format=value(config.softwareConfig.imageVersion)')
  note "the environment's image version: $(quote "${image_cmd[@]}")"
  command -v gcloud >/dev/null 2>&1 || die "reading the Airflow version needs gcloud; or pass --airflow-version"
  image="$("${image_cmd[@]}")" || die "could not read the image version of $composer; pass --airflow-version"
  [[ "$image" =~ -airflow-([0-9]+\.[0-9]+(\.[0-9]+)?) ]] || die "unexpected image version '$image'; pass --airflow-version"
  airflow_version="${BASH_REMATCH[1]}"
  note "image $image: Airflow $airflow_version"
fi
IFS=. read -r af_major af_minor _ <<<"$airflow_version"
run_in_composer=(gcloud composer environments run "$composer" "--location=$location" "--project=$project")

if ((af_major >= 3)); then
  ((!register)) || die "--register-airflow-user: Airflow $airflow_version has no users command in gcloud composer environments run (it stops below 3.0.0); Composer registers the account on its first call"
  note "Airflow $airflow_version: Composer registers $sa_email on its first call, with the registration role (Op unless changed)."
  note "On Airflow 3, gcloud composer environments run refuses users commands. If the role is not $role, either set the role new accounts get:"
  hint gcloud composer environments update "$composer" "--location=$location" "--project=$project" \
    "--update-airflow-configs=api-composer_auth_user_registration_role=$role"
  note "or, once registered, an Airflow Admin gives the user $sa_email the role $role in the Airflow UI (Security > Users),"
  note "or through the FAB auth manager's API: PATCH AIRFLOW_URL/auth/fab/v1/users/USERNAME?update_mask=roles with {\"roles\": [{\"name\": \"$role\"}]}."
elif ((af_major < 2 || (af_major == 2 && af_minor < 3))) && ((${#sa_email} > AIRFLOW_USERNAME_MAX)); then
  note "$sa_email is ${#sa_email} characters, longer than Airflow $airflow_version's $AIRFLOW_USERNAME_MAX-character user name:"
  note "Composer cannot register it on its first call (401/403), so pre-register it as accounts.google.com:NUMERIC_ID with role $role."
  # Without --register-airflow-user the commands are printed, not run.
  saved=$DRY_RUN
  if ((!register)); then
    dry_run
    ((saved)) || note "run these (or this script with --register-airflow-user):"
  fi
  lookup NUMERIC_ID gcloud iam service-accounts describe "$sa_email" "--project=$project" '--format=value(oauth2ClientId)'
  run "${run_in_composer[@]}" users create -- \
    -u "accounts.google.com:$NUMERIC_ID" -e "$sa_email" -f "${sa_email%%@*}" -l - -r "$role" --use-random-password
  DRY_RUN=$saved
else
  ((!register)) || note "--register-airflow-user: nothing to pre-register on Airflow $airflow_version"
  note "Airflow $airflow_version: Composer registers $sa_email on its first call, with the environment's"
  note "registration role (Op unless changed). If that role is not $role, or the call gets 403:"
  hint "${run_in_composer[@]}" users add-role -- -e "$sa_email" -r "$role"
fi
