#!/usr/bin/env bash
# Build a static hearth binary: scripts/build.sh OUT [GOOS/GOARCH env as usual]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-bin/hearth}
version=${HEARTH_VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
mkdir -p "$(dirname "$out")"
CGO_ENABLED=0 go build -trimpath -tags netgo,osusergo \
	-ldflags "-s -w -X main.version=$version -X main.commit=$commit" \
	-o "$out" ./cmd/hearth
