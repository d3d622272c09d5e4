package trajectory

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"
)

// ErrTruncated is returned for a last line cut off mid-write (a killed run).
// Everything before it was read.
var ErrTruncated = errors.New("trajectory: truncated last line")

// Writer encodes events as JSON lines. Step and verdict events, which are
// nearly all of a run's volume, are encoded by hand into a reused buffer; the
// output is byte-identical to encoding/json's (tests hold it to that).
type Writer struct {
	bw  *bufio.Writer
	buf []byte
}

// NewWriter buffers output; call Flush at safe points (the simulator flushes
// after every round, so an interrupted run leaves whole lines behind).
func NewWriter(w io.Writer) *Writer {
	return &Writer{bw: bufio.NewWriterSize(w, 1<<18), buf: make([]byte, 0, 4096)}
}

// Write encodes one event as one line.
func (w *Writer) Write(ev *Event) error {
	onlyStep := ev.Step != nil && ev.Verdict == nil
	onlyVerdict := ev.Verdict != nil && ev.Step == nil
	others := ev.Profile != nil || ev.PersonaEnd != nil || ev.Run != nil || ev.RunEnd != nil
	switch {
	case ev.Kind == KindStep && onlyStep && !others:
		w.buf = appendStepEvent(w.buf[:0], ev)
	case ev.Kind == KindVerdict && onlyVerdict && !others:
		w.buf = appendVerdictEvent(w.buf[:0], ev)
	default:
		b, err := json.Marshal(ev)
		if err != nil {
			return fmt.Errorf("trajectory: encode %s event: %w", ev.Kind, err)
		}
		w.buf = append(w.buf[:0], b...)
	}
	w.buf = append(w.buf, '\n')
	_, err := w.bw.Write(w.buf)
	return err
}

// Flush writes buffered lines to the underlying writer.
func (w *Writer) Flush() error { return w.bw.Flush() }

// appendEventHead writes the fields every event has, up to the persona.
func appendEventHead(b []byte, ev *Event) []byte {
	b = append(b, `{"v":`...)
	b = strconv.AppendInt(b, int64(ev.V), 10)
	b = append(b, `,"kind":`...)
	b = appendString(b, string(ev.Kind))
	if ev.Variant != "" {
		b = append(b, `,"variant":`...)
		b = appendString(b, ev.Variant)
	}
	b = append(b, `,"round":`...)
	b = strconv.AppendInt(b, int64(ev.Round), 10)
	if ev.Persona != "" {
		b = append(b, `,"persona":`...)
		b = appendString(b, ev.Persona)
	}
	return b
}

