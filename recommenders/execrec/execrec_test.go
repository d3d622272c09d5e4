//go:build unix

package execrec

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/recloop/recloop/catalog"
	"github.com/recloop/recloop/recommenders"
	"github.com/recloop/recloop/recommenders/protocol"
	"github.com/recloop/recloop/recommenders/protocol/prototest"
)

const helperEnv = "RECLOOP_EXECREC_HELPER"

// TestHelperProcess is not a test: it is the child the other tests start,
// re-executing the test binary, behaving as RECLOOP_EXECREC_HELPER says.
func TestHelperProcess(t *testing.T) {
	mode := os.Getenv(helperEnv)
	if mode == "" {
		return
	}
	out := bufio.NewWriter(os.Stdout)
	send := func(v any) {
		data, _ := json.Marshal(v)
		_, _ = out.Write(append(data, '\n'))
		_ = out.Flush()
	}
	version, name := protocol.Version, "helper"
	switch mode {
	case "wrong-version":
		version = 99
	case "no-handshake":
		fmt.Println("loading model...")
	case "grandchild":
		gc := exec.Command("sleep", "60")
		if err := gc.Start(); err != nil {
			os.Exit(2)
		}
		name = "grandchild:" + strconv.Itoa(gc.Process.Pid)
	}
	var capabilities []string
	if mode == "chat" {
		capabilities = []string{protocol.CapabilityChat}
	}
	if mode != "no-handshake" {
		send(protocol.Handshake{Type: protocol.TypeHandshake, Protocol: version, Name: name, Capabilities: capabilities})
	}
	fmt.Fprintln(os.Stderr, "helper ready")
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(nil, 1<<24)
	for in.Scan() {
		var m protocol.RecommendRequest
		if err := json.Unmarshal(in.Bytes(), &m); err != nil {
			os.Exit(4)
		}
		if err := prototest.Validate(prototest.SchemaFor(m.Type), in.Bytes()); err != nil {
			send(protocol.Error{Type: protocol.TypeError, ID: m.ID, Error: err.Error()})
			continue
		}
		switch m.Type {
		case protocol.TypeHealth:
			send(protocol.HealthResponse{Type: protocol.TypeHealth, ID: m.ID, Protocol: protocol.Version, Status: "ok"})
		case protocol.TypeRecommend:
			switch mode {
			case "crash":
				os.Exit(3)
			case "huge":
				send(protocol.Error{Type: protocol.TypeError, ID: m.ID, Error: strings.Repeat("x", 4096)})
				continue
			}
			send(protocol.RecommendResponse{Type: protocol.TypeSlate, ID: m.ID,
				Items: []protocol.ResponseItem{{ID: "b", Score: 2}, {ID: "c", Score: 1}}})
		case protocol.TypeChat:
			message := "Two sci-fi films:"
			send(protocol.ChatReply{Type: protocol.TypeReply, ID: m.ID, Message: &message,
				Items: []protocol.ResponseItem{{ID: "b", Score: 2, Explanation: "sci-fi"}}})
		default:
			send(protocol.Ack{Type: protocol.TypeAck, ID: m.ID})
		}
	}
	os.Exit(0)
}

func helperCommand(t testing.TB, mode string) string {
	t.Helper()
	t.Setenv(helperEnv, mode)
	return fmt.Sprintf("'%s' -test.run=^TestHelperProcess$", os.Args[0])
}

func build(t *testing.T, command string, raw map[string]any) (*protocol.Adapter, error) {
	t.Helper()
	return buildLogged(t, command, raw, nil)
}

func buildLogged(t *testing.T, command string, raw map[string]any, logger *slog.Logger) (*protocol.Adapter, error) {
	t.Helper()
	return prototest.Build(t, Spec, New, recommenders.Env{Catalog: prototest.Catalog(t), Seed: 5, Variant: "child", Dir: ".", Logger: logger},
		map[string]any{"command": command, "restart_backoff": "1ms", "handshake_timeout": "10s"}, raw)
}

var req = prototest.Request

