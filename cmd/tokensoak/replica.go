package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/tokensvc/tokensvc/internal/freeport"
)

// replica is one tokensvc process of the soak. It keeps its address
// across restarts, so clients find it again as they would behind a load
// balancer.
type replica struct {
	name    string
	url     string
	binary  string
	env     []string
	logPath string

	// down is set by a client that fails to reach the replica and cleared
	// when the replica is ready again: the clients' passive health check.
	down atomic.Bool
	// restarting is set from the SIGTERM of a planned restart until the
	// replica is ready again; errors meanwhile are counted apart.
	restarting atomic.Bool
	pid        atomic.Int64

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
}

func newReplica(name, binary string, env []string, logPath string) (*replica, error) {
	r := &replica{name: name, binary: binary, env: env, logPath: logPath}
	if err := r.pickAddr(); err != nil {
		return nil, err
	}
	return r, nil
}

// pickAddr gives the replica a new address; only before its first start,
// while no client knows its address.
func (r *replica) pickAddr() error {
	addr, err := freeport.Addr()
	if err != nil {
		return err
	}
	r.env = append(slices.DeleteFunc(slices.Clone(r.env), func(kv string) bool { return strings.HasPrefix(kv, "TOKENSVC_ADDR=") }),
		"TOKENSVC_ADDR="+addr)
	r.url = "http://" + addr
	return nil
}

// start runs `tokensvc serve` and returns once /readyz answers 200. When
// its address was taken meanwhile (see freeport), the first start tries
// another address and a restart tries the same one again shortly.
func (r *replica) start(ctx context.Context, client *http.Client, first bool) error {
	for attempt := 1; ; attempt++ {
		err := r.startOnce(ctx, client)
		var inUse addrInUseError
		if !errors.As(err, &inUse) || attempt == 5 {
			return err
		}
		if first {
			if err := r.pickAddr(); err != nil {
				return err
			}
		} else {
			time.Sleep(200 * time.Millisecond)
		}
	}
}

// addrInUseError is a replica that exited at start because its address
// was taken.
type addrInUseError struct{ error }

func (r *replica) startOnce(ctx context.Context, client *http.Client) error {
	logFile, err := os.OpenFile(r.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	startedAt, err := logFile.Seek(0, io.SeekEnd)
	if err != nil {
		logFile.Close()
		return err
	}
	fmt.Fprintf(logFile, "--- tokensoak: starting replica %s at %s\n", r.name, time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(r.binary, "serve")
	cmd.Env = r.env
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return fmt.Errorf("start replica %s: %w", r.name, err)
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		logFile.Close()
		close(exited)
	}()
	r.mu.Lock()
	r.cmd, r.exited = cmd, exited
	r.mu.Unlock()
	r.pid.Store(int64(cmd.Process.Pid))

	deadline := time.Now().Add(60 * time.Second)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, r.url+"/readyz", nil)
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				r.down.Store(false)
				return nil
			}
		}
		select {
		case <-exited:
			err := fmt.Errorf("replica %s exited while starting (%s); its log: %s", r.name, cmd.ProcessState, r.logPath)
			if out, _ := os.ReadFile(r.logPath); int64(len(out)) >= startedAt && freeport.InUse(nil, string(out[startedAt:])) {
				return addrInUseError{err}
			}
			return err
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("replica %s was not ready after 60s; its log: %s", r.name, r.logPath)
		}
	}
}

// stop sends SIGTERM and waits for the process to finish the requests in
// flight and exit; after grace it kills it. It returns how long the exit
// took and the exit code.
func (r *replica) stop(grace time.Duration) (time.Duration, int, error) {
	r.mu.Lock()
	cmd, exited := r.cmd, r.exited
	r.mu.Unlock()
	if cmd == nil {
		return 0, 0, errors.New("replica " + r.name + " is not running")
	}
	began := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return 0, 0, fmt.Errorf("SIGTERM replica %s: %w", r.name, err)
	}
	select {
	case <-exited:
	case <-time.After(grace):
		cmd.Process.Kill()
		<-exited
		r.pid.Store(0)
		return time.Since(began), -1, fmt.Errorf("replica %s did not exit within %s of SIGTERM; killed", r.name, grace)
	}
	r.pid.Store(0)
	return time.Since(began), cmd.ProcessState.ExitCode(), nil
}

// kill ends the process at once, for the soak's own failures.
func (r *replica) kill() {
	r.mu.Lock()
	cmd, exited := r.cmd, r.exited
	r.mu.Unlock()
	if cmd != nil {
		cmd.Process.Kill()
		<-exited
	}
}

// rssMB reads the replica's resident set size from /proc; 0 when it is
// not running or /proc is not there.
func (r *replica) rssMB() float64 {
	pid := r.pid.Load()
	if pid == 0 {
		return 0
	}
	f, err := os.Open("/proc/" + strconv.FormatInt(pid, 10) + "/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			if err != nil {
				return 0
			}
			return kb / 1024
		}
	}
	return 0
}

// signer reads from the replica's log which signer it uses (openssl or
// go), as its start-up line says.
func (r *replica) signer() string {
	b, err := os.ReadFile(r.logPath)
	if err != nil {
		return ""
	}
	for line := range strings.Lines(string(b)) {
		if _, rest, ok := strings.Cut(line, " signer="); ok {
			if v, err := strconv.QuotedPrefix(rest); err == nil {
				v, _ = strconv.Unquote(v)
				return v
			}
			v, _, _ := strings.Cut(rest, " ")
			return strings.TrimSpace(v)
		}
	}
	return ""
}
