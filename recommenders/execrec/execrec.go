// Package execrec is the recommender named "exec": an external recommender
// that recloop starts as a long-lived child process and talks to with
// newline-delimited JSON over its stdin and stdout (docs/protocol.md).
// Importing it registers the name.
//
// Requests are multiplexed by id: any number may be in flight, and the
// child may answer them in any order. A simple child that reads a line and
// answers it before reading the next works unchanged; a child with worker
// threads can answer as each finishes. Serialising the calls instead would
// make every call wait for all the calls before it.
package execrec

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/recloop/recloop/config"
	"github.com/recloop/recloop/recommenders"
	"github.com/recloop/recloop/recommenders/protocol"
)

// Name is the registered name of the subprocess adapter.
const Name = "exec"

var (
	// ErrConfig marks a parameter the adapter cannot work with.
	ErrConfig = errors.New("execrec: invalid configuration")
	// ErrClosed is returned by calls after Close.
	ErrClosed = errors.New("execrec: recommender closed")
)

// Spec describes the adapter's parameters.
var Spec = config.Spec{
	Name: Name,
	Summary: "An external recommender run as a child process (no shell), speaking recloop's protocol " +
		"(docs/protocol.md) as newline-delimited JSON on stdin and stdout. The child writes a handshake line first; " +
		"its stderr goes to recloop's log. Each world runs its own child, in a process group of its own that is killed " +
		"when the run ends. A child that exits is restarted with backoff, up to `restarts` times.",
	Params: append([]config.Param{
		{Name: "command", Kind: config.String, Default: "",
			Doc: "The command line, split into words like a shell would but never run by one, for example " +
				"`python3 recommender.py --factors 16`; it runs in the scenario's directory. Required."},
		{Name: "timeout", Kind: config.Duration, Default: 10 * time.Second, Min: config.AtLeast(0.001),
			Doc: "Longest wait for the answer to a recommend or chat call (the variant's `timeout` also bounds them)."},
		{Name: "handshake_timeout", Kind: config.Duration, Default: 10 * time.Second, Min: config.AtLeast(0.001),
			Doc: "Longest wait for the handshake line after the child starts."},
		{Name: "restarts", Kind: config.Int, Default: 3, Min: config.AtLeast(0.0), Max: config.AtMost(100.0),
			Doc: "How many times a child that exited is started again before every call fails."},
		{Name: "restart_backoff", Kind: config.Duration, Default: 200 * time.Millisecond,
			Doc: "Wait before the first restart; it doubles with each further one."},
		{Name: "max_line_bytes", Kind: config.Int, Default: 1 << 20, Min: config.AtLeast(64.0),
			Doc: "Longest line the child may write; a longer one stops the child (counted as `oversized`)."},
	}, protocol.CommonParams...),
}

func init() {
	recommenders.Register(Spec, New)
}

// New starts the child for one world, checks its handshake and health, and
// sends the world's reset.
func New(ctx context.Context, env recommenders.Env, p config.Params) (recommenders.Recommender, error) {
	return protocol.Open(ctx, env, p, func(ctx context.Context) (protocol.Transport, error) {
		r := p.Reader(Name)
		command := r.String("command")
		t := &transport{
			dir: env.Dir, variant: env.Variant, log: env.Log(),
			timeout: r.Duration("timeout"), sendTimeout: r.Duration("feedback_timeout"), handshakeTimeout: r.Duration("handshake_timeout"),
			maxRestarts: r.Int("restarts"), restartBackoff: r.Duration("restart_backoff"), maxLine: r.Int("max_line_bytes"),
		}
		if err := r.Err(); err != nil {
			return nil, err
		}
		argv, err := SplitArgs(command)
		if err != nil {
			return nil, err
		}
		t.argv = argv
		if _, err := t.live(ctx); err != nil {
			return nil, errors.Join(err, t.Close())
		}
		return t, nil
	})
}

