package metrics

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/recloop/recloop/catalog"
	"github.com/recloop/recloop/trajectory"
)

// Compute decodes a trajectories.jsonl stream and aggregates it. An event
// whose "v" is not trajectory.SchemaVersion fails with trajectory.ErrSchema.
// A stream that ends inside an event (a run killed mid-write) is treated as
// a partial run rather than an error.
func Compute(cat *catalog.Catalog, cfg Config, r io.Reader) (*Results, error) {
	a := NewAggregator(cat, cfg)
	dec := json.NewDecoder(r)
	for n := 1; ; n++ {
		var ev trajectory.Event
		err := dec.Decode(&ev)
		switch {
		case errors.Is(err, io.EOF):
			return a.Results(), nil
		case errors.Is(err, io.ErrUnexpectedEOF):
			a.truncated = true
			return a.Results(), nil
		case err != nil:
			return nil, fmt.Errorf("metrics: event %d: %w", n, err)
		case ev.V != trajectory.SchemaVersion:
			return nil, fmt.Errorf("%w: event %d has version %d, want %d", trajectory.ErrSchema, n, ev.V, trajectory.SchemaVersion)
		}
		if err := a.Write(&ev); err != nil {
			return nil, fmt.Errorf("metrics: event %d: %w", n, err)
		}
	}
}
