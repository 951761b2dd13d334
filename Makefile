# The README's two commands are `go run ./cmd/tokensvc serve` and `make test`;
# .ci/run calls `make test` too.

GO ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
# The release build signs with BoringCrypto (GOEXPERIMENT=boringcrypto, cgo):
# measured here 1.7× the RSA signing rate of Go's own crypto/rsa. It is linked
# statically (netgo, osusergo: no glibc lookups at run time), reproducible
# (-trimpath) and stamped with its version. build-purego is the fallback
# where cgo is not available; the test suite runs on it, and test-boring
# runs the crypto packages' tests on the fast path.
RELEASE_ENV = GOEXPERIMENT=boringcrypto CGO_ENABLED=1
BUILD_FLAGS = -tags netgo,osusergo -trimpath -ldflags "-s -w -linkmode external -extldflags -static -X main.version=$(VERSION)"
PUREGO_FLAGS = -trimpath -ldflags "-s -w -X main.version=$(VERSION)"

.PHONY: test test-boring check build build-purego bench
test: check
	$(GO) test -race -count=1 ./...
	$(MAKE) test-boring
	@# Each benchmark once, so that none of them rots unnoticed.
	$(GO) test -run '^$$' -bench . -benchtime 1x ./...

STATICCHECK = honnef.co/go/tools/cmd/staticcheck@v0.8.2

# check fails on unformatted files and on go vet or staticcheck findings.
check:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt would change:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

# The signing path with the release build's crypto.
test-boring:
	$(RELEASE_ENV) $(GO) test -count=1 ./internal/issuer ./internal/keys ./internal/verify ./internal/httpapi

build:
	$(RELEASE_ENV) $(GO) build $(BUILD_FLAGS) -o bin/tokensvc ./cmd/tokensvc
	$(RELEASE_ENV) $(GO) build $(BUILD_FLAGS) -o bin/tokenbench ./cmd/tokenbench

build-purego:
	CGO_ENABLED=0 $(GO) build $(PUREGO_FLAGS) -o bin/tokensvc ./cmd/tokensvc
	CGO_ENABLED=0 $(GO) build $(PUREGO_FLAGS) -o bin/tokenbench ./cmd/tokenbench

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...