type transport struct {
	argv             []string
	dir              string
	variant          string
	log              *slog.Logger
	timeout          time.Duration
	sendTimeout      time.Duration
	handshakeTimeout time.Duration
	maxRestarts      int
	restartBackoff   time.Duration
	maxLine          int

	mu        sync.Mutex // guards everything below
	proc      *child
	restarts  int
	closed    bool
	lastReset *protocol.Reset
	seq       int
}

// child is one running process.
type child struct {
	cmd    *exec.Cmd
	stdin  *os.File
	name   string // from the handshake
	chat   bool   // the handshake declared the chat capability
	wmu    sync.Mutex
	pmu    sync.Mutex
	wait   map[string]chan []byte
	kmu    sync.Mutex
	reaped bool // set, under kmu, once the group is killed for reaping
	done   chan struct{}
	exited error // set before done is closed
}

func (c *child) pid() int { return c.cmd.Process.Pid }

func (c *child) alive() bool {
	select {
	case <-c.done:
		return false
	default:
		return true
	}
}

func (t *transport) label() string { return strings.Join(t.argv, " ") }

// live returns the running child, starting it the first time and
// restarting it (with backoff, within the limit) after it exited. A
// restarted child gets the world's last reset again before anything else.
func (t *transport) live(ctx context.Context) (*child, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return nil, ErrClosed
	}
	if t.proc != nil && t.proc.alive() {
		return t.proc, nil
	}
	if t.proc != nil {
		if t.restarts >= t.maxRestarts {
			return nil, fmt.Errorf("%w: %q exited and was restarted %d times, the limit (restarts: %d); last exit: %v",
				protocol.ErrCrashed, t.label(), t.restarts, t.maxRestarts, t.proc.exited)
		}
		t.restarts++
		t.log.Warn("restarting recommender process", "recommender", Name, "variant", t.variant,
			"command", t.label(), "restart", t.restarts, "of", t.maxRestarts, "exit", t.proc.exited)
		if err := protocol.Sleep(ctx, t.restartBackoff<<min(t.restarts-1, 20)); err != nil {
			return nil, err
		}
	}
	c, err := t.start()
	if err != nil {
		return nil, err
	}
	t.proc = c
	t.seq++
	health := protocol.HealthRequest{Type: protocol.TypeHealth, Protocol: protocol.Version, ID: fmt.Sprintf("health-%d", t.seq)}
	if err := t.expect(ctx, c, health.ID, health, protocol.TypeHealth); err != nil {
		return nil, fmt.Errorf("execrec: health check of %q: %w", t.label(), err)
	}
	if t.lastReset != nil {
		if err := t.expect(ctx, c, t.lastReset.ID, t.lastReset, protocol.TypeAck); err != nil {
			return nil, fmt.Errorf("execrec: replaying the reset after a restart: %w", err)
		}
	}
	return c, nil
}

