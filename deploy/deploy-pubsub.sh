#!/usr/bin/env bash
# Deploys DAG Launcher triggered by messages on a Pub/Sub topic. --help for options,
# --dry-run to print the gcloud commands instead of running them.
set -euo pipefail
here="$(dirname "${BASH_SOURCE[0]}")"
# shellcheck source=deploy/lib.sh
source "$here/lib.sh"
# shellcheck source=deploy/function.sh
source "$here/function.sh"
TRIGGER=pubsub
deploy_function_main "$@"
