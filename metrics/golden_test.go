package metrics

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/recloop/recloop/trajectory"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

func encodeEvents(tb testing.TB, events []trajectory.Event) string {
	tb.Helper()
	var sb strings.Builder
	enc := json.NewEncoder(&sb)
	for k := range events {
		if err := enc.Encode(&events[k]); err != nil {
			tb.Fatal(err)
		}
	}
	return sb.String()
}

// goldenStream extends handStream with a second variant, a late joiner, a
// recommender error and a persona with an unknown history item.
func goldenStream() []trajectory.Event {
	run := runEvent(3, "A", "B")
	run.Run.Personas = 3
	events := []trajectory.Event{
		run,
		personaEvent("p1", trajectory.Profile{Segments: []string{"vip", "fans"}, History: []string{"a", "b"}, Interests: taste("x"), LatentInterests: taste("y")}),
		personaEvent("p2", trajectory.Profile{Segments: []string{"fans"}, History: []string{"d", "zz"}, Interests: taste("y"), LatentInterests: taste("x")}),
		personaEvent("p3", trajectory.Profile{JoinRound: 1, Interests: taste("x")}),
	}
	for r := range 3 {
		events = append(events,
			stepEvent("A", r, "p1", 0.8, clicked("d", 5), seen("a")),
			stepEvent("A", r, "p2", 0.6, clicked("a", 4), clicked("c", 3)),
			stepEvent("B", r, "p1", 0.1, seen("a"), clicked("b", 2)),
			stepEvent("B", r, "p2", 0.9, clicked("c", 5), seen("b")),
		)
		if r > 0 {
			failed := stepEvent("A", r, "p3", 0)
			failed.Step.Error = &trajectory.StepError{Kind: trajectory.ErrorKindTimeout, Message: "deadline exceeded"}
			events = append(events, failed, stepEvent("B", r, "p3", 0.7, clicked("a", 4), clicked("b", 4)))
		}
	}
	for _, v := range []string{"A", "B"} {
		events = append(events,
			endEvent(v, "p1", 0.05, -1, 3),
			endEvent(v, "p2", 0.2, 2, 3),
			endEvent(v, "p3", 0, -1, 2),
		)
	}
	return append(events, runEndEvent())
}

func TestGoldenResults(t *testing.T) {
	res, err := readResults(tinyCatalog(t), handConfig, strings.NewReader(encodeEvents(t, goldenStream())))
	if err != nil {
		t.Fatal(err)
	}
	got, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	path := filepath.Join("testdata", "results.golden")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("results differ from %s (run go test -update after checking the change):\n%s", path, got)
	}
}
