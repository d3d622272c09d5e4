package fidelity

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/recloop/recloop/config"
	"github.com/recloop/recloop/internal/rng"
	"github.com/recloop/recloop/personas"
)

// TestFitRecoversPlantedCoefficients labels probes of known personas with
// the utility model's own click draws under planted coefficients and checks
// that the likelihood search finds them again.
func TestFitRecoversPlantedCoefficients(t *testing.T) {
	if testing.Short() {
		t.Skip("grid search")
	}
	w := plantedWorld(t, 200, 600, 1, nil)
	planted := config.Params{"weight_stated": 1.7, "weight_popularity": 0.8, "weight_novelty": 0.3, "noise": 0.35}
	truthModel := utility(t, w.cat, planted).(personas.Scorer)
	states, err := personas.Build(w.truth, w.cat, 5)
	if err != nil {
		t.Fatal(err)
	}
	data := &fitData{cat: w.cat, states: states}
	for u := range states {
		r := rng.New(rng.Key(9, uint64(u)))
		for k := range 60 {
			item := r.IntN(w.cat.Len())
			data.probes = append(data.probes, probe{user: u, item: item, liked: truthModel.WouldClick(states[u], k, item)})
		}
	}
	full := utilityDefaults()
	got, ll, evaluated, err := data.search(full)
	if err != nil {
		t.Fatal(err)
	}
	llPlanted, _ := data.logLik(merge(full, planted))
	t.Logf("fitted %v (log-lik %.4f, planted %.4f, %d evaluations)", pick(got), ll, llPlanted, evaluated)
	for _, name := range []string{"weight_stated", "weight_popularity", "noise"} {
		want, have := planted.Float(name), got.Float(name)
		if math.Abs(have-want) > 0.25*want {
			t.Errorf("%s = %.3f, want %.3f ± 25%%", name, have, want)
		}
	}
	if ll < llPlanted-1e-9 {
		t.Errorf("search stopped at log-lik %.5f, below the planted point's %.5f", ll, llPlanted)
	}

	// Ratings drawn with r₀ = 2.5, r₁ = 2 and ρ = 0.4 come back by least
	// squares, ρ by matching the spread of the real ratings.
	raters := merge(full, config.Params{"rating_offset": 2.5, "rating_scale": 2.0, "rating_noise": 0.4})
	rater := utility(t, w.cat, raters).(personas.Scorer)
	for u := range states {
		for k := range 30 {
			item := (u*31 + k*17) % w.cat.Len()
			data.ratings = append(data.ratings, rated{u, item, rater.Rate(states[u], k, item)})
		}
	}
	fitted, err := data.fitRatings(full)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("ratings: r₀ %.3f r₁ %.3f ρ %.3f", fitted.Float("rating_offset"), fitted.Float("rating_scale"), fitted.Float("rating_noise"))
	if r0 := fitted.Float("rating_offset"); math.Abs(r0-2.5) > 0.25 {
		t.Errorf("rating_offset %.3f, want 2.5 ± 0.25", r0)
	}
	if r1 := fitted.Float("rating_scale"); math.Abs(r1-2) > 0.4 {
		t.Errorf("rating_scale %.3f, want 2 ± 0.4", r1)
	}
	if rho := fitted.Float("rating_noise"); math.Abs(rho-0.4) > 0.15 {
		t.Errorf("rating_noise %.3f, want 0.4 ± 0.15", rho)
	}
}

func merge(a, b config.Params) config.Params {
	out := config.Params{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

// TestFitImprovesHeldOutAUC plants non-default coefficients, derives
// personas from the log they produce and checks that fitting on the seed
// part raises held-out AUC over the defaults.
func TestFitImprovesHeldOutAUC(t *testing.T) {
	if testing.Short() {
		t.Skip("simulates and fits")
	}
	w := plantedWorld(t, 200, 600, 60, config.Params{"weight_popularity": 1.5, "noise": 0.3})
	ds, err := Derive(w.cat, w.log, DeriveOptions{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	fitted, rep, err := Fit(context.Background(), ds, nil, Options{Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("default %v → fitted %v; seed log-lik %.4f → %.4f over %d probes", rep.Default, rep.Fitted, rep.LogLikDefault, rep.LogLikFitted, rep.Probes)
	for _, g := range rep.HeldOut {
		t.Logf("held-out %s: AUC %.4f → %.4f, F1 %.3f → %.3f", g.Ratio, float64(g.AUCDefault), float64(g.AUCFitted), g.F1Default, g.F1Fitted)
		if g.AUCFitted <= g.AUCDefault {
			t.Errorf("%s: fitted AUC %.4f does not beat the default's %.4f", g.Ratio, float64(g.AUCFitted), float64(g.AUCDefault))
		}
	}
	if rep.LogLikFitted <= rep.LogLikDefault {
		t.Errorf("fit did not raise the seed log-likelihood: %.4f → %.4f", rep.LogLikDefault, rep.LogLikFitted)
	}
	y := string(BehaviourYAML(fitted, "fitted"))
	if !strings.Contains(y, "behaviour:\n  model: utility\n  params:\n") || !strings.Contains(y, "    weight_popularity: ") {
		t.Errorf("behaviour YAML:\n%s", y)
	}
}
