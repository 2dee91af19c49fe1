# shellcheck shell=bash
# Shared by the deploy/ scripts: option helpers and `run`, which executes a
# gcloud command or, with --dry-run, prints it instead. A dry run's output is
# itself a runnable script: commands one per line, shell-quoted, lookups as
# VAR=$(gcloud ...) assignments, files as heredocs, notes as # comments.

DRY_RUN=0

dry_run() {
  DRY_RUN=1
}

die() {
  printf '%s: %s\n' "${0##*/}" "$*" >&2
  exit 2
}

# need_value FLAG "$@": the flag's value, or exit 2 when it is missing.
need_value() {
  [[ $# -ge 2 && -n "$2" && "$2" != --* ]] || die "$1 needs a value (see --help)"
  printf '%s' "$2"
}

# quote ARGS...: one shell-quoted line.
quote() {
  local out='' a
  for a in "$@"; do
    if [[ "$a" =~ ^[A-Za-z0-9_./:=@,+%-]+$ ]]; then
      out+="$a "
    elif [[ "$a" == *"\${"* ]]; then
      # Refers to a lookup's variable: double quotes, so the printed script expands it.
      local d="${a//\\/\\\\}"
      d="${d//\"/\\\"}"
      d="${d//\`/\\\`}"
      out+="\"$d\" "
    elif [[ "$a" != *"'"* ]]; then
      out+="'$a' "
    else
      out+="$(printf '%q' "$a") "
    fi
  done
  printf '%s' "${out% }"
}

note() {
  if ((DRY_RUN)); then printf '# %s\n' "$*"; else printf '%s\n' "$*" >&2; fi
}

# run CMD ARGS...: executes, or prints under --dry-run.
run() {
  if ((DRY_RUN)); then
    printf '%s\n' "$(quote "$@")"
  else
    printf '+ %s\n' "$(quote "$@")" >&2
    "$@"
  fi
}

# lookup VAR CMD ARGS...: sets VAR to the command's output; under --dry-run
# prints `VAR=$(CMD ...)` and sets VAR to "${VAR}" so later lines refer to it.
lookup() {
  local var="$1"
  shift
  # The $( ) is printed literally: the dry run's output is a script.
  # shellcheck disable=SC2016
  if ((DRY_RUN)); then
    printf '%s=$(%s)\n' "$var" "$(quote "$@")"
    printf -v "$var" '%s' "\${$var}"
  else
    printf '+ %s=$(%s)\n' "$var" "$(quote "$@")" >&2
    local value
    value="$("$@")" || die "lookup failed: $(quote "$@")"
    printf -v "$var" '%s' "$value"
  fi
}

# write_file PATH CONTENT: writes it, or prints it as a heredoc under --dry-run.
write_file() {
  if ((DRY_RUN)); then
    printf "cat > %s <<'EOF'\n%sEOF\n" "$(quote "$1")" "$2"
  else
    printf '%s' "$2" >"$1"
    printf '+ wrote %s\n' "$1" >&2
  fi
}

# default_project: --project, else CLOUDSDK_CORE_PROJECT, else gcloud's configured project.
default_project() {
  if [[ -n "${CLOUDSDK_CORE_PROJECT:-}" ]]; then
    printf '%s' "$CLOUDSDK_CORE_PROJECT"
  elif ((!DRY_RUN)) && command -v gcloud >/dev/null 2>&1; then
    gcloud config get-value project 2>/dev/null
  fi
}

require_gcloud() {
  ((DRY_RUN)) || command -v gcloud >/dev/null 2>&1 || die "gcloud is not installed (https://cloud.google.com/sdk/docs/install); try --dry-run to see the commands"
}

# hint CMD ARGS...: a command the user may run, not run here: `# gcloud ...`
# under --dry-run, `  gcloud ...` on stderr otherwise. The tests parse these
# with the real gcloud too.
hint() {
  if ((DRY_RUN)); then printf '# %s\n' "$(quote "$@")"; else printf '  %s\n' "$(quote "$@")" >&2; fi
}

# exists_or DESCRIBE... -- CREATE...: runs CREATE unless DESCRIBE succeeds;
# under --dry-run prints `DESCRIBE >/dev/null 2>&1 || CREATE`.
exists_or() {
  local -a describe=() create=()
  while [[ "$1" != -- ]]; do describe+=("$1"); shift; done
  shift
  create=("$@")
  if ((DRY_RUN)); then
    printf '%s >/dev/null 2>&1 || %s\n' "$(quote "${describe[@]}")" "$(quote "${create[@]}")"
  elif ! "${describe[@]}" >/dev/null 2>&1; then
    run "${create[@]}"
  fi
}

# topic_id TOPIC PROJECT: the bare topic id gcloud's --trigger-topic and
# --topic take; projects/P/topics/T is accepted when P is PROJECT. Pub/Sub
# ids: 3-255 characters, a letter first, not starting with "goog".
topic_id() {
  local topic="$1" project="$2"
  if [[ "$topic" =~ ^projects/([^/]+)/topics/([^/]+)$ ]]; then
    [[ "${BASH_REMATCH[1]}" == "$project" ]] || die "--topic $topic is in project ${BASH_REMATCH[1]}, not $project: deploy in that project, or subscribe across projects with push-subscription.sh"
    topic="${BASH_REMATCH[2]}"
  fi
  [[ "$topic" =~ ^[A-Za-z][A-Za-z0-9._~+%-]{2,254}$ && "$topic" != goog* ]] || die "--topic: a topic id is 3-255 characters of letters, digits and - . _ ~ + %, starting with a letter (not goog), got $topic"
  printf '%s' "$topic"
}

# check_secret VAR=SECRET[:VERSION]: the forms gcloud's --set-secrets takes for
# an env var, including another project's projects/NUMBER/secrets/NAME.
check_secret() {
  [[ "$1" =~ ^[A-Z_][A-Z0-9_]*=(projects/[A-Za-z0-9-]+/secrets/)?[A-Za-z0-9_-]+(:[A-Za-z0-9]+)?$ ]] || die "--secret expects VAR=SECRET[:VERSION] or VAR=projects/NUMBER/secrets/SECRET[:VERSION], got $1"
}

# sa_email NAME|EMAIL PROJECT: an account id becomes NAME@PROJECT.iam.gserviceaccount.com.
sa_email() {
  if [[ "$1" == *@* ]]; then
    printf '%s' "$1"
  else
    [[ "$1" =~ ^[a-z][-a-z0-9]{4,28}[a-z0-9]$ ]] || die "an account id is 6-30 characters of a-z, 0-9 and -, got $1"
    printf '%s@%s.iam.gserviceaccount.com' "$1" "$2"
  fi
}
