#!/usr/bin/env bash
# Post-recording hook for an acquisition rig: ingest the session folder it just wrote.
#
#   examples/rig_hook.sh /data/rat01/2024-03-01_day3
#
# Unattended: no prompts; waits until the recorder has stopped writing (--settle); a lock
# keeps two hooks on one session from racing; a log file for the morning after.
# The session and procedure IDs come from SESSION/bsingest.toml (see examples/session/),
# or, with `create_session = true` and `project = "UUID"` there, the session is created
# (named like the folder, dated by the recording's start) the first time.
# Put `server = "https://www.brainstem.org"` in ~/.config/bsingest/config.toml; the token
# for brainstem.org is in ~/.config/brainstem/token, for another server in bsingest's own
# token file (`bsingest login --headless` writes both, mode 0600).
# A record the server holds with other values is skipped (exit 0) and the log names the
# fields that differ; add `--existing error` to make that a failure (exit 1).
set -u
session="${1:?usage: rig_hook.sh SESSION_DIR}"
log="${BSINGEST_HOOK_LOG:-$HOME/bsingest-hook.log}"
settle="${BSINGEST_SETTLE:-30}"   # seconds without a file changing before we start

bsingest ingest "$session" --settle "$settle" --log "$log" </dev/null
code=$?
case $code in
  0) echo "bsingest: $session ingested" ;;
  3) echo "bsingest: server unreachable; records queued, retrying later with 'bsingest push'"
     # e.g. leave it to a cron job: */15 * * * * bsingest push --log ~/bsingest-hook.log
     ;;
  1) echo "bsingest: some files of $session failed; see $log" ;;
  *) echo "bsingest: usage or configuration error ($code); see $log" ;;
esac
exit $code
