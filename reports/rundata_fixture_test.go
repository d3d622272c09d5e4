package reports

import (
	"bytes"
	"fmt"
	"io"
	"testing"

	"github.com/recloop/recloop/trajectory"
)

// eventsOpener encodes events as trajectories.jsonl in memory.
func eventsOpener(t testing.TB, events []trajectory.Event) Opener {
	t.Helper()
	var buf bytes.Buffer
	w := trajectory.NewWriter(&buf)
	for i := range events {
		events[i].V = trajectory.SchemaVersion
		if err := w.Write(&events[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	return func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
}

// sampleRun is the run directory behind sample(): three personas, the two
// variants, three rounds of two-item slates, interviews and judge verdicts.
// Every string a recommender, an LLM or a persona file could have written
// carries hostile markup somewhere.
func sampleRun(t testing.TB) HTMLOptions {
	variants := []string{"popular", "knn</script>&"}
	personas := []struct{ id, name, description string }{
		{"p-1", "Ada", "Reads everything about " + hostileScript},
		{"p-2", "Bo", "Likes quiet films"},
		{"p-3", "Cy", "New here"},
	}
	events := []trajectory.Event{{Kind: trajectory.KindRun, Run: &trajectory.RunInfo{Scenario: "news & <friends>", Seed: 42,
		Rounds: 3, SlateSize: 2, Personas: 3, Items: 100, Behaviour: "llm", Tool: "recloop v1.2.3",
		Variants: []trajectory.VariantInfo{{Name: variants[0], Recommender: "popularity"}, {Name: variants[1], Recommender: "itemknn"}}}}}
	for _, p := range personas {
		events = append(events, trajectory.Event{Kind: trajectory.KindPersona, Persona: p.id, Profile: &trajectory.Profile{
			Name: p.name, Description: p.description, Archetype: "reader", Segments: []string{"cold"}, History: []string{"i-1"}}})
	}
	for round := range 3 {
		for vi, v := range variants {
			for pi, p := range personas {
				step := &trajectory.Step{Slate: []trajectory.Shown{
					{Item: "i-3", Explanation: "because you liked " + hostileScript, Examined: true, Clicked: pi == 0, Rating: 4, Reason: "looks " + hostileScript},
					{Item: fmt.Sprintf("i-%d", 10+round), Explanation: "popular now", Examined: vi == 1},
				}}
				if pi != 0 {
					step.Slate[0].Rating = 0
				}
				if p.id == "p-3" && round == 2 {
					step = &trajectory.Step{Error: &trajectory.StepError{Kind: trajectory.ErrorKindTimeout, Message: "timeout after 2s"}}
				}
				events = append(events, trajectory.Event{Kind: trajectory.KindStep, Variant: v, Round: round, Persona: p.id, Step: step})
			}
		}
	}
	for _, v := range variants {
		for _, p := range personas {
			end := &trajectory.PersonaEnd{TasteDrift: 0.125, ExitRound: -1, SlatesViewed: 3}
			if p.id == "p-1" {
				end.Interview = &trajectory.Interview{Satisfaction: 3, Review: "Too much " + hostileScript}
				end.ExitRound = 2
			}
			events = append(events, trajectory.Event{Kind: trajectory.KindPersonaEnd, Variant: v, Persona: p.id, PersonaEnd: end})
		}
	}
	events = append(events, trajectory.Event{Kind: trajectory.KindRunEnd, RunEnd: &trajectory.RunEnd{}})

	verdict := func(v, persona string, round, rank int, score float64, reason string) trajectory.Event {
		return trajectory.Event{Kind: trajectory.KindVerdict, Variant: v, Round: round, Persona: persona, Verdict: &trajectory.VerdictRecord{
			Judge: "grounding", Item: "i-3", Rank: rank, Scores: map[string]float64{"faithfulness": score, "relevance": score}, Reason: reason}}
	}
	verdicts := []trajectory.Event{
		verdict(variants[0], "p-1", 0, 1, 5, "fine"),
		verdict(variants[1], "p-1", 1, 1, 2, "claims a title the persona never saw: "+hostileScript),
		verdict(variants[0], "p-2", 2, 1, 3, ""),
		verdict(variants[1], "p-2", 0, 2, 4.5, "good"),
	}
	return HTMLOptions{Trajectories: eventsOpener(t, events), Verdicts: eventsOpener(t, verdicts),
		Titles: func(id string) string { return "Title of " + id + " " + hostileScript }}
}
