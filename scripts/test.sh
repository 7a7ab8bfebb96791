#!/usr/bin/env bash
# The whole test suite, as `make test` and CI run it. Installs what the
# tests need (scripts/test-deps.sh) and never skips silently: tests that
# need root, network namespaces or Debian peers fail when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$(go env GOPATH)/bin:$PATH"
export CGO_ENABLED=0

step() { printf '\n== %s\n' "$*"; }

lint() {
	step "gofmt"
	bad=$(gofmt -l $(git ls-files '*.go' ':!third_party' 2>/dev/null || find . -name '*.go' -not -path './third_party/*'))
	if [ -n "$bad" ]; then echo "gofmt needed on:"; echo "$bad"; exit 1; fi
	step "go vet"
	go vet ./...
	step "staticcheck"
	staticcheck ./...
}

if [ "${1:-}" = lint ]; then
	lint
	exit 0
fi

step "test dependencies"
scripts/test-deps.sh
lint

export HEARTH_TEST_REQUIRE_NETNS=1 HEARTH_TEST_REQUIRE_ROOT=1 HEARTH_TEST_REQUIRE_PEERS=1
step "go test (linux/amd64, default store)"
go test -count=1 -timeout 20m ./...

step "go test (GOARCH=386: the 32-bit store build)"
GOARCH=386 go test -count=1 -timeout 5m ./engine/store/... ./engine/completion/... ./config/...

step "qemu-user: armv7, arm64, mipsle binaries serve and trade a torrent with amd64 (scripts/qemu-test.sh)"
scripts/qemu-test.sh

step "go test -race (engine, store, web)"
CGO_ENABLED=1 go test -race -count=1 -timeout 20m ./engine/... ./web/...

step "third_party/anacrolix-torrent: Hearth's regression tests of its patch (-race)"
# The patched copy is its own module, so ./... above does not reach it.
(cd third_party/anacrolix-torrent && CGO_ENABLED=1 go test -race -count=1 -timeout 5m -run 'Hearth|TestMsgWriterWakes' .)
