package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/recloop/recloop/llm"
)

// progress reports a run as it goes: a live line on a terminal, plain
// periodic lines in CI logs.
type progress struct {
	w      io.Writer
	tty    bool
	start  time.Time
	rounds int
	done   atomic.Int64
	llm    *llm.Stack
	every  time.Duration
	stop   chan struct{}
	wg     sync.WaitGroup
	mu     sync.Mutex
}

func newProgress(w io.Writer, rounds int, stack *llm.Stack) *progress {
	p := &progress{w: w, tty: isTerminal(w), start: time.Now(), rounds: rounds, llm: stack, stop: make(chan struct{})}
	p.every = 30 * time.Second
	if p.tty {
		p.every = 500 * time.Millisecond
	}
	if p.tty || stack != nil {
		p.wg.Add(1)
		go p.tick()
	}
	return p
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func (p *progress) tick() {
	defer p.wg.Done()
	t := time.NewTicker(p.every)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
			p.print()
		}
	}
}

// roundDone is the simulator's OnRound hook. Off a terminal it logs about
// ten lines per run, whatever the number of rounds.
func (p *progress) roundDone(round, rounds int) {
	p.done.Store(int64(round + 1))
	if !p.tty && ((round+1)%max(1, rounds/10) == 0 || round+1 == rounds) {
		p.print()
	}
}

func (p *progress) print() {
	p.mu.Lock()
	defer p.mu.Unlock()
	line := p.line()
	if p.tty {
		fmt.Fprintf(p.w, "\r\033[K%s", line)
		return
	}
	fmt.Fprintln(p.w, line)
}

func (p *progress) line() string {
	done := int(p.done.Load())
	elapsed := time.Since(p.start)
	s := fmt.Sprintf("recloop: round %d/%d (%s", done, p.rounds, elapsed.Round(time.Second))
	if done > 0 && done < p.rounds {
		eta := time.Duration(float64(elapsed) / float64(done) * float64(p.rounds-done))
		s += ", ETA " + eta.Round(time.Second).String()
	}
	s += ")"
	if p.llm != nil {
		u := p.llm.Usage().Total
		s += fmt.Sprintf(" · LLM %d calls, %d cached, %d tokens, $%.4f", u.Calls, u.CacheHits, u.PromptTokens+u.CompletionTokens, u.CostUSD)
	}
	return s
}

// finish stops the ticker and ends the live line.
func (p *progress) finish() {
	close(p.stop)
	p.wg.Wait()
	if p.tty {
		p.print()
		fmt.Fprintln(p.w)
	}
}
