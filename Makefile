# Hearth — thin Makefile; build logic lives in scripts/.
.DEFAULT_GOAL := help
GO ?= go

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

build: ## build bin/hearth for this machine (static, CGO_ENABLED=0)
	scripts/build.sh bin/hearth

cross: ## static binaries for armv5/6/7, arm64, mipsle, mips, amd64 into dist/, with a size table
	scripts/cross.sh

size: ## what makes the armv7 binary big, by package and module: bench/size.txt
	scripts/size.sh

qemu-test: ## armv7, arm64, mipsle binaries under qemu-user: serve, API, a torrent to and from amd64
	scripts/qemu-test.sh

package: ## .deb and .ipk packages (amd64, arm64, armhf, mipsel) into dist/
	scripts/package.sh

run: build ## build and run the daemon on embedded defaults (state in ./data, API on port 9091, every interface; loopback trusted, LAN needs a password or pairing)
	./bin/hearth serve --data-dir ./data

test: ## run every test: installs test dependencies (apt, as root), lint, unit, swarm, interop, 32-bit store
	scripts/test.sh

lint: ## gofmt, go vet, staticcheck
	scripts/test.sh lint

bench: ## benchmarks; results under bench/
	scripts/bench.sh

fuzz: ## run each fuzz target for FUZZTIME (default 60s)
	scripts/fuzz.sh

reliability: ## power cuts, disk full, hostile peers, access, load, 10-minute fuzz campaigns (as root); writes docs/reliability.md
	scripts/reliability.sh --full

clean: ## remove build outputs
	rm -rf bin dist

.PHONY: help build run test lint bench fuzz reliability clean cross size qemu-test package
