package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/recloop/recloop/llm"
	"github.com/recloop/recloop/runner"
)

// progress reports a run as it goes: a live line on a terminal, plain
// periodic lines in CI logs. It is the CLI's runner.Observer.
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

// Started prints what is about to run and starts the live line.
func (p *progress) Started(s runner.Start) {
	what := ""
	if s.Shard != nil {
		what = fmt.Sprintf(" (shard %d/%d of %d worlds)", s.Shard.Index, s.Shard.Count, s.Worlds)
	}
	fmt.Fprintf(p.w, "recloop: %s: %d personas × %d variants × %d rounds, slate %d, %d items%s\n",
		s.Scenario, s.Personas, s.Variants, s.Rounds, s.Slate, s.Items, what)
	p.tty, p.start, p.rounds, p.llm, p.stop = isTerminal(p.w), time.Now(), s.Rounds, s.LLM, make(chan struct{})
	p.every = 30 * time.Second
	if p.tty {
		p.every = 500 * time.Millisecond
	}
	if p.tty || s.LLM != nil {
		p.wg.Add(1)
		go p.tick()
	}
}

// Judged prints what a judging pass did.
func (p *progress) Judged(j runner.Judging) {
	parts := make([]string, len(j.Panel))
	for i, name := range j.Panel {
		parts[i] = fmt.Sprintf("%s %d verdicts, %d failed", name, j.Verdicts[name], j.Errors[name])
	}
	fmt.Fprintf(p.w, "recloop: judged %d explanations (%s) in %s\n", j.Explanations, strings.Join(parts, "; "), j.Elapsed.Round(time.Millisecond))
}

func isTerminal(w io.Writer) bool {
	for u, ok := w.(interface{ Unwrap() io.Writer }); ok; u, ok = w.(interface{ Unwrap() io.Writer }) {
		w = u.Unwrap()
	}
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

// RoundDone is the simulator's round hook. Off a terminal it logs about
// ten lines per run, whatever the number of rounds.
func (p *progress) RoundDone(round, rounds int) {
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

// Simulated stops the ticker and ends the live line.
func (p *progress) Simulated() {
	close(p.stop)
	p.wg.Wait()
	if p.tty {
		p.print()
		fmt.Fprintln(p.w)
	}
}
