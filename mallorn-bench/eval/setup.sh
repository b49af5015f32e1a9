#!/usr/bin/env bash
# Installs what the evaluation scripts of mallorn-bench/eval need: espeak-ng
# (Debian) and the pinned Python packages of requirements.txt, into the Python
# that runs the scripts ($PYTHON, default python3; use a virtualenv's python to
# keep them apart). Idempotent and quiet: prints nothing when all is in place.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
python="${PYTHON:-python3}"

if ! command -v espeak-ng >/dev/null 2>&1; then
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq >/dev/null
    $sudo apt-get install -y -qq --no-install-recommends espeak-ng >/dev/null
fi

# Skip pip entirely when every pinned requirement is already installed.
if ! "$python" - "$here/requirements.txt" <<'PY' >/dev/null 2>&1
import sys
from importlib.metadata import version
for line in open(sys.argv[1]):
    req = line.split("#")[0].strip()
    if req:
        name, want = req.split("==")
        if version(name) != want:
            sys.exit(1)
PY
then
    PIP_DISABLE_PIP_VERSION_CHECK=1 "$python" -m pip install -q --root-user-action=ignore \
        -r "$here/requirements.txt"
fi
