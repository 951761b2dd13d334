# syntax=docker/dockerfile:1

# Build stage: the same flags as `make build`. cgo (gcc is in this image)
# lets the binary sign through OpenSSL 3, which it loads at run time
# (libcrypto.so.3): no OpenSSL headers are needed to build it.
FROM golang:1.26.10-bookworm AS build
WORKDIR /src
# Modules first, in their own layer: a code change does not re-download them.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# Stamped into the binary: `tokensvc version` inside the image says which
# release and commit it runs. `make image` passes both (the commit from git
# rev-parse --short HEAD); the build context has no .git to read it from.
ARG VERSION=dev
ARG COMMIT=
RUN CGO_ENABLED=1 go build -tags netgo,osusergo -trimpath -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT}" -o /out/tokensvc ./cmd/tokensvc \
 && mkdir -p /out/data

# Final stage: glibc and libssl3, whose libcrypto.so.3 the binary signs
# with (the same Debian release as the build stage), no shell, no package
# manager, a non-root user (65532). Without libcrypto.so.3 it would sign
# with crypto/rsa, and its log, version and metrics would say so.
FROM gcr.io/distroless/base-debian12:nonroot
ARG VERSION=dev
ARG COMMIT=
LABEL org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${COMMIT}"
COPY --from=build /out/tokensvc /tokensvc
# The embedded store's directory, owned by the non-root user; unused when
# TOKENSVC_DATABASE_URL is set.
COPY --from=build --chown=65532:65532 /out/data /data
ENV TOKENSVC_ADDR=:8080 \
    TOKENSVC_DATA_DIR=/data
VOLUME /data
EXPOSE 8080
USER 65532:65532
# distroless has no curl: the binary checks /healthz itself.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 CMD ["/tokensvc", "healthcheck"]
ENTRYPOINT ["/tokensvc"]
CMD ["serve"]
