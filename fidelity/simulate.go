package fidelity

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"strconv"
	"sync"

	"github.com/recloop/recloop/catalog"
	"github.com/recloop/recloop/personas"
	"github.com/recloop/recloop/recommenders"
	"github.com/recloop/recloop/simulator"
	"github.com/recloop/recloop/trajectory"
)

// LogOptions shape a simulated log.
type LogOptions struct {
	Seed              uint64
	Rounds, SlateSize int
	// Recommender shows the slates (default "random": exposure that does
	// not depend on taste, so the log reflects the personas alone).
	Recommender string
}

// SimulateLog plays personas (already built on cat) against a recommender
// with behaviour b and returns what they clicked as an interaction log:
// user = persona id, the click's rating, timestamp = round·1000 + rank. It
// is the planted-truth side of the round-trip checks: derive personas back
// from the log and compare.
func SimulateLog(ctx context.Context, cat *catalog.Catalog, states []*personas.State, b personas.Behaviour, opt LogOptions) ([]catalog.Interaction, error) {
	if opt.Recommender == "" {
		opt.Recommender = "random"
	}
	spec, ok := recommenders.Lookup(opt.Recommender)
	if !ok {
		return nil, fmt.Errorf("%w: %q", recommenders.ErrUnknown, opt.Recommender)
	}
	rec, err := recommenders.New(ctx, opt.Recommender, recommenders.Env{Catalog: cat, Seed: opt.Seed, Variant: "log"}, spec.Defaults())
	if err != nil {
		return nil, err
	}
	sink := &logSink{}
	cfg := simulator.Config{Scenario: "log", Seed: opt.Seed, Rounds: opt.Rounds, SlateSize: opt.SlateSize, Behaviour: b, BehaviourName: "log"}
	variants := []simulator.Variant{{Name: "log", Recommender: opt.Recommender, New: simulator.Instance(rec)}}
	if _, err := simulator.Run(ctx, cfg, cat, states, variants, sink); err != nil {
		return nil, fmt.Errorf("fidelity: simulating a log: %w", err)
	}
	sortLog(sink.log)
	return sink.log, nil
}

type logSink struct {
	mu  sync.Mutex
	log []catalog.Interaction
}

func (s *logSink) Write(ev *trajectory.Event) error {
	if ev.Kind != trajectory.KindStep || ev.Step == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, sh := range ev.Step.Slate {
		if sh.Clicked {
			s.log = append(s.log, catalog.Interaction{
				User: ev.Persona, Item: sh.Item, Rating: sh.Rating,
				Timestamp: int64(ev.Round)*1000 + int64(k+1),
			})
		}
	}
	return nil
}

// WriteLogCSV renders a log as the CSV catalog.LoadInteractions reads.
func WriteLogCSV(log []catalog.Interaction) []byte {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write([]string{"user", "item", "rating", "timestamp"})
	for _, in := range log {
		_ = w.Write([]string{in.User, in.Item, strconv.FormatFloat(in.Rating, 'g', -1, 64), strconv.FormatInt(in.Timestamp, 10)})
	}
	w.Flush()
	return buf.Bytes()
}
