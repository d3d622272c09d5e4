package metrics

import (
	"testing"

	"github.com/recloop/recloop/trajectory"
)

func TestVoices(t *testing.T) {
	llmStep := stepEvent("v", 0, "p1", 0.75,
		trajectory.Shown{Item: "a", Examined: true, Clicked: true, Rating: 4, Reason: "I love x"},
		trajectory.Shown{Item: "b", Examined: true, Reason: "seen enough x"},
		trajectory.Shown{Item: "c"},
	)
	llmStep.Step.Hallucinations = 1
	llmStep.Step.Feedback = "more y please"
	end1 := endEvent("v", "p1", 0, -1, 1)
	end1.PersonaEnd.Interview = &trajectory.Interview{Satisfaction: 8, Review: "good"}
	end2 := endEvent("v", "p2", 0, -1, 1)
	end2.PersonaEnd.Interview = &trajectory.Interview{Satisfaction: 4, Review: "meh"}
	events := []trajectory.Event{
		runEvent(1, "v"),
		personaEvent("p1", trajectory.Profile{History: []string{"d"}, Interests: taste("x")}),
		personaEvent("p2", trajectory.Profile{History: []string{"d"}, Interests: taste("y")}),
		llmStep,
		stepEvent("v", 0, "p2", 0, trajectory.Shown{Item: "a", Examined: true, Reason: "not for me"}),
		end1, end2,
		{V: 1, Kind: trajectory.KindRunEnd, RunEnd: &trajectory.RunEnd{}},
	}
	res := aggregate(t, tinyCatalog(t), handConfig, events)
	got := res.Variants[0].Voices
	if got == nil {
		t.Fatal("no voices for an LLM-played run")
	}
	// Named: p1 examined a and b plus 1 unknown id, p2 examined a → 4 named,
	// 1 hallucinated: rate 1/4.
	if got.ItemsNamed != 4 || got.Hallucinations != 1 || !approx(float64(got.HallucinationRate), 0.25) {
		t.Errorf("named %d, hallucinations %d, rate %v", got.ItemsNamed, got.Hallucinations, got.HallucinationRate)
	}
	// Interview scores 8 and 4: mean 6.
	if !approx(float64(got.Satisfaction.Value), 6) || got.Satisfaction.N != 2 {
		t.Errorf("satisfaction %+v", got.Satisfaction)
	}
	if len(got.Quotes) != 2 || got.Quotes[0].Persona != "p2" || got.Quotes[1].Review != "good" {
		t.Errorf("quotes %+v, want lowest score first", got.Quotes)
	}

	// The utility model says nothing: no voices section.
	plain := aggregate(t, tinyCatalog(t), handConfig, handStream())
	if plain.Variants[0].Voices != nil {
		t.Error("voices for a utility-model run")
	}
}
