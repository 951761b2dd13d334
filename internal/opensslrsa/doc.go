// Package opensslrsa signs with RSA keys held by the machine's OpenSSL
// (libcrypto 3), reached through cgo.
//
// It exists for speed: on CPUs with AVX-512 IFMA, OpenSSL 3 signs RSA-2048
// about twice as fast as Go's crypto/rsa or BoringCrypto, and minting a token
// is one signature. It is built only with the "openssl" build tag and cgo
// (the release build; see the Makefile), so that `go run` and `go test` work
// on a machine without OpenSSL's headers. Without the tag the package is
// empty and tokensvc signs with crypto/rsa.
package opensslrsa
