package main

// The KMS drivers TOKENSVC_MASTER_KEY_URL can name, registered with
// gocloud.dev/secrets by importing them. They live in this one file so that
// only the binary compiles the cloud SDKs they bring: internal packages use
// the secrets core alone, and their tests build without those SDKs.
import (
	_ "gocloud.dev/secrets/awskms"        // awskms://
	_ "gocloud.dev/secrets/azurekeyvault" // azurekeyvault://
	_ "gocloud.dev/secrets/gcpkms"        // gcpkms://
	_ "gocloud.dev/secrets/hashivault"    // hashivault://
	_ "gocloud.dev/secrets/localsecrets"  // base64key://, for tests and development
)
