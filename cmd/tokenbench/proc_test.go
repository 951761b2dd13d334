package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseStatCPU(t *testing.T) {
	for _, tc := range []struct {
		name    string
		stat    string
		want    time.Duration
		wantErr bool
	}{
		// utime 1234 + stime 567 ticks at USER_HZ 100; the command name
		// holds a space and parentheses.
		{name: "sample", stat: string(readTestdata(t, "proc-stat.txt")), want: 18010 * time.Millisecond},
		{name: "this process", stat: string(mustRead(t, "/proc/self/stat")), want: -1},
		{name: "truncated", stat: "1 (x) S 1 2 3", wantErr: true},
		{name: "no command", stat: "1 x S", wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseStatCPU([]byte(tc.stat))
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if tc.want >= 0 && got != tc.want {
				t.Errorf("cpu = %v, want %v", got, tc.want)
			}
		})
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Skipf("no %s: %v", path, err)
	}
	return b
}

func TestParseStatusMemory(t *testing.T) {
	rss, hwm, err := parseStatusMemory(readTestdata(t, "proc-status.txt"))
	if err != nil || rss != 1780 || hwm != 1780 {
		t.Errorf("got rss %d hwm %d err %v, want 1780 1780", rss, hwm, err)
	}
	if _, _, err := parseStatusMemory([]byte("Name:\tkthreadd\nState:\tS (sleeping)\n")); err == nil {
		t.Error("a kernel thread's status (no Vm lines) parsed")
	}
}

func TestListeningInodes(t *testing.T) {
	table := readTestdata(t, "proc-net-tcp.txt")
	for _, tc := range []struct {
		port int
		want []string
	}{
		{19155, []string{"777001"}}, // listening on 0.0.0.0; the established socket on the same port is not
		{6379, []string{"4551"}},
		{1, nil},
	} {
		if got := listeningInodes(table, tc.port); !slices.Equal(got, tc.want) {
			t.Errorf("port %d: got %v, want %v", tc.port, got, tc.want)
		}
	}
}

// TestFindListener builds a /proc-shaped directory: a socket table and two
// processes, one of which holds the listening socket.
func TestFindListener(t *testing.T) {
	root := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(root, "net"), 0o755))
	must(os.WriteFile(filepath.Join(root, "net", "tcp"), readTestdata(t, "proc-net-tcp.txt"), 0o644))
	for pid, target := range map[string]string{"100": "socket:[777002]", "4242": "socket:[777001]"} {
		must(os.MkdirAll(filepath.Join(root, pid, "fd"), 0o755))
		must(os.Symlink("/dev/null", filepath.Join(root, pid, "fd", "0")))
		must(os.Symlink(target, filepath.Join(root, pid, "fd", "3")))
	}
	if pid, err := findListener(root, 19155); err != nil || pid != 4242 {
		t.Errorf("port 19155: pid %d, err %v; want 4242", pid, err)
	}
	if _, err := findListener(root, 6379); err == nil || !strings.Contains(err.Error(), "no process") {
		t.Errorf("a socket nobody here holds: err %v", err)
	}
	if _, err := findListener(root, 1); err == nil || !strings.Contains(err.Error(), "no socket") {
		t.Errorf("a port nobody listens on: err %v", err)
	}
}

func TestParseMachineBusy(t *testing.T) {
	// user 1000 + nice 20 + system 300 + irq 5 + softirq 6 + steal 7 ticks;
	// idle and iowait left out.
	got, err := parseMachineBusy(readTestdata(t, "proc-stat-machine.txt"))
	if err != nil || got != 13380*time.Millisecond {
		t.Errorf("got %v, %v; want 13.38s", got, err)
	}
	if _, err := parseMachineBusy([]byte("intr 1\n")); err == nil {
		t.Error("a stat without a cpu line parsed")
	}
}
