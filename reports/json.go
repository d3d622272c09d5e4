// Package reports renders a run's metrics.Results for people and machines:
// results.json, a terminal table, and a single-file HTML report. Reporters
// only read the results; they compute nothing that changes a number.
package reports

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/recloop/recloop/metrics"
)

// ErrSchemaVersion means a results file was written by an incompatible
// version of recloop.
var ErrSchemaVersion = errors.New("reports: unsupported results schema version")

// WriteJSON writes r as indented JSON ending in a newline. The same results
// always give the same bytes: struct fields keep their order and
// encoding/json sorts map keys.
func WriteJSON(w io.Writer, r *metrics.Results) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	// Error messages and names read better unescaped; results.json is not HTML.
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("reports: write results json: %w", err)
	}
	return nil
}

// ReadJSON reads a results file written by WriteJSON and refuses one whose
// schema version this build does not understand.
func ReadJSON(rd io.Reader) (*metrics.Results, error) {
	var r metrics.Results
	if err := json.NewDecoder(rd).Decode(&r); err != nil {
		return nil, fmt.Errorf("reports: read results json: %w", err)
	}
	if r.Schema != metrics.ResultsSchemaVersion {
		if r.Schema == 0 {
			return nil, fmt.Errorf("%w: the file has no \"schema\" field (want %d); is it a results.json?",
				ErrSchemaVersion, metrics.ResultsSchemaVersion)
		}
		return nil, fmt.Errorf("%w: the file has schema %d, this recloop reads schema %d; re-run the scenario or use a matching recloop",
			ErrSchemaVersion, r.Schema, metrics.ResultsSchemaVersion)
	}
	return &r, nil
}
