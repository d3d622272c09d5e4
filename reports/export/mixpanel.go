package export

import (
	"io"
	"time"
)

func init() {
	Register(Format{Name: "mixpanel", Ext: ".ndjson", New: newMixpanel, CheckTimes: mixpanelTimes})
}

// Mixpanel's /import refuses events dated before 1971-01-01 or more than
// an hour ahead of its servers' clock.
var mixpanelEarliest = time.Date(1971, 1, 1, 0, 0, 0, 0, time.UTC)

const mixpanelAhead = time.Hour

func mixpanelTimes(first, last, now time.Time) error {
	return checkWindow("Mixpanel /import", first, last, mixpanelEarliest, now.Add(mixpanelAhead))
}

type mixpanelEvent struct {
	Event      string         `json:"event"`
	Properties map[string]any `json:"properties"`
}

// mixpanel writes the NDJSON body of Mixpanel's /import
// (Content-Type: application/x-ndjson), one event a line.
type mixpanel struct{ out *jsonLines }

func newMixpanel(w io.Writer) (Writer, error) { return &mixpanel{out: newJSONLines(w)}, nil }

func (m *mixpanel) Write(e *Event) error {
	p := properties(e)
	// Event.ID is 32 hex digits: within $insert_id's 36 characters of
	// [A-Za-z0-9-].
	p["time"], p["distinct_id"], p["$insert_id"] = millis(e.Time), userID(e), e.ID
	return m.out.line(mixpanelEvent{Event: e.Name, Properties: p})
}

func (m *mixpanel) Close() error { return nil }
