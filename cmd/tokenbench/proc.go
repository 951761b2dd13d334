package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// userHZ is the unit of utime and stime in /proc/<pid>/stat: USER_HZ, which
// Linux fixes at 100 ticks per second for user space on every architecture
// Go runs on, whatever the kernel's own HZ (`getconf CLK_TCK` prints it).
// The standard library has no sysconf, so it is a constant here.
const userHZ = 100

// serverProc reads what a server process has used from /proc: the figures
// a load test cannot see from the outside.
type serverProc struct {
	pid  int
	root string // "/proc", or a test's directory shaped like it
}

// rootOr is p's /proc, or the real one when p is nil.
func (p *serverProc) rootOr() string {
	if p == nil || p.root == "" {
		return "/proc"
	}
	return p.root
}

// cpu is the process's user and system CPU time so far, all threads.
func (p serverProc) cpu() (time.Duration, error) {
	b, err := os.ReadFile(filepath.Join(p.root, strconv.Itoa(p.pid), "stat"))
	if err != nil {
		return 0, fmt.Errorf("server CPU: %w", err)
	}
	return parseStatCPU(b)
}

// memory is the process's resident set now and its peak (VmRSS, VmHWM).
func (p serverProc) memory() (rssKiB, hwmKiB int64, err error) {
	b, err := os.ReadFile(filepath.Join(p.root, strconv.Itoa(p.pid), "status"))
	if err != nil {
		return 0, 0, fmt.Errorf("server memory: %w", err)
	}
	return parseStatusMemory(b)
}

// parseStatCPU adds utime and stime, fields 14 and 15 of /proc/<pid>/stat.
// The command name (field 2) is in parentheses and may itself hold spaces
// and parentheses, so fields are counted from the last ')'.
func parseStatCPU(b []byte) (time.Duration, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, errors.New("stat: no command name")
	}
	f := strings.Fields(string(b[i+1:])) // f[0] is field 3, the state
	if len(f) < 13 {
		return 0, fmt.Errorf("stat: %d fields after the command name, want at least 13", len(f))
	}
	var ticks int64
	for _, s := range f[11:13] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("stat: utime/stime %q: %w", s, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / userHZ, nil
}

// parseStatusMemory reads VmRSS and VmHWM (kB) from /proc/<pid>/status.
func parseStatusMemory(b []byte) (rssKiB, hwmKiB int64, err error) {
	found := 0
	for line := range strings.Lines(string(b)) {
		name, rest, ok := strings.Cut(line, ":")
		if !ok || (name != "VmRSS" && name != "VmHWM") {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("status: %s: %w", name, err)
		}
		if name == "VmRSS" {
			rssKiB = n
		} else {
			hwmKiB = n
		}
		found++
	}
	if found < 2 {
		return 0, 0, errors.New("status: no VmRSS and VmHWM lines")
	}
	return rssKiB, hwmKiB, nil
}

// findListener finds the process that listens on a TCP port: the socket's
// inode from /proc/net/tcp and tcp6, then the process holding a descriptor
// for it. Reading other users' descriptors needs the same user or root.
func findListener(root string, port int) (int, error) {
	inodes := map[string]bool{}
	for _, table := range []string{"tcp", "tcp6"} {
		b, err := os.ReadFile(filepath.Join(root, "net", table))
		if err != nil {
			continue // no IPv6, say
		}
		for _, ino := range listeningInodes(b, port) {
			inodes["socket:["+ino+"]"] = true
		}
	}
	if len(inodes) == 0 {
		return 0, fmt.Errorf("no socket listens on port %d", port)
	}
	fds, _ := filepath.Glob(filepath.Join(root, "[0-9]*", "fd", "*"))
	for _, fd := range fds {
		if target, err := os.Readlink(fd); err == nil && inodes[target] {
			return strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(fd))))
		}
	}
	return 0, fmt.Errorf("port %d listens, but no process of ours holds the socket (give --pid)", port)
}

// listeningInodes picks, from a /proc/net/tcp{,6} table, the inodes of the
// sockets in state LISTEN (0A) on port, whatever the address.
func listeningInodes(table []byte, port int) []string {
	var out []string
	want := fmt.Sprintf(":%04X", port)
	for line := range strings.Lines(string(table)) {
		f := strings.Fields(line)
		if len(f) < 10 || f[3] != "0A" || !strings.HasSuffix(f[1], want) {
			continue
		}
		out = append(out, f[9])
	}
	return out
}

// machineBusy is the CPU time all cores have spent on anything but idle
// and I/O wait since boot, from the first line of /proc/stat. Less the
// server's and the load tool's own, it is what other processes took during
// a step: the sign that a figure measured more than the server.
func machineBusy(root string) (time.Duration, error) {
	b, err := os.ReadFile(filepath.Join(root, "stat"))
	if err != nil {
		return 0, fmt.Errorf("machine CPU: %w", err)
	}
	return parseMachineBusy(b)
}

// parseMachineBusy adds user, nice, system, irq, softirq and steal of the
// "cpu" line (guest time is already inside user).
func parseMachineBusy(b []byte) (time.Duration, error) {
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0, errors.New("stat: no cpu line with 8 fields")
	}
	var ticks int64
	for _, i := range []int{1, 2, 3, 6, 7, 8} {
		n, err := strconv.ParseInt(f[i], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("stat: cpu field %d %q: %w", i, f[i], err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / userHZ, nil
}
