package fidelity

import (
	"context"
	"math"
	"testing"

	"github.com/recloop/recloop/fidelity/report"
	"github.com/recloop/recloop/personas"
	"github.com/recloop/recloop/trajectory"
)

// clickAll clicks and rates 3 every item it is shown: a behaviour that is
// not a Scorer, so Evaluate shows it slates.
type clickAll struct{ slates int }

func (c *clickAll) Decide(_ context.Context, _ *personas.State, _ int, slate []trajectory.Shown) (personas.Decision, error) {
	c.slates++
	for k := range slate {
		slate[k].Examined, slate[k].Clicked, slate[k].Rating = true, true, 3
	}
	return personas.Decision{}, nil
}

// On the hand log U and w each hold out f, rated 3; with LikeAt 3 it is
// liked, so there are 2 positives. U has touched all six items, so only w
// gets a negative: e, the one item it never touched (first seen at time 4,
// before w's last seed interaction at 4). Clicking everything gives
// recall 1, precision 2/3, F1 2·(2/3)/(5/3) = 0.8, an AUC of ½ for w (every
// score tied; U has no negative, so no AUC), and ratings of 3 against the
// real 3s (RMSE 0), under either sampler (e is the only item w may see).
func TestSlateBehaviourIsJudgedByItsClicks(t *testing.T) {
	ds, err := Derive(handCatalog(t), handLog(), DeriveOptions{LikeAt: 3})
	if err != nil {
		t.Fatal(err)
	}
	b := &clickAll{}
	rep, err := Evaluate(context.Background(), ds, b, "click-all", nil, Options{Seed: 1, Ratios: []int{1, 3}, Recommenders: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Samplers) != 2 {
		t.Fatalf("%d samplers, want 2", len(rep.Samplers))
	}
	for _, s := range rep.Samplers {
		for _, d := range s.Ratios {
			c := d.Clicks
			sim := d.Scorer(report.SimulatorName)
			if d.Positives != 2 || d.Shown != 3 || c.Recall != 1 || !near(c.Precision, 2.0/3, 1e-12) || !near(c.F1, 0.8, 1e-12) ||
				sim == nil || float64(sim.AUC) != 0.5 || sim.Users != 1 {
				t.Errorf("%s %s: %+v", s.Name, d.Ratio, d)
			}
		}
	}
	rt := rep.Ratings
	if rt.Expected != nil || rt.Drawn.N != 2 || float64(rt.Drawn.RMSE) != 0 || float64(rt.MeanSimulated) != 3 {
		t.Errorf("ratings %+v, want the 2 clicked positives of the first set, exact, and no expected rating", rt)
	}
	if len(rt.Baselines) != 3 || rt.Baselines[0].N != 2 {
		t.Errorf("rating baselines %+v", rt.Baselines)
	}
	if rep.Verdicts != nil {
		t.Error("no recommenders, yet verdicts")
	}
	// One slate per user per sampler per ratio.
	if b.slates != 8 || math.IsNaN(float64(rt.SDReal)) {
		t.Errorf("%d slates, ratings %+v", b.slates, rt)
	}
}
