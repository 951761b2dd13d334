# The README's two commands are `make run` and `make test`; .ci/run calls
# `make test` too.

GO ?= go
# go.mod's toolchain line names the Go release to build and test with: the
# oldest one with no known vulnerability reachable from tokensvc. "auto"
# fetches it through the module proxy where the installed Go is older, and
# uses the installed one where it is as new or newer. It is set here, not
# with ?=, because a machine's go.env or environment commonly says "local",
# which would build with the older, vulnerable release; `make
# GOTOOLCHAIN=...` still overrides it.
export GOTOOLCHAIN := auto
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT ?= $(shell git rev-parse --short HEAD 2>/dev/null)
# Every cgo build, `go build` and `go run` included, signs through the
# machine's OpenSSL 3 (golang-fips/openssl, which dlopens libcrypto.so.3 at
# run time: no OpenSSL headers are needed to build, Debian's libssl3 to run)
# and falls back to crypto/rsa where libcrypto.so.3 is missing; see
# internal/keys/signer*.go. make build asks for cgo rather than take the
# default, so that a machine without a C compiler fails here instead of
# building the 3-4× slower crypto/rsa signer unnoticed. It links glibc
# dynamically, is reproducible (-trimpath) and stamped with its version and
# commit (tokensvc version prints both, and the signer).
# build-purego (CGO_ENABLED=0) signs with crypto/rsa; test-nocgo runs the
# whole suite that way.
RELEASE_ENV = CGO_ENABLED=1
BUILD_FLAGS = -tags netgo,osusergo -trimpath -ldflags "-s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)"
PUREGO_FLAGS = -trimpath -ldflags "-s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)"

.PHONY: run toolchain test test-steps test-nocgo check vulncheck build build-purego image bench soak

# run builds and runs the service: `make run` serves, `make run ARGS=migrate`
# (or any other command) runs that instead.
ARGS ?= serve
run:
	$(GO) run ./cmd/tokensvc $(ARGS)

# toolchain prints the Go release that make builds with.
toolchain:
	@$(GO) version

# test runs test-steps through internal/tools/testsummary, which shows
# go test's usual output (each package's ok or FAIL line, every failed
# test's whole output), ends with one line "N passed, N failed, N skipped"
# (tests and subtests), and fails when a step, a test or a package's build
# did, and under CI=true when a test skipped for want of PostgreSQL. It is
# built rather than run with go run, so that no "exit status" line follows
# the count.
test: check
	@$(GO) build -o bin/testsummary ./internal/tools/testsummary
	@bin/testsummary $(MAKE) --no-print-directory test-steps GOTEST_JSON=-json

# test-steps is make test without the count; GOTEST_JSON=-json gives
# testsummary go test's events.
test-steps:
	$(GO) test $(GOTEST_JSON) -race -count=1 ./...
	$(MAKE) test-nocgo
	@# Each benchmark once, so that none of them rots unnoticed.
	$(GO) test $(GOTEST_JSON) -run '^$$' -bench . -benchtime 1x ./...

STATICCHECK = honnef.co/go/tools/cmd/staticcheck@v0.8.2

# check fails on unformatted files and on go vet or staticcheck findings.
check:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt would change:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	CGO_ENABLED=0 $(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...
	CGO_ENABLED=0 $(GO) run $(STATICCHECK) ./internal/keys

# test-nocgo: without cgo everything builds and every test passes, on
# crypto/rsa, whose name the signer's tests check (about 2 minutes here).
# No -race: the race detector needs cgo.
test-nocgo:
	CGO_ENABLED=0 $(GO) build ./...
	CGO_ENABLED=0 $(GO) test $(GOTEST_JSON) -count=1 ./...

# vulncheck fails when the code calls a function with a known
# vulnerability. The database is built from its source module,
# golang.org/x/vulndb (data/osv holds every entry), fetched through the Go
# module proxy: vuln.go.dev is not reachable from every build machine.
GOVULNCHECK = golang.org/x/vuln/cmd/govulncheck@v1.9.0
vulncheck:
	@dir=$$($(GO) mod download -json golang.org/x/vulndb@latest | sed -nE 's/.*"Dir": "(.*)",/\1/p'); \
	db=$$(mktemp -d); trap 'rm -rf "$$db"' EXIT; \
	echo "govulncheck with the database of $$dir"; \
	$(GO) run golang.org/x/vulndb/cmd/indexdb@latest -vulns "$$dir/data/osv" -out "$$db/db" && \
	$(GO) run $(GOVULNCHECK) -db "file://$$db/db" ./...

build:
	$(RELEASE_ENV) $(GO) build $(BUILD_FLAGS) -o bin/tokensvc ./cmd/tokensvc
	$(RELEASE_ENV) $(GO) build $(BUILD_FLAGS) -o bin/tokenbench ./cmd/tokenbench

build-purego:
	CGO_ENABLED=0 $(GO) build $(PUREGO_FLAGS) -o bin/tokensvc ./cmd/tokensvc
	CGO_ENABLED=0 $(GO) build $(PUREGO_FLAGS) -o bin/tokenbench ./cmd/tokenbench

# image builds the container image, stamped like make build; docker compose
# up runs it (tokensvc:latest) instead of building an unstamped one.
image:
	docker build --build-arg VERSION=$(VERSION) --build-arg COMMIT=$(COMMIT) -t tokensvc:$(VERSION) -t tokensvc:latest .

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

# soak runs the release binary as two replicas on a throw-away PostgreSQL
# database under mixed load, with rotations and a restart, verifying every
# token (cmd/tokensoak); SOAK_DURATION=10m for a longer run.
SOAK_DURATION ?= 2m
soak: build
	$(GO) run ./cmd/tokensoak --binary bin/tokensvc --duration $(SOAK_DURATION)
