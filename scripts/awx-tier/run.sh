#!/usr/bin/env bash
# The real-AWX test tier over every AWX source tarball given (arguments, else $AWX_SOURCE, a
# space-separated list): one box per AWX version (box.sh), one after the other, then a closing
# line adding up their pytest results. Exits non-zero when any version failed.
#
#   scripts/awx-tier/run.sh [AWX_TARBALL...]      (`make test-awx` passes $AWX_SOURCE)
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
PROJECT=$(cd "$HERE/../.." && pwd)
# shellcheck disable=SC2206  # AWX_SOURCE is a list of paths
SOURCES=("$@"); [ ${#SOURCES[@]} = 0 ] && SOURCES=(${AWX_SOURCE:-})
if [ ${#SOURCES[@]} = 0 ]; then
  echo "awx-tier: no AWX source tarball given (AWX_SOURCE=path/to/awx-<version>.tar.gz)" >&2
  exit 2
fi

failed=()
reports=()
for source in "${SOURCES[@]}"; do
  ref=$(basename "$source" .tar.gz); ref=${ref#awx-}
  echo "=== awx-tier: AWX $ref ($source)"
  "$HERE/box.sh" "$source" || failed+=("$ref")
  reports+=("$PROJECT/artifacts/awx-tier/$ref/junit.xml")
done

python3 "$HERE/summary.py" "${reports[@]}"
if [ ${#failed[@]} != 0 ]; then
  echo "awx-tier: failed on AWX ${failed[*]} (logs under artifacts/awx-tier/)" >&2
  exit 1
fi
