# The README's two commands are `go run ./cmd/tokensvc serve` and `make test`;
# .ci/run calls `make test` too.

GO ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
# The release build: static, reproducible, version stamped in.
BUILD_FLAGS = -trimpath -ldflags "-s -w -X main.version=$(VERSION)"

.PHONY: test check build bench
test: check
	$(GO) test -race -count=1 ./...
	@# Each benchmark once, so that none of them rots unnoticed.
	$(GO) test -run '^$$' -bench . -benchtime 1x ./...

STATICCHECK = honnef.co/go/tools/cmd/staticcheck@v0.8.2

# check fails on unformatted files and on go vet or staticcheck findings.
check:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt would change:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

build:
	CGO_ENABLED=0 $(GO) build $(BUILD_FLAGS) -o bin/tokensvc ./cmd/tokensvc

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...
