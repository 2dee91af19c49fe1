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
