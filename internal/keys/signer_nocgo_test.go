//go:build !cgo

package keys_test

const wantSignerDesc = `"Go crypto/rsa": without cgo nothing else can sign`

// wantSignerName is what a build without cgo must say, whatever name is.
func wantSignerName(string) string { return "Go crypto/rsa" }
