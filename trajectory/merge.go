package trajectory

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
)

// ErrShards reports shard files that do not make up one complete run.
var ErrShards = errors.New("trajectory: shards do not make one run")

// Merge combines the trajectory streams of a sharded run (recloop run
// --shard i/n, given in any order) into the stream one machine would have
// written, event for event. Every shard carries the run's full header; its
// body holds its own worlds' events in the canonical order (steps by round,
// variant, persona; then the personas' ends), so the merge is a k-way merge
// on that order.
func Merge(shards []io.Reader, sink Sink) error {
	streams := make([]*shardStream, len(shards))
	for i, r := range shards {
		s := &shardStream{rd: NewReader(r)}
		if err := s.readHeader(i); err != nil {
			return err
		}
		streams[i] = s
	}
	slices.SortFunc(streams, func(a, b *shardStream) int { return a.run.Shard.Index - b.run.Shard.Index })
	order, err := checkHeaders(streams)
	if err != nil {
		return err
	}
	run := *streams[0].run
	run.Shard = nil
	if err := sink.Write(&Event{V: SchemaVersion, Kind: KindRun, Run: &run}); err != nil {
		return err
	}
	for _, ev := range streams[0].personas {
		if err := sink.Write(ev); err != nil {
			return err
		}
	}
	for _, s := range streams {
		if err := s.advance(order); err != nil {
			return err
		}
	}
	for {
		var next *shardStream
		for _, s := range streams {
			if s.ev.Kind == KindRunEnd {
				continue
			}
			if next != nil && s.key == next.key {
				return fmt.Errorf("%w: %s and %s both hold %s", ErrShards, next.name(), s.name(), describe(s.ev))
			}
			if next == nil || s.key.less(next.key) {
				next = s
			}
		}
		if next == nil {
			break
		}
		if err := sink.Write(next.ev); err != nil {
			return err
		}
		if err := next.advance(order); err != nil {
			return err
		}
	}
	return mergeEnds(streams, sink)
}

// canonicalOrder numbers variants and personas as the run event and the
// persona events list them.
type canonicalOrder struct {
	variants map[string]int
	personas map[string]int
}

type mergeKey struct{ phase, round, variant, persona int }

func (k mergeKey) less(o mergeKey) bool {
	return slices.Compare([]int{k.phase, k.round, k.variant, k.persona}, []int{o.phase, o.round, o.variant, o.persona}) < 0
}

type shardStream struct {
	rd       *Reader
	run      *RunInfo
	personas []*Event
	ev       *Event
	key      mergeKey
	started  bool
}

func (s *shardStream) name() string {
	return fmt.Sprintf("shard %d/%d", s.run.Shard.Index, s.run.Shard.Count)
}

// readHeader reads the run event and the persona events, and leaves the
// first body event in s.ev.
func (s *shardStream) readHeader(position int) error {
	ev, err := s.rd.Next()
	if err != nil {
		return fmt.Errorf("%w: file %d: %w", ErrShards, position+1, err)
	}
	if ev.Kind != KindRun || ev.Run == nil || ev.Run.Shard == nil {
		return fmt.Errorf("%w: file %d is not a shard (its first event is not a run event with a shard; write shards with recloop run --shard i/n)", ErrShards, position+1)
	}
	s.run = ev.Run
	for {
		ev, err := s.rd.Next()
		if err != nil {
			return s.cutOff(err)
		}
		if ev.Kind != KindPersona {
			s.ev = ev
			return nil
		}
		s.personas = append(s.personas, ev)
	}
}

func (s *shardStream) cutOff(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, ErrTruncated) {
		return fmt.Errorf("%w: %s ends before its run_end: that shard did not finish; run it again", ErrShards, s.name())
	}
	return fmt.Errorf("%s: %w", s.name(), err)
}

// advance moves to the next body event and checks that the shard keeps the
// canonical order.
func (s *shardStream) advance(order canonicalOrder) error {
	if s.started {
		if s.ev.Kind == KindRunEnd {
			return nil
		}
		ev, err := s.rd.Next()
		if err != nil {
			return s.cutOff(err)
		}
		s.ev = ev
	}
	s.started = true
	key, err := order.key(s.ev)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrShards, s.name(), err)
	}
	if key.less(s.key) {
		return fmt.Errorf("%w: %s is out of order at %s", ErrShards, s.name(), describe(s.ev))
	}
	s.key = key
	if s.ev.Kind == KindRunEnd {
		if s.ev.RunEnd != nil && s.ev.RunEnd.Partial {
			return fmt.Errorf("%w: %s is partial (%s); run it again", ErrShards, s.name(), s.ev.RunEnd.Reason)
		}
		if _, err := s.rd.Next(); !errors.Is(err, io.EOF) {
			return fmt.Errorf("%w: %s has events after its run_end", ErrShards, s.name())
		}
	}
	return nil
}

