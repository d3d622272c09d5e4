package export

import (
	"io"
)

func init() {
	Register(Format{Name: "segment", Ext: ".jsonl", New: newSegment})
}

// segmentTime is RFC 3339 with milliseconds, as Segment's timestamp takes.
const segmentTime = "2006-01-02T15:04:05.000Z07:00"

// segmentTrack is one call of Segment's track spec.
type segmentTrack struct {
	Type       string         `json:"type"`
	Event      string         `json:"event"`
	UserID     string         `json:"userId"`
	MessageID  string         `json:"messageId"`
	Timestamp  string         `json:"timestamp"`
	Properties map[string]any `json:"properties"`
	Context    segmentContext `json:"context"`
}

type segmentContext struct {
	Library segmentLibrary `json:"library"`
}

type segmentLibrary struct {
	Name string `json:"name"`
}

// segment writes one track call a line, which Segment's batch endpoint and
// its warehouse loaders take as they are.
type segment struct{ out *jsonLines }

func newSegment(w io.Writer) (Writer, error) { return &segment{out: newJSONLines(w)}, nil }

func (s *segment) Write(e *Event) error {
	return s.out.line(segmentTrack{
		Type: "track", Event: e.Name, UserID: userID(e), MessageID: e.ID,
		Timestamp:  e.Time.UTC().Format(segmentTime),
		Properties: properties(e),
		Context:    segmentContext{Library: segmentLibrary{Name: "recloop"}},
	})
}

func (s *segment) Close() error { return nil }