// start launches the child and reads its handshake.
func (t *transport) start() (*child, error) {
	cmd := exec.Command(t.argv[0], t.argv[1:]...)
	cmd.Dir = t.dir
	ownGroup(cmd)
	stdinR, stdinW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd.Stdin = stdinR
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, errors.Join(err, stdinR.Close(), stdinW.Close())
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, errors.Join(err, stdinR.Close(), stdinW.Close())
	}
	if err := cmd.Start(); err != nil {
		return nil, errors.Join(fmt.Errorf("execrec: starting %q: %w", t.label(), err), stdinR.Close(), stdinW.Close())
	}
	_ = stdinR.Close()
	c := &child{cmd: cmd, stdin: stdinW, wait: map[string]chan []byte{}, done: make(chan struct{})}
	first := make(chan []byte, 1)
	stderrDone := make(chan struct{})
	go t.mirror(stderr, stderrDone)
	go t.read(c, stdout, first, stderrDone)

	timer := time.NewTimer(t.handshakeTimeout)
	defer timer.Stop()
	var line []byte
	select {
	case line = <-first:
	case <-c.done:
		return nil, fmt.Errorf("%w: %q exited before its handshake: %v", protocol.ErrCrashed, t.label(), c.exited)
	case <-timer.C:
		c.stop()
		return nil, fmt.Errorf("execrec: %q wrote no handshake line within %v", t.label(), t.handshakeTimeout)
	}
	var hs protocol.Handshake
	if err := json.Unmarshal(line, &hs); err != nil || hs.Type != protocol.TypeHandshake {
		c.stop()
		return nil, fmt.Errorf("%w: %q must first write a handshake line such as {\"type\":\"handshake\",\"protocol\":%d}, wrote %q",
			protocol.ErrMalformed, t.label(), protocol.Version, protocol.Clip(line))
	}
	if hs.Protocol != protocol.Version {
		c.stop()
		return nil, fmt.Errorf("%w: %q speaks protocol version %d, recloop speaks version %d",
			protocol.ErrVersion, t.label(), hs.Protocol, protocol.Version)
	}
	c.name, c.chat = hs.Name, protocol.Converses(hs.Capabilities)
	return c, nil
}

// mirror copies the child's stderr into the log, line by line, as warnings:
// what a child prints there is mostly tracebacks, which must be seen at
// recloop's default log level.
func (t *transport) mirror(stderr io.Reader, done chan<- struct{}) {
	defer close(done)
	sc := bufio.NewScanner(stderr)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		t.log.Warn("recommender stderr", "recommender", Name, "variant", t.variant, "command", t.argv[0], "line", sc.Text())
	}
	_, _ = io.Copy(io.Discard, stderr)
}

// read routes each line the child writes to the call waiting for its id;
// the first line goes to first. When stdout ends the child is finished: its
// process group is killed (taking any children it left), it is reaped, and
// every waiting call fails.
func (t *transport) read(c *child, stdout io.Reader, first chan<- []byte, stderrDone <-chan struct{}) {
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 0, min(64*1024, t.maxLine)), t.maxLine)
	handshake := true
	for sc.Scan() {
		line := append([]byte(nil), sc.Bytes()...)
		if handshake {
			handshake = false
			first <- line
			continue
		}
		var env protocol.Envelope
		if err := json.Unmarshal(protocol.Sanitize(line), &env); err != nil || env.ID == "" {
			t.log.Warn("recommender wrote a line that answers nothing", "recommender", Name, "variant", t.variant, "line", protocol.Clip(line))
			continue
		}
		c.pmu.Lock()
		ch, ok := c.wait[env.ID]
		delete(c.wait, env.ID)
		c.pmu.Unlock()
		if ok {
			ch <- line
		}
	}
	scanErr := sc.Err()
	// The group is killed before the child is reaped, so its id cannot
	// have been reused by then.
	c.kmu.Lock()
	killGroup(c.pid())
	c.reaped = true
	c.kmu.Unlock()
	<-stderrDone
	waitErr := c.cmd.Wait()
	switch {
	case errors.Is(scanErr, bufio.ErrTooLong):
		c.exited = fmt.Errorf("%w: a line longer than max_line_bytes (%d)", protocol.ErrOversized, t.maxLine)
	case waitErr != nil:
		c.exited = waitErr
	default:
		c.exited = errors.New("closed its stdout")
	}
	_ = c.stdin.Close()
	close(c.done)
}

// stop ends the child: stdin is closed so that a well-behaved child exits
// by itself, and after a short grace the process group is killed.
func (c *child) stop() {
	c.wmu.Lock()
	_ = c.stdin.Close()
	c.wmu.Unlock()
	timer := time.NewTimer(500 * time.Millisecond)
	defer timer.Stop()
	select {
	case <-c.done:
		return
	case <-timer.C:
	}
	c.kmu.Lock()
	if !c.reaped {
		killGroup(c.pid())
	}
	c.kmu.Unlock()
	<-c.done
}

