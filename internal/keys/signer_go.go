//go:build !cgo

package keys

// currentBackend is crypto/rsa: without cgo this build cannot reach OpenSSL.
func currentBackend() signerBackend { return signerBackend{name: goSigner} }
