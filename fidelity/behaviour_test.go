package fidelity

import (
	"context"
	"math"
	"testing"

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
// gets a negative: e, the one item it never touched. Clicking everything
// gives recall 1, precision 2/3, F1 2·(2/3)/(5/3) = 0.8, an AUC of ½ (every
// score tied), and ratings of 3 against the real 3s (RMSE 0).
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
	for _, d := range rep.Discrimination {
		if d.Positives != 2 || d.Shown != 3 || d.Recall != 1 || !near(d.Precision, 2.0/3, 1e-12) || !near(d.F1, 0.8, 1e-12) || float64(d.AUC) != 0.5 {
			t.Errorf("%s: %+v", d.Ratio, d)
		}
	}
	if rep.Ratings.N != 2 || float64(rep.Ratings.RMSE) != 0 || float64(rep.Ratings.MeanSimulated) != 3 {
		t.Errorf("ratings %+v, want the 2 clicked positives of the first ratio, exact", rep.Ratings)
	}
	if rep.Verdicts != nil {
		t.Error("no recommenders, yet verdicts")
	}
	// One slate per user per ratio.
	if b.slates != 4 || math.IsNaN(float64(rep.Ratings.SDReal)) {
		t.Errorf("%d slates, ratings %+v", b.slates, rep.Ratings)
	}
}