// roundTrip writes one message and waits for the line answering its id.
func (t *transport) roundTrip(ctx context.Context, c *child, id string, msg any, timeout time.Duration) ([]byte, error) {
	line, err := json.Marshal(msg)
	if err != nil {
		return nil, err
	}
	line = append(line, '\n')
	ch := make(chan []byte, 1)
	c.pmu.Lock()
	c.wait[id] = ch
	c.pmu.Unlock()
	defer func() {
		c.pmu.Lock()
		delete(c.wait, id)
		c.pmu.Unlock()
	}()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c.wmu.Lock()
	if d, ok := ctx.Deadline(); ok {
		_ = c.stdin.SetWriteDeadline(d)
	}
	_, err = c.stdin.Write(line)
	c.wmu.Unlock()
	if err != nil {
		if !c.alive() {
			return nil, t.crashed(c)
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("execrec: writing message %s: %w", id, ctx.Err())
		}
		return nil, fmt.Errorf("execrec: writing message %s: %w", id, err)
	}
	select {
	case answer := <-ch:
		return answer, nil
	case <-c.done:
		return nil, t.crashed(c)
	case <-ctx.Done():
		return nil, fmt.Errorf("execrec: waiting for the answer to %s: %w", id, ctx.Err())
	}
}

func (t *transport) crashed(c *child) error {
	if errors.Is(c.exited, protocol.ErrOversized) {
		return fmt.Errorf("execrec: %q: %w", t.label(), c.exited)
	}
	return fmt.Errorf("%w: %q: %v", protocol.ErrCrashed, t.label(), c.exited)
}

// expect sends msg and checks that the answer has the wanted type.
func (t *transport) expect(ctx context.Context, c *child, id string, msg any, want string) error {
	answer, err := t.roundTrip(ctx, c, id, msg, t.sendTimeout)
	if err != nil {
		return err
	}
	var env protocol.Envelope
	if err := json.Unmarshal(answer, &env); err != nil {
		return fmt.Errorf("%w: %w", protocol.ErrMalformed, err)
	}
	switch env.Type {
	case want:
		return nil
	case protocol.TypeError:
		return fmt.Errorf("%w: %s", protocol.ErrRemote, env.Error)
	}
	return fmt.Errorf("%w: answered %s with type %q, want %q", protocol.ErrMalformed, id, env.Type, want)
}

func (t *transport) Recommend(ctx context.Context, req *protocol.RecommendRequest) (*protocol.RecommendResponse, error) {
	c, err := t.live(ctx)
	if err != nil {
		return nil, err
	}
	answer, err := t.roundTrip(ctx, c, req.ID, req, t.timeout)
	if err != nil {
		return nil, err
	}
	return protocol.DecodeSlate(answer)
}

// Converses reports whether the running child's handshake declared the
// chat capability.
func (t *transport) Converses() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.proc != nil && t.proc.chat
}

// Chat sends one turn of a conversation and decodes the reply.
func (t *transport) Chat(ctx context.Context, req *protocol.ChatRequest) (*protocol.ChatReply, error) {
	c, err := t.live(ctx)
	if err != nil {
		return nil, err
	}
	answer, err := t.roundTrip(ctx, c, req.ID, req, t.timeout)
	if err != nil {
		return nil, err
	}
	return protocol.DecodeReply(answer)
}

func (t *transport) Send(ctx context.Context, id string, msg any) error {
	if r, ok := msg.(*protocol.Reset); ok {
		t.mu.Lock()
		t.lastReset = r
		t.mu.Unlock()
	}
	c, err := t.live(ctx)
	if err != nil {
		return err
	}
	return t.expect(ctx, c, id, msg, protocol.TypeAck)
}

// Close stops the child. It is idempotent.
func (t *transport) Close() error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil
	}
	t.closed = true
	c := t.proc
	t.mu.Unlock()
	if c != nil {
		c.stop()
	}
	return nil
}
