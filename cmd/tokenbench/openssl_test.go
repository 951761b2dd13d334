package main

import (
	"math"
	"testing"
)

func TestParseOpensslSpeed(t *testing.T) {
	for _, tc := range []struct {
		name    string
		out     string
		signs   float64
		version string
		wantErr bool
	}{
		{name: "OpenSSL 3.0.19, -multi 1", out: string(readTestdata(t, "openssl-speed-3.0.19-multi1.txt")), signs: 1732.4, version: "3.0.19"},
		// A table with more columns than 3.0 prints: the header places sign/s.
		{name: "more columns", out: "version: 3.5.0\n                   sign    verify    encrypt    decrypt   sign/s verify/s  encr./s  decr./s\nrsa 2048 bits 0.000500s 0.000020s 0.000021s 0.000510s   2000.0  50000.0  48000.0   1960.0\n", signs: 2000, version: "3.5.0"},
		{name: "no table", out: "Forked child 0\n", wantErr: true},
		{name: "not a number", out: "sign verify sign/s verify/s\nrsa 2048 bits 1s 1s x y\n", wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseOpensslSpeed([]byte(tc.out))
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if tc.wantErr {
				return
			}
			if got.SignsPS != tc.signs || got.Version != tc.version || math.Abs(got.PerSignUS-1e6/tc.signs) > 1e-9 {
				t.Errorf("got %+v, want %v signs/s of OpenSSL %s", got, tc.signs, tc.version)
			}
		})
	}
}
