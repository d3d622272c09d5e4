package fidelity

import (
	"github.com/recloop/recloop/fidelity/report"
	"github.com/recloop/recloop/personas"
)

// evaluateRatings compares the simulator's ratings of every rated
// held-out item with the real ones, beside three point forecasts fitted on
// the seed log: the global mean, each user's mean (the global one for a
// user without seed ratings), and the user + item bias baseline
// μ + b_u + b_i (shrunk means, as the taste model's quality). A Scorer's
// expected rating is compared too; any other behaviour is compared on the
// ratings it gave the positives it clicked (clicked).
func evaluateRatings(ds *Dataset, states []*personas.State, b personas.Behaviour, clicked []ratedPair) report.Ratings {
	mu, quality, userBias := ratingBiases(ds.Catalog, ds.SeedLog)
	var truth, drawn, expected, global, userMean, biased []float64
	scorer, isScorer := b.(personas.Scorer)
	for u := range ds.Users {
		user := &ds.Users[u]
		var s, c float64
		for _, in := range user.Seed {
			if in.Rating > 0 {
				s += in.Rating
				c++
			}
		}
		um := mu
		if c > 0 {
			um = s / c
		}
		for k, in := range user.HeldOut {
			if in.Rating <= 0 {
				continue
			}
			idx := user.HeldIdx[k]
			global = append(global, mu)
			userMean = append(userMean, um)
			biased = append(biased, clampRating(mu+userBias[user.ID]+quality[idx]))
			truth = append(truth, in.Rating)
			if isScorer {
				drawn = append(drawn, scorer.Rate(states[u], 0, idx))
				expected = append(expected, scorer.ExpectedRating(states[u], idx))
			}
		}
	}
	r := report.Ratings{Baselines: []report.RatingBaseline{
		{Name: "global mean", ErrorStats: Errors(global, truth)},
		{Name: "user mean", ErrorStats: Errors(userMean, truth)},
		{Name: "user + item bias", ErrorStats: Errors(biased, truth)},
	}}
	simTruth := truth
	if isScorer {
		e := Errors(expected, truth)
		r.Expected = &e
	} else {
		drawn, simTruth = nil, nil
		for _, p := range clicked {
			drawn, simTruth = append(drawn, p.simulated), append(simTruth, p.real)
		}
	}
	r.Drawn = Errors(drawn, simTruth)
	r.MeanSimulated, r.SDSimulated = meanSD(drawn)
	r.MeanReal, r.SDReal = meanSD(simTruth)
	return r
}

func clampRating(r float64) float64 { return min(5, max(1, r)) }
