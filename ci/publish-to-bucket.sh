#!/usr/bin/env bash
# Build the mlreport site and publish it to a bucket prefix, the old site serving until the end.
#
#   ci/publish-to-bucket.sh s3://ml-reports/models [SOURCE ...]
#
# MLREPORT_SITE_URL  where the bucket is served (links, instant navigation); optional
# MLREPORT_OUTPUT    the local build folder (default site)
# MLREPORT_HISTORY   the previous history.json (default: the one published at the destination)
# AWS_* variables as for the aws CLI (AWS_ENDPOINT_URL_S3 for a non-AWS endpoint).
set -euo pipefail
if [ $# -lt 1 ]; then
  echo "usage: $0 s3://bucket/prefix [SOURCE ...]" >&2
  exit 2
fi
dest="${1%/}"
shift
out="${MLREPORT_OUTPUT:-site}"
args=(build --strict -o "$out" --history "${MLREPORT_HISTORY:-$dest/history.json}")
if [ -n "${MLREPORT_SITE_URL:-}" ]; then args+=(--site-url "$MLREPORT_SITE_URL"); fi
# mlreport builds beside the old local site and swaps it in only when complete
mlreport "${args[@]}" "$@"
# 1. new and changed files first: the published pages keep working while this uploads
aws s3 sync "$out/" "$dest/" --exclude history.json --only-show-errors
# 2. the ledger after the pages it describes, so a build that reads it finds them
aws s3 cp "$out/history.json" "$dest/history.json" --only-show-errors
# 3. last, the files the new site no longer has
aws s3 sync "$out/" "$dest/" --delete --only-show-errors