func TestHelperChild(t *testing.T) {
	// The child's stderr reaches the logger in the environment, not the
	// process-wide default.
	var logged, global syncBuffer
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&global, nil)))
	defer slog.SetDefault(prev)
	a, err := buildLogged(t, helperCommand(t, "ok"), nil, slog.New(slog.NewTextHandler(&logged, nil)))
	if err != nil {
		t.Fatal(err)
	}
	// Concurrent requests share the one child, multiplexed by id.
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			r := req
			r.User = "u" + strconv.Itoa(i)
			sl, err := a.Recommend(context.Background(), r)
			if err != nil || len(sl.Items) != 2 || sl.Items[0].Item != "b" {
				t.Errorf("slate %+v, err %v", sl.Items, err)
			}
		})
	}
	wg.Wait()
	if err := a.Observe(context.Background(), []recommenders.Feedback{{User: "u", Round: 0, Item: "b", Rank: 1, Clicked: true}}); err != nil {
		t.Fatal(err)
	}
	if v := a.Violations(); len(v) != 0 {
		t.Errorf("violations = %v", v)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	// Close waited for the child's stderr to end, so its line is logged.
	if log := logged.String(); !strings.Contains(log, `line="helper ready"`) || !strings.Contains(log, "variant=child") || !strings.Contains(log, "recommender=exec") {
		t.Errorf("the child's stderr was not mirrored with its name:\n%s", log)
	}
	if log := global.String(); log != "" {
		t.Errorf("the default logger got:\n%s", log)
	}
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestWrongHandshake(t *testing.T) {
	_, err := build(t, helperCommand(t, "wrong-version"), nil)
	if !errors.Is(err, protocol.ErrVersion) || !strings.Contains(err.Error(), "version 99") || !strings.Contains(err.Error(), "recloop speaks version 1") {
		t.Fatalf("err = %v, want a version mismatch naming 99 and 1", err)
	}
	_, err = build(t, helperCommand(t, "no-handshake"), nil)
	if !errors.Is(err, protocol.ErrMalformed) || !strings.Contains(err.Error(), "loading model") {
		t.Fatalf("err = %v, want a missing-handshake error quoting the line", err)
	}
}

func TestCrashRestartsThenFails(t *testing.T) {
	a, err := build(t, helperCommand(t, "crash"), map[string]any{"restarts": 2})
	if err != nil {
		t.Fatal(err)
	}
	// Call 1 kills the first child; calls 2 and 3 restart it (replaying the
	// reset) and kill it again; call 4 finds the limit spent.
	for i := 1; i <= 4; i++ {
		_, err := a.Recommend(context.Background(), req)
		if !errors.Is(err, protocol.ErrCrashed) {
			t.Fatalf("call %d: err = %v, want ErrCrashed", i, err)
		}
		if i == 4 && !strings.Contains(err.Error(), "restarted 2 times, the limit (restarts: 2)") {
			t.Errorf("call 4: err = %v, want the restart limit named", err)
		}
	}
	if v := a.Violations()["crash"]; v != 4 {
		t.Errorf("crash violations = %d, want 4", v)
	}
}

func TestOversizedLine(t *testing.T) {
	a, err := build(t, helperCommand(t, "huge"), map[string]any{"max_line_bytes": 1024, "restarts": 1})
	if err != nil {
		t.Fatal(err)
	}
	_, err = a.Recommend(context.Background(), req)
	if !errors.Is(err, protocol.ErrOversized) {
		t.Fatalf("err = %v, want ErrOversized", err)
	}
	if v := a.Violations(); v["oversized"] != 1 || len(v) != 1 {
		t.Errorf("violations = %v, want one oversized", v)
	}
}

func TestCloseKillsTheProcessGroup(t *testing.T) {
	tr := &transport{argv: mustSplit(t, helperCommand(t, "grandchild")), timeout: 10 * time.Second, sendTimeout: 10 * time.Second,
		handshakeTimeout: 10 * time.Second, maxLine: 1 << 20, log: slog.New(slog.DiscardHandler)}
	c, err := tr.live(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	pid := c.pid()
	gc, err := strconv.Atoi(strings.TrimPrefix(c.name, "grandchild:"))
	if err != nil {
		t.Fatalf("handshake name %q", c.name)
	}
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	if err := tr.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("child %d still exists after Close (kill 0: %v)", pid, err)
	}
	// The grandchild is not ours to reap: it is gone once init reaps it.
	for i := 0; ; i++ {
		if err := syscall.Kill(gc, 0); errors.Is(err, syscall.ESRCH) {
			break
		}
		if i == 200 {
			t.Fatalf("grandchild %d survived Close", gc)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := tr.Recommend(context.Background(), &protocol.RecommendRequest{ID: "x"}); !errors.Is(err, ErrClosed) {
		t.Errorf("Recommend after Close: err = %v, want ErrClosed", err)
	}
}

func mustSplit(t *testing.T, s string) []string {
	t.Helper()
	argv, err := SplitArgs(s)
	if err != nil {
		t.Fatal(err)
	}
	return argv
}

func TestPythonExample(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 not on PATH")
	}
	p, _ := Spec.Resolve(nil, "", map[string]any{"command": "python3 recommender.py"})
	cat, err := catalog.Synthetic(catalog.SyntheticConfig{Items: 200})
	if err != nil {
		t.Fatal(err)
	}
	r, err := New(t.Context(), recommenders.Env{Catalog: cat, Seed: 3, Variant: "py", Dir: "../../examples/python-recommender"}, p)
	if err != nil {
		t.Fatal(err)
	}
	defer r.(*protocol.Adapter).Close()
	hist := []recommenders.HistoryItem{{Item: cat.Item(0).ID, Round: -1}, {Item: cat.Item(5).ID, Round: -1}}
	sl, err := r.Recommend(context.Background(), recommenders.Request{User: "u", Round: 0, K: 10, History: hist})
	if err != nil {
		t.Fatal(err)
	}
	if len(sl.Items) != 10 || sl.Items[0].Explanation == "" {
		t.Errorf("slate = %+v", sl.Items)
	}
	fb := []recommenders.Feedback{{User: "u", Round: 0, Item: sl.Items[0].Item, Rank: 1, Clicked: true}}
	if err := r.Observe(context.Background(), fb); err != nil {
		t.Fatal(err)
	}
}

func TestSplitArgs(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"python3 rec.py", []string{"python3", "rec.py"}},
		{`  a   'b c'  "d \"e\""  f\ g `, []string{"a", "b c", `d "e"`, "f g"}},
		{`x '' "$HOME" *`, []string{"x", "", "$HOME", "*"}},
	} {
		got, err := SplitArgs(tc.in)
		if err != nil || strings.Join(got, "|") != strings.Join(tc.want, "|") || len(got) != len(tc.want) {
			t.Errorf("SplitArgs(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "   ", `a 'b`, `a "b`, `a \`} {
		if _, err := SplitArgs(bad); !errors.Is(err, ErrConfig) {
			t.Errorf("SplitArgs(%q) err = %v, want ErrConfig", bad, err)
		}
	}
}

func FuzzSplitArgs(f *testing.F) {
	for _, s := range []string{"python3 rec.py", `a 'b c' "d \"e\"" f\ g`, `'`, `\`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		args, err := SplitArgs(s)
		if err == nil && len(args) == 0 {
			t.Fatalf("SplitArgs(%q) returned no words and no error", s)
		}
		// Quoting every word and splitting again gives the same words.
		if err == nil {
			quoted := make([]string, len(args))
			for i, a := range args {
				quoted[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
			}
			again, err := SplitArgs(strings.Join(quoted, " "))
			if err != nil || strings.Join(again, "\x00") != strings.Join(args, "\x00") {
				t.Fatalf("round trip of %q: %q, %v", args, again, err)
			}
		}
	})
}

// A child that declares the chat capability converses; one that does not
// is refused, by type assertion and by error.
func TestChatOverThePipe(t *testing.T) {
	a, err := build(t, helperCommand(t, "chat"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !recommenders.Converses(a) {
		t.Fatal("the child declared chat but does not converse")
	}
	reply, err := a.Respond(t.Context(), recommenders.ChatRequest{Conversation: "child/u/0", User: "u", K: 2,
		Messages: []recommenders.ChatMessage{{Role: recommenders.SpeakerUser, Content: "sci-fi please"}}})
	if err != nil || reply.Message != "Two sci-fi films:" || len(reply.Items) != 1 || reply.Items[0].Item != "b" {
		t.Fatalf("reply %+v, %v", reply, err)
	}
	plain, err := build(t, helperCommand(t, "ok"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if recommenders.Converses(plain) {
		t.Fatal("a child without the chat capability converses")
	}
}

// The Python conversational example, run as the child it is meant to be:
// its handshake declares chat, and it asks, then proposes.
func TestPythonChatExampleOverThePipe(t *testing.T) {
	argv := prototest.PythonChatExample(t)
	a, err := prototest.Build(t, Spec, New, recommenders.Env{Catalog: prototest.ChatCatalog(t), Seed: 5, Variant: "py", Dir: "."},
		map[string]any{"command": strings.Join(argv, " ")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	prototest.CheckPythonChatExample(t, a)
}
