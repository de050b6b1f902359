# breakwater's workbench. `make help` lists the targets.
#
# Every tool is pinned: Go tools in tools/go.mod (run with `go tool -modfile=...`),
# protoc-gen-go in go.mod, npm tools in package.json + package-lock.json.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

export GOTOOLCHAIN := local

GO        ?= go
TOOL      := $(GO) tool -modfile=tools/go.mod
BUF       := $(TOOL) buf

# protovalidate's validate.proto comes from this pinned Go module (buf.build is unreachable).
PROTOVALIDATE_VERSION := v1.2.2
PROTOVALIDATE_DIR      = $(shell $(GO) mod download -json github.com/bufbuild/protovalidate@$(PROTOVALIDATE_VERSION) | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$$/\1/p')
# It is committed under third_party (with its licence), so that buf works on a
# fresh clone; check-generate proves the copy is the pinned module's file.
VALIDATE_PROTO        := third_party/protovalidate/buf/validate/validate.proto
VALIDATE_PROTO_SRC     = $(PROTOVALIDATE_DIR)/proto/protovalidate/buf/validate/validate.proto
# The API with its comments, embedded for server reflection (internal/apidesc).
API_IMAGE             := internal/apidesc/api.binpb
# gen/python's generators are Debian's packages, at the versions of Debian's
# Python runtime (python3-protobuf 4.21 = protoc 3.21, python3-grpcio 1.51):
# apt-get install protobuf-compiler protobuf-compiler-grpc (.ci/run does).
PROTOC_VERSION        := 3.21.12
GRPC_PYTHON_VERSION   := 1.51.1
GOOGLE_RPC_TEMPLATE   := examples/python-client/buf.gen.googlerpc.yaml

GO_SOURCES = $(shell git ls-files -co --exclude-standard '*.go' | grep -v '^gen/')
BENCH_COUNT ?= 6
SIZE        ?= 10x

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

## ---- code generation ----

.PHONY: protovalidate
protovalidate: ## Copy validate.proto from the pinned protovalidate module into third_party (after a version bump).
	@src="$(VALIDATE_PROTO_SRC)"; \
	  test -f "$$src" || { echo "cannot find validate.proto in github.com/bufbuild/protovalidate@$(PROTOVALIDATE_VERSION)"; exit 1; }; \
	  mkdir -p $(dir $(VALIDATE_PROTO)); install -m 0644 "$$src" $(VALIDATE_PROTO)

node_modules/.bin/protoc-gen-es: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

.PHONY: deps
deps: node_modules/.bin/protoc-gen-es ## Fetch the pinned npm generators.

# python-generators fails, saying what to install, unless protoc and
# grpc_python_plugin are on PATH at the pinned versions: without them buf
# would fail on the Python entries, or, worse, generate code for another
# runtime than the one gen/python is tested with.
.PHONY: python-generators
python-generators:
	@command -v protoc >/dev/null || { \
	  echo "protoc is missing: gen/python needs protobuf-compiler $(PROTOC_VERSION) (Debian: apt-get install protobuf-compiler protobuf-compiler-grpc)" >&2; exit 1; }
	@v="$$(protoc --version)"; [ "$$v" = "libprotoc $(PROTOC_VERSION)" ] || { \
	  echo "protoc is '$$v': gen/python needs libprotoc $(PROTOC_VERSION), the version of Debian's python3-protobuf (apt-get install protobuf-compiler)" >&2; exit 1; }
	@command -v grpc_python_plugin >/dev/null || { \
	  echo "grpc_python_plugin is missing: gen/python needs protobuf-compiler-grpc $(GRPC_PYTHON_VERSION) (Debian: apt-get install protobuf-compiler-grpc)" >&2; exit 1; }
	@if command -v dpkg-query >/dev/null; then \
	  v="$$(dpkg-query -W -f='$${Version}' protobuf-compiler-grpc 2>/dev/null || true)"; \
	  case "$$v" in $(GRPC_PYTHON_VERSION)-*) ;; *) \
	    echo "protobuf-compiler-grpc is '$${v:-not installed}': gen/python needs $(GRPC_PYTHON_VERSION), the version of Debian's python3-grpcio" >&2; exit 1;; esac; \
	else \
	  echo "warning: no dpkg-query to check that grpc_python_plugin is $(GRPC_PYTHON_VERSION); generating with $$(command -v grpc_python_plugin)" >&2; \
	fi

