package fidelity

import (
	"context"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/recloop/recloop/config"
	"github.com/recloop/recloop/internal/rng"
	"github.com/recloop/recloop/personas"
)

// TestFitRecoversPlantedCoefficients labels items shown to known personas
// with the utility model's own click draws under planted coefficients (σ at
// its default, which fixes the scale) and checks that the probit fit finds
// them again; then ratings drawn with planted r₀, r₁ and ρ come back by
// least squares and the noise's maximum likelihood.
func TestFitRecoversPlantedCoefficients(t *testing.T) {
	w := plantedWorld(t, 200, 600, 1, nil)
	planted := config.Params{"weight_stated": 1.7, "weight_popularity": 0.8, "weight_novelty": 0.3, "threshold": 0.9, "pickiness_scale": 0.4}
	truth := utility(t, w.cat, planted)
	states, err := personas.Build(w.truth, w.cat, 5)
	if err != nil {
		t.Fatal(err)
	}
	data := &fitData{}
	terms := truth.(personas.TermScorer)
	for u := range states {
		r := rng.New(rng.Key(9, uint64(u)))
		for k := range 100 {
			item := r.IntN(w.cat.Len())
			data.terms = append(data.terms, terms.Terms(states[u], item))
			data.labels = append(data.labels, truth.(personas.Scorer).WouldClick(states[u], k, item))
		}
	}
	full := utilityDefaults()
	fittedParams, ll, err := data.fitClicks(full)
	if err != nil {
		t.Fatal(err)
	}
	got, want, def := coefs(t, fittedParams), coefs(t, merge(full, planted)), coefs(t, full)
	plantedLL, err := data.logLik(merge(full, planted))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("fitted %v (log-lik %.4f, planted %.4f)", got, ll, plantedLL)
	for _, name := range []string{"weight_stated", "weight_popularity", "weight_novelty", "threshold", "pickiness_scale"} {
		if have, w := got[name], want[name]; math.Abs(have-w) > 0.15*w+0.05 {
			t.Errorf("%s = %.3f, want %.3f ± 15%%", name, have, w)
		}
	}
	// Latent interests and the taste model are absent: their terms are 0
	// on every probe and keep their coefficients.
	if got["weight_latent"] != def["weight_latent"] || got["weight_factors"] != def["weight_factors"] {
		t.Errorf("unidentified coefficients moved: %v", got)
	}
	if ll < plantedLL-1e-9 {
		t.Errorf("fit stopped at log-lik %.5f, below the planted point's %.5f", ll, plantedLL)
	}

	raters := merge(full, config.Params{"rating_offset": 2.5, "rating_scale": 2.0, "rating_noise": 0.4})
	rater := utility(t, w.cat, raters)
	for u := range states {
		for k := range 30 {
			item := (u*31 + k*17) % w.cat.Len()
			data.ratingTerms = append(data.ratingTerms, terms.Terms(states[u], item))
			data.ratings = append(data.ratings, rater.(personas.Scorer).Rate(states[u], k, item))
		}
	}
	ratingParams, err := data.fitRatings(full)
	if err != nil {
		t.Fatal(err)
	}
	fitted := coefs(t, ratingParams)
	t.Logf("ratings: r₀ %.3f r₁ %.3f ρ %.3f", fitted["rating_offset"], fitted["rating_scale"], fitted["rating_noise"])
	if r0 := fitted["rating_offset"]; math.Abs(r0-2.5) > 0.25 {
		t.Errorf("rating_offset %.3f, want 2.5 ± 0.25", r0)
	}
	if r1 := fitted["rating_scale"]; math.Abs(r1-2) > 0.4 {
		t.Errorf("rating_scale %.3f, want 2 ± 0.4", r1)
	}
	// ρ's likelihood counts the rounding to whole stars and the clamping.
	if rho := fitted["rating_noise"]; math.Abs(rho-0.4) > 0.06 {
		t.Errorf("rating_noise %.3f, want 0.4 ± 0.06", rho)
	}
}

// coefs are p's FittedParams.
func coefs(t *testing.T, p config.Params) map[string]float64 {
	t.Helper()
	c, err := pick(p)
	if err != nil {
		t.Fatal(err)
	}
	return c
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
	fitted, taste, rep, err := Fit(context.Background(), ds, nil, Options{Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	if taste == nil || rep.Personas != "derived" || len(rep.Candidates) < 2 {
		t.Fatalf("taste %v, report %+v", taste != nil, rep)
	}
	t.Logf("default %v → fitted %v; validation log-lik %.4f → %.4f over %d probes; taste %+v",
		rep.Default, rep.Fitted, rep.LogLikDefault, rep.LogLikFitted, rep.Probes, rep.Taste)
	var gain float64
	for _, g := range rep.HeldOut {
		t.Logf("held-out %s %s: AUC %.4f → %.4f, accuracy %.3f → %.3f", g.Sampler, g.Ratio, float64(g.AUCDefault), float64(g.AUCFitted), g.AccDefault, g.AccFitted)
		gain += float64(g.AUCFitted-g.AUCDefault) / float64(len(rep.HeldOut))
	}
	// 200 users make each figure noisy; the mean over samplers and ratios
	// must rise.
	if gain <= 0 {
		t.Errorf("fitting lowered the mean held-out AUC by %.4f", -gain)
	}
	if rep.LogLikFitted <= rep.LogLikDefault {
		t.Errorf("fit did not raise the validation log-likelihood: %.4f → %.4f", rep.LogLikDefault, rep.LogLikFitted)
	}
	fitted["taste_model"] = "taste-model.json"
	y := string(BehaviourYAML(fitted, "fitted"))
	if !strings.Contains(y, "behaviour:\n  model: utility\n  params:\n") || !strings.Contains(y, "    weight_popularity: ") ||
		!strings.Contains(y, `    taste_model: "taste-model.json"`) {
		t.Errorf("behaviour YAML:\n%s", y)
	}
}

// With personas given (Use), the fit's inner split keeps them, edits and
// all, with their history cut back to the inner seed part.
func TestFitKeepsGivenPersonas(t *testing.T) {
	w := plantedWorld(t, 60, 300, 30, nil)
	ds, err := Derive(w.cat, w.log, DeriveOptions{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	given := ds.Personas()
	for i := range given {
		given[i].Description = "edited " + given[i].ID
		given[i].Traits.Pickiness = 0.123
	}
	if err := ds.Use(given); err != nil {
		t.Fatal(err)
	}
	inner, err := innerSplit(ds)
	if err != nil {
		t.Fatal(err)
	}
	if !inner.Given || len(inner.Users) == 0 {
		t.Fatalf("inner split: given %v, %d users", inner.Given, len(inner.Users))
	}
	for _, u := range inner.Users {
		p := u.Persona
		if p.Description != "edited "+p.ID || p.Traits.Pickiness != 0.123 {
			t.Errorf("%s: the inner split lost the given persona: %q, %+v", p.ID, p.Description, p.Traits)
		}
		seed := make([]string, len(u.Seed))
		for k, in := range u.Seed {
			seed[k] = in.Item
		}
		if !slices.Equal(p.History, seed) {
			t.Errorf("%s: history %v, want the inner seed part %v", p.ID, p.History, seed)
		}
	}
}
