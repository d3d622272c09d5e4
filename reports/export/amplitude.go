package export

import (
	"bytes"
	"encoding/json"
	"io"
	"time"
)

func init() {
	Register(Format{Name: "amplitude", Ext: ".jsonl", New: newAmplitude, CheckTimes: amplitudeTimes})
}

// Amplitude does not document one window; recloop refuses what it is
// known to drop: times before 2000 and times in the future.
var amplitudeEarliest = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

func amplitudeTimes(first, last, now time.Time) error {
	return checkWindow("Amplitude", first, last, amplitudeEarliest, now)
}

// A batch stays well under what the HTTP V2 API takes in one request
// (2,000 events, 1 MB on paid plans; the API key is added on upload).
const (
	amplitudeBatchEvents = 1000
	amplitudeBatchBytes  = 900 << 10
)

type amplitudeEvent struct {
	UserID          string         `json:"user_id"`
	EventType       string         `json:"event_type"`
	Time            int64          `json:"time"`
	InsertID        string         `json:"insert_id"`
	SessionID       int64          `json:"session_id"`
	Platform        string         `json:"platform"`
	EventProperties map[string]any `json:"event_properties"`
	UserProperties  map[string]any `json:"user_properties"`
}

// amplitude writes one HTTP V2 request body a line: {"events":[...]},
// without the api_key, which must never be written to a file. It holds
// one batch's encoded events.
type amplitude struct {
	w     io.Writer
	batch [][]byte
	size  int
}

func newAmplitude(w io.Writer) (Writer, error) { return &amplitude{w: w}, nil }

func (a *amplitude) Write(e *Event) error {
	user := map[string]any{"synthetic": true, "cell": e.Cell, "replicate": e.Replicate}
	if len(e.Segments) > 0 {
		user["segments"] = e.Segments
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	err := enc.Encode(amplitudeEvent{
		UserID: userID(e), EventType: e.Name, Time: millis(e.Time), InsertID: e.ID,
		// A session is a persona's visit: one round.
		SessionID: millis(e.RoundStart), Platform: "recloop",
		EventProperties: properties(e), UserProperties: user,
	})
	if err != nil {
		return err
	}
	ev := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	if len(a.batch) > 0 && (len(a.batch) == amplitudeBatchEvents || a.size+len(ev) > amplitudeBatchBytes) {
		if err := a.flush(); err != nil {
			return err
		}
	}
	a.batch = append(a.batch, ev)
	a.size += len(ev) + 1
	return nil
}

func (a *amplitude) flush() error {
	var buf bytes.Buffer
	buf.WriteString(`{"events":[`)
	buf.Write(bytes.Join(a.batch, []byte(",")))
	buf.WriteString("]}\n")
	a.batch, a.size = a.batch[:0], 0
	_, err := a.w.Write(buf.Bytes())
	return err
}

func (a *amplitude) Close() error {
	if len(a.batch) == 0 {
		return nil
	}
	return a.flush()
}
