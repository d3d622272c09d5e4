package metrics

import (
	"testing"

	"github.com/recloop/recloop/trajectory"
)

func verdictEvent(persona string, score float64, violations ...trajectory.ViolationRecord) trajectory.Event {
	return trajectory.Event{V: 1, Kind: trajectory.KindVerdict, Variant: "A", Round: 0, Persona: persona,
		Verdict: &trajectory.VerdictRecord{Judge: "grounding", Item: "a", Rank: 1,
			Scores: map[string]float64{"faithfulness": score}, Violations: violations}}
}

func TestVerdictsPerVariant(t *testing.T) {
	events := append(handStream(),
		verdictEvent("p1", 5),
		verdictEvent("p1", 3, trajectory.ViolationRecord{Kind: "title", Phrase: "The Lost Orbit"}),
		verdictEvent("p2", 5),
	)
	res := aggregate(t, tinyCatalog(t), handConfig, events)
	ex := res.Variants[0].Explanations
	if ex == nil || len(ex.Judges) != 1 {
		t.Fatalf("explanations %+v", ex)
	}
	j := ex.Judges[0]
	// p1 averages (5+3)/2 = 4, p2 5: the mean over personas is 4.5.
	// Two of three explanations score ≥ 4; one of three has a violation.
	d := j.Dimensions[0]
	if j.Judged != 3 || d.Name != "faithfulness" || !approx(float64(d.Mean.Value), 4.5) || d.Mean.N != 2 ||
		!approx(float64(d.ShareAtLeast4), 2.0/3) || !approx(float64(j.ViolationRate), 1.0/3) {
		t.Errorf("judge result %+v", j)
	}
	if len(j.Violations) != 1 || j.Violations[0].Phrase != "The Lost Orbit" || j.Violations[0].Persona != "p1" {
		t.Errorf("violations %+v", j.Violations)
	}
	if plain := aggregate(t, tinyCatalog(t), handConfig, handStream()); plain.Variants[0].Explanations != nil {
		t.Error("explanations without verdicts")
	}
}
