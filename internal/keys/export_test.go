package keys

// WatchKeyGeneration makes r call before each time it generates a key.
func WatchKeyGeneration(r *Rotator, before func()) {
	generate := r.newKey
	r.newKey = func() (Record, error) {
		before()
		return generate()
	}
}