.PHONY: generate
generate: deps python-generators ## Regenerate gen/go, gen/ts, gen/python and the reflection image from proto/.
	rm -rf gen/go gen/ts gen/python
	$(BUF) generate
	$(BUF) generate --template $(GOOGLE_RPC_TEMPLATE)
	$(BUF) build proto --exclude-imports -o $(API_IMAGE)
	@echo "generated gen/go, gen/ts, gen/python and $(API_IMAGE)"

.PHONY: check-generate
check-generate: generate ## Regenerate and fail if anything generated changed.
	@if [ -n "$$(git status --porcelain -- gen $(API_IMAGE))" ]; then \
	  echo "generated code is stale: run 'make generate' and commit the result"; \
	  git status --short -- gen $(API_IMAGE); git --no-pager diff --stat -- gen $(API_IMAGE); exit 1; \
	fi
	@cmp -s "$(VALIDATE_PROTO_SRC)" $(VALIDATE_PROTO) || { \
	  echo "$(VALIDATE_PROTO) differs from github.com/bufbuild/protovalidate@$(PROTOVALIDATE_VERSION): run 'make protovalidate'"; exit 1; }
	@echo "generated code is up to date"

## ---- checks ----

.PHONY: lint
lint: deps ## buf lint, buf format check, gofmt, go vet.
	$(BUF) lint
	$(BUF) format --diff --exit-code proto
	@out="$$(gofmt -l $(GO_SOURCES))"; if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	cd deploy && $(GO) vet ./...

.PHONY: fmt
fmt: ## Format Go and proto files in place.
	gofmt -w $(GO_SOURCES)
	$(BUF) format -w proto

.PHONY: breaking
breaking: deps ## Check proto/ for breaking changes against main (origin/main in a clone without main).
	@ref=main; git rev-parse --verify -q $$ref >/dev/null || ref=origin/main; \
	  git rev-parse --verify -q $$ref >/dev/null || { echo "no main or origin/main to compare with"; exit 1; }; \
	  rm -rf .build/against && mkdir -p .build/against/.build; \
	  git archive $$ref buf.yaml proto $$(git ls-tree --name-only $$ref third_party) | tar -x -C .build/against; \
	  cp -r third_party/protovalidate .build/against/.build/; \
	  echo "buf breaking against $$ref"; \
	  $(BUF) breaking --against .build/against

.PHONY: go-test
go-test: ## go test -race ./... (the Go tests alone); screenshots and other artifacts land in .build/test-output.
	@mkdir -p .build/test-output
	$(GO) test -race -count=1 -timeout 20m -artifacts -outputdir $(CURDIR)/.build/test-output ./...

.PHONY: memory-test
memory-test: ## Tests that measure RSS, once more without -race (its shadow memory inflates RSS).
	$(GO) test -count=1 -run 'TestLastGoodByteBudget' ./services/recommender/

.PHONY: test-deploy
test-deploy: ## Validate deploy/: Dockerfile, compose.yaml, kustomize base, breakers.json (own go.mod).
	cd deploy && $(GO) test -count=1 ./...

.PHONY: test
test: lint check-generate go-test memory-test test-deploy ## Everything CI runs: lint, generated-code freshness, race tests, the RSS test without -race, deploy checks.

.PHONY: bench
bench: ## Benchmarks, side by side in one run (BENCH_COUNT=6 by default; BENCH_SIZES=1x,100x,1000x adds the 3.5M-review catalog).
	$(GO) test -run '^$$' -bench . -benchmem -count $(BENCH_COUNT) -timeout 60m ./...

.PHONY: bench-data
bench-data: ## Generate a benchmark catalog into .build/bench-data (SIZE=10x|100x|1000x; seeded, Zipf popularity).
	$(GO) run ./services/recommender/internal/benchcatalog/benchdata -size $(SIZE) -dir .build/bench-data

.PHONY: build
build: ## Build adprovider and recommender into bin/.
	$(GO) build -o bin/ ./services/adprovider/cmd/adprovider ./services/recommender/cmd/recommender
	@echo "built bin/adprovider and bin/recommender"

.PHONY: clean
clean: ## Remove build output, fetched generators and run-all's state (.run/: its private database too).
	rm -rf .build bin node_modules .run

## ---- running it ----

.PHONY: run-all
run-all: ## Run PostgreSQL, AdProvider and Recommender with sample data until Ctrl-C.
	@bash deploy/local/run-all.sh

.PHONY: demo
demo: ## Run the system and walk through AdProvider and database failures, with a timeline.
	@bash deploy/local/demo.sh
