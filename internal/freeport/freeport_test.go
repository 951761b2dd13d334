package freeport

import (
	"net"
	"strconv"
	"testing"
)

// TestAddrIsOutsideTheEphemeralRange checks that picked ports are free and
// never ones the kernel could hand to an outgoing connection.
func TestAddrIsOutsideTheEphemeralRange(t *testing.T) {
	lo, hi := ephemeralRange()
	for range 50 {
		addr, err := Addr()
		if err != nil {
			t.Fatal(err)
		}
		_, p, _ := net.SplitHostPort(addr)
		port, _ := strconv.Atoi(p)
		if port < 1024 || (lo <= port && port <= hi) || port > 65535 {
			t.Fatalf("picked port %d, inside the ephemeral range %d-%d or privileged", port, lo, hi)
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatalf("picked %s, which cannot be bound: %v", addr, err)
		}
		ln.Close()
	}
}

func TestInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, err = net.Listen("tcp", ln.Addr().String())
	if !InUse(err, "") {
		t.Errorf("InUse(%v) = false", err)
	}
	if !InUse(nil, "tokensvc: listen on TOKENSVC_ADDR 127.0.0.1:5: listen tcp 127.0.0.1:5: bind: address already in use\n") {
		t.Error("InUse misses a child's message")
	}
	if InUse(nil, "tokensvc: configuration") {
		t.Error("InUse of another failure")
	}
}
