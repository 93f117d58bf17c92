#!/usr/bin/env bash
# Builds (when inputs changed) and loads images into the local cluster's containerd, for
# test/cluster/up.sh and `npm run up`. The pause image must be loaded before kubelet creates its
# first pod sandbox; pass `pause` alone for that, nothing for every image.
#
# usage: test/cluster/images/up.sh [pause|platform|agent-shell|claude-code|codex]...
set -euo pipefail
images=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../../images" && pwd)
bash "$images/build.sh" "$@"
bash "$images/load.sh" "$@"