func (o canonicalOrder) key(ev *Event) (mergeKey, error) {
	switch ev.Kind {
	case KindRunEnd:
		return mergeKey{phase: 2}, nil
	case KindStep, KindTurn, KindPersonaEnd:
		v, ok := o.variants[ev.Variant]
		if !ok {
			return mergeKey{}, fmt.Errorf("%s names variant %q, which the run does not have", describe(ev), ev.Variant)
		}
		p, ok := o.personas[ev.Persona]
		if !ok {
			return mergeKey{}, fmt.Errorf("%s names persona %q, which the run does not have", describe(ev), ev.Persona)
		}
		if ev.Kind == KindPersonaEnd {
			return mergeKey{phase: 1, variant: v, persona: p}, nil
		}
		return mergeKey{round: ev.Round, variant: v, persona: p}, nil
	}
	return mergeKey{}, fmt.Errorf("unexpected %s event in the body", ev.Kind)
}

func describe(ev *Event) string {
	if ev.Kind == KindRunEnd {
		return "the run_end"
	}
	return fmt.Sprintf("the %s of persona %q in variant %q, round %d", ev.Kind, ev.Persona, ev.Variant, ev.Round)
}

// checkHeaders makes sure the shards are 1..n of one n-way split of one run.
func checkHeaders(streams []*shardStream) (canonicalOrder, error) {
	first := streams[0]
	want, err := headerBytes(first)
	if err != nil {
		return canonicalOrder{}, err
	}
	for i, s := range streams {
		switch {
		case s.run.Shard.Count != len(streams):
			return canonicalOrder{}, fmt.Errorf("%w: %s is one of %d shards, but %d were given", ErrShards, s.name(), s.run.Shard.Count, len(streams))
		case s.run.Shard.Index != i+1:
			return canonicalOrder{}, fmt.Errorf("%w: shard %d/%d is missing (or another is given twice)", ErrShards, i+1, len(streams))
		}
		got, err := headerBytes(s)
		if err != nil {
			return canonicalOrder{}, err
		}
		if !bytes.Equal(got, want) {
			return canonicalOrder{}, fmt.Errorf("%w: %s and %s come from different runs (scenario, seed, personas or recloop version differ)", ErrShards, first.name(), s.name())
		}
	}
	order := canonicalOrder{variants: map[string]int{}, personas: map[string]int{}}
	for i, v := range first.run.Variants {
		order.variants[v.Name] = i
	}
	for i, ev := range first.personas {
		order.personas[ev.Persona] = i
	}
	return order, nil
}

// headerBytes is a shard's run and persona events without the shard mark.
func headerBytes(s *shardStream) ([]byte, error) {
	run := *s.run
	run.Shard = nil
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	if err := enc.Encode(run); err != nil {
		return nil, err
	}
	for _, ev := range s.personas {
		if err := enc.Encode(ev); err != nil {
			return nil, err
		}
	}
	return buf.Bytes(), nil
}

// mergeEnds writes one run_end for the whole run: every shard ran the same
// rounds, and the recommenders' observe failures add up.
func mergeEnds(streams []*shardStream, sink Sink) error {
	end := &Event{V: SchemaVersion, Kind: KindRunEnd, Round: streams[0].ev.Round, RunEnd: &RunEnd{}}
	for _, s := range streams {
		if s.ev.Round != end.Round {
			return fmt.Errorf("%w: %s ran %d rounds, %s ran %d", ErrShards, streams[0].name(), end.Round, s.name(), s.ev.Round)
		}
		if s.ev.RunEnd == nil {
			continue
		}
		for variant, n := range s.ev.RunEnd.ObserveErrors {
			if end.RunEnd.ObserveErrors == nil {
				end.RunEnd.ObserveErrors = map[string]int{}
			}
			end.RunEnd.ObserveErrors[variant] += n
		}
	}
	return sink.Write(end)
}
