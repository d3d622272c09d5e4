package trajectory

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/recloop/recloop/catalog"
)

func stepEvent(explanation string, score float64) *Event {
	return &Event{
		V: SchemaVersion, Kind: KindStep, Variant: "itemknn", Round: 3, Persona: "p-1",
		Step: &Step{
			Slate: []Shown{
				{Item: "item-1", Score: score, Explanation: explanation, Examined: true, Clicked: true, Rating: 4, Reason: "looks " + explanation},
				{Item: "item-2", Score: 0.25, Examined: true, Clicked: true, Rating: 2, Stage: 1, Dwell: 0.03125, Bounced: true},
				{Item: "item-3", Score: -1e-9},
				{Item: "item-4", Score: 0.5, Examined: true, Clicked: true, Rating: 5, Stage: 3, Dwell: 1},
			},
			Utility:        0.8125,
			Exited:         true,
			Feedback:       "more like " + explanation,
			Hallucinations: 2,
			Query:          "space opera " + explanation,
			WallLatencyUS:  1234,
		},
	}
}

// The hand encoder must agree with encoding/json byte for byte, including
// escaping and float formatting, so that either can write a file.
func TestStepEncodingMatchesEncodingJSON(t *testing.T) {
	cases := []*Event{
		stepEvent("because you watched <Alien> & \"Aliens\"", 1),
		stepEvent("line\nbreak\ttab\x01ctl \u2028 sep \xff bad utf8 ünïcødé", 123456789.5),
		stepEvent("", 1e21),
		stepEvent("", 1.5e-7),
		{V: SchemaVersion, Kind: KindStep, Round: 0, Step: &Step{Error: &StepError{Kind: ErrorKindTimeout, Message: "context deadline exceeded"}}},
		{V: SchemaVersion, Kind: KindStep, Round: 1, Persona: "x", Step: &Step{Slate: []Shown{}}},
	}
	for i, ev := range cases {
		want, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		got := appendStepEvent(nil, ev)
		if !bytes.Equal(got, want) {
			t.Errorf("case %d:\n got %s\nwant %s", i, got, want)
		}
	}
}