func appendVerdictEvent(b []byte, ev *Event) []byte {
	b = appendEventHead(b, ev)
	v := ev.Verdict
	b = append(b, `,"verdict":{"judge":`...)
	b = appendString(b, v.Judge)
	b = append(b, `,"item":`...)
	b = appendString(b, v.Item)
	b = append(b, `,"rank":`...)
	b = strconv.AppendInt(b, int64(v.Rank), 10)
	b = append(b, `,"scores":`...)
	if v.Scores == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '{')
		for i, dim := range slices.Sorted(maps.Keys(v.Scores)) {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, dim)
			b = append(b, ':')
			b = appendFloat(b, v.Scores[dim])
		}
		b = append(b, '}')
	}
	if v.Reason != "" {
		b = append(b, `,"reason":`...)
		b = appendString(b, v.Reason)
	}
	if len(v.Violations) > 0 {
		b = append(b, `,"violations":[`...)
		for i, x := range v.Violations {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"kind":`...)
			b = appendString(b, x.Kind)
			b = append(b, `,"phrase":`...)
			b = appendString(b, x.Phrase)
			if x.Detail != "" {
				b = append(b, `,"detail":`...)
				b = appendString(b, x.Detail)
			}
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if v.Model != "" {
		b = append(b, `,"model":`...)
		b = appendString(b, v.Model)
	}
	if v.Samples != 0 {
		b = append(b, `,"samples":`...)
		b = strconv.AppendInt(b, int64(v.Samples), 10)
	}
	if v.Passes != 0 {
		b = append(b, `,"passes":`...)
		b = strconv.AppendInt(b, int64(v.Passes), 10)
	}
	if v.Segment != "" {
		b = append(b, `,"segment":`...)
		b = appendString(b, v.Segment)
	}
	return append(b, "}}"...)
}

func appendStepEvent(b []byte, ev *Event) []byte {
	b = appendEventHead(b, ev)
	s := ev.Step
	b = append(b, `,"step":{"slate":`...)
	if s.Slate == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range s.Slate {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendShown(b, &s.Slate[i])
		}
		b = append(b, ']')
	}
	b = append(b, `,"utility":`...)
	b = appendFloat(b, s.Utility)
	if s.Exited {
		b = append(b, `,"exited":true`...)
	}
	if s.Feedback != "" {
		b = append(b, `,"feedback":`...)
		b = appendString(b, s.Feedback)
	}
	if s.Hallucinations != 0 {
		b = append(b, `,"hallucinations":`...)
		b = strconv.AppendInt(b, int64(s.Hallucinations), 10)
	}
	if s.Query != "" {
		b = append(b, `,"query":`...)
		b = appendString(b, s.Query)
	}
	if s.Error != nil {
		b = append(b, `,"error":{"kind":`...)
		b = appendString(b, s.Error.Kind)
		b = append(b, `,"message":`...)
		b = appendString(b, s.Error.Message)
		b = append(b, '}')
	}
	b = append(b, `,"wall_latency_us":`...)
	b = strconv.AppendInt(b, s.WallLatencyUS, 10)
	return append(b, "}}"...)
}

func appendShown(b []byte, s *Shown) []byte {
	b = append(b, `{"item":`...)
	b = appendString(b, s.Item)
	b = append(b, `,"score":`...)
	b = appendFloat(b, s.Score)
	if s.Explanation != "" {
		b = append(b, `,"explanation":`...)
		b = appendString(b, s.Explanation)
	}
	if s.Examined {
		b = append(b, `,"examined":true`...)
	}
	if s.Clicked {
		b = append(b, `,"clicked":true`...)
	}
	if s.Rating != 0 {
		b = append(b, `,"rating":`...)
		b = appendFloat(b, s.Rating)
	}
	if s.Reason != "" {
		b = append(b, `,"reason":`...)
		b = appendString(b, s.Reason)
	}
	if s.Stage != 0 {
		b = append(b, `,"stage":`...)
		b = strconv.AppendInt(b, int64(s.Stage), 10)
	}
	if s.Dwell != 0 {
		b = append(b, `,"dwell":`...)
		b = appendFloat(b, s.Dwell)
	}
	if s.Bounced {
		b = append(b, `,"bounced":true`...)
	}
	return append(b, '}')
}

// appendFloat follows encoding/json's float formatting. Non-finite values,
// which JSON cannot hold, are written as null, as results.json writes them:
// validation keeps them out of a run, and a line must stay valid JSON, and
// say that the number was not a number, regardless.
func appendFloat(b []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(b, "null"...)
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

const hexDigits = "0123456789abcdef"

// appendString follows encoding/json's string escaping, HTML-safe variant.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// Reader decodes a trajectories.jsonl stream one event at a time.
type Reader struct {
	sc   *bufio.Scanner
	line int
}

// NewReader reads events from r.
func NewReader(r io.Reader) *Reader {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1<<16), 64<<20)
	return &Reader{sc: sc}
}

// Next returns the next event, io.EOF at the end, ErrSchema for a version or
// kind it does not know, and ErrTruncated for a cut-off last line.
func (r *Reader) Next() (*Event, error) {
	for r.sc.Scan() {
		r.line++
		raw := r.sc.Bytes()
		if len(bytes.TrimSpace(raw)) == 0 {
			continue
		}
		var ev Event
		if decodeStep(raw, &ev) {
			if err := ev.check(); err != nil {
				return nil, fmt.Errorf("line %d: %w", r.line, err)
			}
			return &ev, nil
		}
		ev = Event{}
		if err := json.Unmarshal(raw, &ev); err != nil {
			line := r.line
			if r.atEnd() {
				return nil, fmt.Errorf("%w (line %d)", ErrTruncated, line)
			}
			return nil, fmt.Errorf("trajectory: line %d: %w", line, err)
		}
		if err := ev.check(); err != nil {
			return nil, fmt.Errorf("line %d: %w", r.line, err)
		}
		return &ev, nil
	}
	if err := r.sc.Err(); err != nil {
		return nil, fmt.Errorf("trajectory: line %d: %w", r.line+1, err)
	}
	return nil, io.EOF
}

func (r *Reader) atEnd() bool {
	more := r.sc.Scan()
	if more {
		r.line++
	}
	return !more
}

func (ev *Event) check() error {
	if ev.V != SchemaVersion {
		return fmt.Errorf("%w: version %d (this recloop reads version %d)", ErrSchema, ev.V, SchemaVersion)
	}
	switch ev.Kind {
	case KindRun, KindPersona, KindStep, KindPersonaEnd, KindRunEnd, KindVerdict, KindTurn:
	default:
		return fmt.Errorf("%w: event kind %q", ErrSchema, ev.Kind)
	}
	if ev.Kind == KindStep && ev.Step == nil {
		return fmt.Errorf("%w: step event without a step", ErrSchema)
	}
	if ev.Kind == KindTurn && ev.Turn == nil {
		return fmt.Errorf("%w: turn event without a turn", ErrSchema)
	}
	if ev.Kind == KindVerdict && ev.Verdict == nil {
		return fmt.Errorf("%w: verdict event without a verdict", ErrSchema)
	}
	return nil
}

// ReadAll feeds every event of r to sink. A truncated last line ends the
// stream without an error: the caller sees no run_end and treats the run
// as partial.
func ReadAll(r io.Reader, sink Sink) error {
	rd := NewReader(r)
	for {
		ev, err := rd.Next()
		switch {
		case errors.Is(err, io.EOF), errors.Is(err, ErrTruncated):
			return nil
		case err != nil:
			return err
		}
		if err := sink.Write(ev); err != nil {
			return err
		}
	}
}