// A non-finite number becomes null, never a number it was not, and the
// line still reads back.
func TestNonFiniteFloatsStayValidJSON(t *testing.T) {
	for _, x := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		b := appendStepEvent(nil, stepEvent("", x))
		if !json.Valid(b) || !bytes.Contains(b, []byte(`"score":null`)) {
			t.Fatalf("%v: %s", x, b)
		}
		var ev Event
		if err := json.Unmarshal(b, &ev); err != nil {
			t.Fatalf("%v: %v", x, err)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	events := []*Event{
		{V: SchemaVersion, Kind: KindRun, Run: &RunInfo{Scenario: "s", Seed: 7, Rounds: 2, SlateSize: 3,
			Variants: []VariantInfo{{Name: "a", Recommender: "popular"}}, Personas: 1, Items: 3, Behaviour: "utility", Tool: "test"}},
		{V: SchemaVersion, Kind: KindPersona, Persona: "p-1", Profile: &Profile{History: []string{"item-9"},
			Interests: catalog.Taste{Categories: map[string]float64{"drama": 1}}, Traits: map[string]float64{"activity": 0.5}}},
		stepEvent("because", 0.5),
		{V: SchemaVersion, Kind: KindPersonaEnd, Variant: "a", Persona: "p-1", PersonaEnd: &PersonaEnd{TasteDrift: 0.1, ExitRound: -1, SlatesViewed: 2}},
		{V: SchemaVersion, Kind: KindRunEnd, RunEnd: &RunEnd{}},
	}
	var buf bytes.Buffer
	w := NewWriter(&buf)
	for _, ev := range events {
		if err := w.Write(ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(buf.String(), "\n"); n != len(events) {
		t.Fatalf("%d lines, want %d", n, len(events))
	}
	r := NewReader(&buf)
	for i, want := range events {
		got, err := r.Next()
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("event %d:\n got %+v\nwant %+v", i, got, want)
		}
	}
	if _, err := r.Next(); !errors.Is(err, io.EOF) {
		t.Fatalf("want EOF, got %v", err)
	}
}

func TestReaderErrors(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  error
	}{
		{"future version", `{"v":99,"kind":"step","round":0,"step":{"slate":[]}}` + "\n", ErrSchema},
		{"unknown kind", `{"v":1,"kind":"nonsense","round":0}` + "\n", ErrSchema},
		{"step without step", `{"v":1,"kind":"step","round":0}` + "\n", ErrSchema},
		{"truncated last line", `{"v":1,"kind":"run_end","round":0}` + "\n" + `{"v":1,"kind":"st`, ErrTruncated},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := NewReader(strings.NewReader(tc.input))
			var err error
			for err == nil {
				_, err = r.Next()
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestGarbageMidFileIsAnError(t *testing.T) {
	input := "not json\n" + `{"v":1,"kind":"run_end","round":0}` + "\n"
	_, err := NewReader(strings.NewReader(input)).Next()
	if err == nil || errors.Is(err, ErrTruncated) || !strings.Contains(err.Error(), "line 1") {
		t.Fatalf("want a line-1 decode error, got %v", err)
	}
}

type countingSink struct{ n int }

func (c *countingSink) Write(*Event) error { c.n++; return nil }

func TestReadAllToleratesTruncation(t *testing.T) {
	input := `{"v":1,"kind":"run_end","round":0}` + "\n" + `{"v":1,"ki`
	var sink countingSink
	if err := ReadAll(strings.NewReader(input), &sink); err != nil {
		t.Fatal(err)
	}
	if sink.n != 1 {
		t.Fatalf("read %d events, want 1", sink.n)
	}
}

func FuzzReader(f *testing.F) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	_ = w.Write(stepEvent("x", 1))
	_ = w.Flush()
	f.Add(buf.Bytes())
	f.Add([]byte(`{"v":1,"kind":"run","round":0,"run":{"scenario":"s"}}`))
	f.Add([]byte("\n\n{}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewReader(bytes.NewReader(data))
		for i := 0; i < 1000; i++ {
			ev, err := r.Next()
			if err != nil {
				return
			}
			if ev.Kind == KindStep && ev.Step == nil {
				t.Fatal("step event without step passed the check")
			}
		}
	})
}

func FuzzStepEncoding(f *testing.F) {
	f.Add("because you liked <b>", 0.5, "item-1")
	f.Add("\xff\xfe", -3.25e-8, "")
	f.Fuzz(func(t *testing.T, explanation string, score float64, item string) {
		if math.IsNaN(score) || math.IsInf(score, 0) {
			return
		}
		ev := stepEvent(explanation, score)
		ev.Step.Slate[1].Item = item
		want, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendStepEvent(nil, ev); !bytes.Equal(got, want) {
			t.Fatalf("\n got %s\nwant %s", got, want)
		}
	})
}

func BenchmarkWriteStep(b *testing.B) {
	ev := stepEvent("because you watched The Last Orbit", 0.75)
	for len(ev.Step.Slate) < 10 {
		ev.Step.Slate = append(ev.Step.Slate, Shown{Item: "item-12345", Score: 0.123456})
	}
	w := NewWriter(io.Discard)
	b.ReportAllocs()
	for b.Loop() {
		if err := w.Write(ev); err != nil {
			b.Fatal(err)
		}
	}
}

func TestFastStepDecoderAgreesWithEncodingJSON(t *testing.T) {
	cases := []*Event{
		stepEvent("because you watched Alien", 1),
		stepEvent("ünïcødé", 123456789.5),
		stepEvent("", 1e21),
		stepEvent("", 1.5e-7),
		{V: SchemaVersion, Kind: KindStep, Round: 0, Step: &Step{Error: &StepError{Kind: ErrorKindTimeout, Message: "context deadline exceeded"}}},
		{V: SchemaVersion, Kind: KindStep, Round: 1, Persona: "x", Step: &Step{Slate: []Shown{}}},
		{V: SchemaVersion, Kind: KindStep, Round: -2, Variant: "v", Step: &Step{Slate: []Shown{{Item: "a", Score: -0.5, Rating: 3}}, Utility: -1e-300}},
	}
	for i, ev := range cases {
		line := appendStepEvent(nil, ev)
		var got Event
		if !decodeStep(line, &got) {
			t.Errorf("case %d: the fast decoder refused %s", i, line)
			continue
		}
		if !reflect.DeepEqual(&got, ev) {
			t.Errorf("case %d:\n got %+v\nwant %+v", i, got.Step, ev.Step)
		}
	}
	// Escapes, other layouts and other kinds go to encoding/json.
	for _, line := range []string{
		string(appendStepEvent(nil, stepEvent("<b>", 1))),
		`{"kind":"step","v":1,"round":0,"step":{"slate":[]}}`,
		`{"v":1,"kind":"run_end","round":0}`,
		`{"v":1,"kind":"step","round":01,"step":{"slate":[],"utility":0,"wall_latency_us":0}}`,
		`{"v":1,"kind":"step","round":0,"step":{"slate":[],"utility":.5,"wall_latency_us":0}}`,
		`{"v":1,"kind":"step","round":0,"step":{"slate":[],"utility":0,"wall_latency_us":0}} `,
	} {
		var ev Event
		if decodeStep([]byte(line), &ev) {
			t.Errorf("the fast decoder took %s", line)
		}
	}
}

// Whatever the fast decoder accepts, encoding/json reads the same way.
func FuzzFastStepDecoder(f *testing.F) {
	f.Add(appendStepEvent(nil, stepEvent("because", 0.25)))
	f.Add(appendStepEvent(nil, &Event{V: 1, Kind: KindStep, Step: &Step{Error: &StepError{Kind: "error", Message: "m"}}}))
	f.Add([]byte(`{"v":1,"kind":"step","round":0,"step":{"slate":null,"utility":1e5,"wall_latency_us":-3}}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		var fast Event
		if !decodeStep(line, &fast) {
			return
		}
		var slow Event
		if err := json.Unmarshal(line, &slow); err != nil {
			t.Fatalf("fast decoder accepted what encoding/json rejects (%v): %q", err, line)
		}
		if !reflect.DeepEqual(fast, slow) {
			t.Fatalf("decoders disagree on %q:\nfast %+v\nslow %+v", line, fast.Step, slow.Step)
		}
	})
}

func BenchmarkReadStep(b *testing.B) {
	line := append(appendStepEvent(nil, stepEvent("because you watched Alien", 0.5)), '\n')
	data := bytes.Repeat(line, 1000)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		r := NewReader(bytes.NewReader(data))
		for {
			if _, err := r.Next(); err != nil {
				break
			}
		}
	}
}

func verdictEvent(reason string, scores map[string]float64) *Event {
	return &Event{V: SchemaVersion, Kind: KindVerdict, Variant: "content", Round: 4, Persona: "p<1>",
		Verdict: &VerdictRecord{Judge: "grounding", Item: "item-7", Rank: 2, Scores: scores, Reason: reason,
			Violations: []ViolationRecord{{Kind: "title", Phrase: "\"Alien\" & co", Detail: "not in history"}, {Kind: "tag", Phrase: "noir"}},
			Model:      "gpt-x", Samples: 3, Passes: 12, Segment: "new <signup>"}}
}

func TestVerdictEncodingMatchesEncodingJSON(t *testing.T) {
	cases := []*Event{
		verdictEvent("claims <script>alert(1)</script>", map[string]float64{"relevance": 4, "faithfulness": 2.5, "Zeta\u2028": 1e-7}),
		verdictEvent("", nil),
		verdictEvent("bad \xff utf8", map[string]float64{}),
		{V: SchemaVersion, Kind: KindVerdict, Verdict: &VerdictRecord{Scores: map[string]float64{"a": 1}}},
	}
	for i, ev := range cases {
		want, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendVerdictEvent(nil, ev); !bytes.Equal(got, want) {
			t.Errorf("case %d:\n got %s\nwant %s", i, got, want)
		}
	}
}

func FuzzVerdictEncoding(f *testing.F) {
	f.Add("grounding", "because", "faithfulness", 4.0, "title", "Alien", 1)
	f.Fuzz(func(t *testing.T, judge, reason, dim string, score float64, kind, phrase string, samples int) {
		if math.IsNaN(score) || math.IsInf(score, 0) {
			return // encoding/json refuses them; the hand encoder writes 0
		}
		ev := &Event{V: SchemaVersion, Kind: KindVerdict, Persona: phrase, Verdict: &VerdictRecord{Judge: judge, Reason: reason,
			Scores: map[string]float64{dim: score, dim + "x": -score}, Violations: []ViolationRecord{{Kind: kind, Phrase: phrase}}, Samples: samples}}
		want, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendVerdictEvent(nil, ev); !bytes.Equal(got, want) {
			t.Fatalf("\n got %s\nwant %s", got, want)
		}
	})
}
