package fidelity

import (
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/recloop/recloop/catalog"
	"github.com/recloop/recloop/config"
	"github.com/recloop/recloop/metrics"
	"github.com/recloop/recloop/personas"
)

// FittedParams are the utility model's global coefficients Fit tunes:
// the click rule's β_s (affinity), β_pop (conformity's pull), β_nov
// (curiosity's pull) and σ (noise), then the rating rule's r₀, r₁ and ρ.
// The examination decay η is not among them: a log records what users
// consumed, not the slates and ranks they were shown, so nothing in it
// identifies η; the threshold τ₀ stays fixed because it only sets the
// scale the others are measured in.
var FittedParams = []string{"weight_stated", "weight_popularity", "weight_novelty", "noise", "rating_offset", "rating_scale", "rating_noise"}

// clickParams are the FittedParams of the click rule, searched by fitGrid.
var clickParams = FittedParams[:4]

// fitGrid is the coarse grid searched before the local refinement.
var fitGrid = [][]float64{
	{0.5, 1, 1.5, 2, 3, 4},
	{0, 0.3, 0.6, 1, 1.5, 2.5},
	{0, 0.3, 0.6, 1.2},
	{0.1, 0.15, 0.25, 0.4, 0.6},
}

// FitReport is what Fit found and what it gained on the held-out part.
type FitReport struct {
	Default map[string]float64 `json:"default"`
	Fitted  map[string]float64 `json:"fitted"`
	// LogLik* are the mean Bernoulli log-likelihoods of the 1:1 probes of
	// the seed part's own hold-out, before and after fitting.
	LogLikDefault float64 `json:"loglik_default"`
	LogLikFitted  float64 `json:"loglik_fitted"`
	Probes        int     `json:"probes"`
	Evaluated     int     `json:"evaluated"`
	// HeldOut compares the default and fitted coefficients on the real
	// hold-out, per ratio.
	HeldOut []FitGain `json:"held_out"`
}

// FitGain is the held-out discrimination before and after fitting.
type FitGain struct {
	Ratio      string        `json:"ratio"`
	AUCDefault metrics.Float `json:"auc_default"`
	AUCFitted  metrics.Float `json:"auc_fitted"`
	F1Default  float64       `json:"f1_default"`
	F1Fitted   float64       `json:"f1_fitted"`
}

// Fit tunes FittedParams of the utility model, starting from base (the
// other parameters stay as base has them), on the seed part of ds only:
// the seed part is split again by the same rule, personas are derived from
// its first part, and the coefficients maximise the log-likelihood of the
// click probabilities on 1:1 probes of its last part (a grid, then a
// coordinate search). It returns the fitted parameters and a report that
// includes the gain in discrimination on ds's real hold-out.
func Fit(ctx context.Context, ds *Dataset, base config.Params, opt Options) (config.Params, *FitReport, error) {
	opt = opt.withDefaults()
	inner, err := Derive(ds.Catalog, ds.SeedLog, ds.Options)
	if err != nil {
		return nil, nil, fmt.Errorf("fidelity: splitting the seed part for fitting: %w", err)
	}
	data, err := newFitData(inner, opt)
	if err != nil {
		return nil, nil, err
	}
	full := utilityDefaults()
	maps.Copy(full, base)
	fitted, ll, evaluated, err := data.search(full)
	if err != nil {
		return nil, nil, err
	}
	if fitted, err = data.fitRatings(fitted); err != nil {
		return nil, nil, err
	}
	llDefault, err := data.logLik(full)
	if err != nil {
		return nil, nil, err
	}
	rep := &FitReport{
		Default: pick(full), Fitted: pick(fitted),
		LogLikDefault: llDefault, LogLikFitted: ll, Probes: len(data.probes), Evaluated: evaluated,
	}
	heldOpt := opt
	heldOpt.SkipVerdicts = true
	before, err := evaluateUtility(ctx, ds, full, heldOpt)
	if err != nil {
		return nil, nil, err
	}
	after, err := evaluateUtility(ctx, ds, fitted, heldOpt)
	if err != nil {
		return nil, nil, err
	}
	for i := range before.Discrimination {
		b, a := before.Discrimination[i], after.Discrimination[i]
		rep.HeldOut = append(rep.HeldOut, FitGain{Ratio: b.Ratio, AUCDefault: b.AUC, AUCFitted: a.AUC, F1Default: b.F1, F1Fitted: a.F1})
	}
	return fitted, rep, nil
}

func utilityDefaults() config.Params {
	spec, _ := personas.LookupBehaviour(personas.UtilityName)
	return spec.Defaults()
}

func pick(p config.Params) map[string]float64 {
	out := make(map[string]float64, len(FittedParams))
	for _, name := range FittedParams {
		out[name] = p.Float(name)
	}
	return out
}

func evaluateUtility(ctx context.Context, ds *Dataset, params config.Params, opt Options) (*Report, error) {
	b, err := personas.NewBehaviour(personas.UtilityName, personas.BehaviourEnv{Catalog: ds.Catalog, Seed: opt.Seed}, params)
	if err != nil {
		return nil, err
	}
	return Evaluate(ctx, ds, b, personas.UtilityName, nil, opt)
}

// fitData is what the likelihood is computed over: personas, their probes
// and whether each probe was liked.
type fitData struct {
	cat     *catalog.Catalog
	states  []*personas.State
	probes  []probe
	ratings []rated
}

// rated is a held-out rating of the fitting split.
type rated struct {
	user, item int
	rating     float64
}

func newFitData(ds *Dataset, opt Options) (*fitData, error) {
	states, err := personas.Build(ds.Personas(), ds.Catalog, opt.Seed)
	if err != nil {
		return nil, fmt.Errorf("fidelity: building the fitting personas: %w", err)
	}
	f := &fitData{cat: ds.Catalog, states: states}
	for u := range ds.Users {
		f.probes = append(f.probes, probes(ds, u, 1, opt)...)
		user := &ds.Users[u]
		for k, in := range user.HeldOut {
			if in.Rating > 0 {
				f.ratings = append(f.ratings, rated{u, user.HeldIdx[k], in.Rating})
			}
		}
	}
	if len(f.probes) == 0 {
		return nil, fmt.Errorf("%w: the seed part has no liked items to fit on", ErrNoUsers)
	}
	return f, nil
}

// probFloor keeps log-likelihoods finite for probabilities of 0 or 1.
const probFloor = 1e-6

// logLik is the mean log-likelihood of the probes' labels under params.
func (f *fitData) logLik(params config.Params) (float64, error) {
	b, err := personas.NewBehaviour(personas.UtilityName, personas.BehaviourEnv{Catalog: f.cat}, params)
	if err != nil {
		return 0, err
	}
	s := b.(personas.Scorer)
	var sum float64
	for _, p := range f.probes {
		q := min(1-probFloor, max(probFloor, s.ClickProbability(f.states[p.user], p.item)))
		if p.liked {
			sum += math.Log(q)
		} else {
			sum += math.Log1p(-q)
		}
	}
	return sum / float64(len(f.probes)), nil
}

// search evaluates every point of fitGrid, then refines the best one
// coefficient at a time, multiplying by a factor that shrinks from 1.5
// towards 1 (a coefficient at 0 moves to 0.05 first). Ties keep the earlier
// point, so the search is deterministic.
func (f *fitData) search(base config.Params) (config.Params, float64, int, error) {
	best, bestLL, evaluated := base, math.Inf(-1), 0
	try := func(p config.Params) (bool, error) {
		ll, err := f.logLik(p)
		evaluated++
		if err != nil {
			return false, err
		}
		if ll > bestLL+1e-12 {
			best, bestLL = p, ll
			return true, nil
		}
		return false, nil
	}
	point := make([]int, len(fitGrid))
	for {
		p := maps.Clone(base)
		for k, name := range clickParams {
			p[name] = fitGrid[k][point[k]]
		}
		if _, err := try(p); err != nil {
			return nil, 0, evaluated, err
		}
		if !next(point) {
			break
		}
	}
	for _, factor := range []float64{1.5, 1.2, 1.08, 1.03} {
		for improved := true; improved; {
			improved = false
			for _, name := range clickParams {
				for _, up := range []bool{true, false} {
					p := maps.Clone(best)
					x := p.Float(name)
					switch {
					case x == 0 && up:
						x = 0.05
					case up:
						x *= factor
					default:
						x /= factor
					}
					if name == "noise" && x < 0.01 {
						continue
					}
					p[name] = x
					ok, err := try(p)
					if err != nil {
						return nil, 0, evaluated, err
					}
					improved = improved || ok
				}
			}
		}
	}
	return best, bestLL, evaluated, nil
}

// ratingGrid is the coarse grid of (r₀, r₁) searched before refinement.
var ratingGrid = [2][]float64{{0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4}, {0, 1, 2, 3, 4, 5, 6, 8}}

// fitRatings chooses r₀ and r₁ minimising the squared error of the model's
// noise-free ratings (ρ = 0) on the held-out ratings of the fitting split,
// by a grid and a coordinate search in steps of 0.25 down to 0.01, then ρ
// (0 to 2 in steps of 0.05) so that the standard deviation of the model's
// drawn ratings matches the real one. Without ratings params come back
// unchanged.
func (f *fitData) fitRatings(params config.Params) (config.Params, error) {
	if len(f.ratings) == 0 {
		return params, nil
	}
	rate := func(r0, r1, rho float64) ([]float64, error) {
		p := maps.Clone(params)
		p["rating_offset"], p["rating_scale"], p["rating_noise"] = r0, r1, rho
		b, err := personas.NewBehaviour(personas.UtilityName, personas.BehaviourEnv{Catalog: f.cat}, p)
		if err != nil {
			return nil, err
		}
		s := b.(personas.Scorer)
		out := make([]float64, len(f.ratings))
		for k, r := range f.ratings {
			out[k] = s.Rate(f.states[r.user], 0, r.item)
		}
		return out, nil
	}
	truth := make([]float64, len(f.ratings))
	for k, r := range f.ratings {
		truth[k] = r.rating
	}
	best, bestErr := [2]float64{}, math.Inf(1)
	try := func(r0, r1 float64) error {
		pred, err := rate(r0, r1, 0)
		if err != nil {
			return err
		}
		if e := float64(Errors(pred, truth).RMSE); e < bestErr-1e-12 {
			best, bestErr = [2]float64{r0, r1}, e
		}
		return nil
	}
	for _, r0 := range ratingGrid[0] {
		for _, r1 := range ratingGrid[1] {
			if err := try(r0, r1); err != nil {
				return nil, err
			}
		}
	}
	for _, step := range []float64{0.25, 0.1, 0.03, 0.01} {
		for improved := true; improved; {
			before := best
			for _, d := range [][2]float64{{step, 0}, {-step, 0}, {0, step}, {0, -step}} {
				if r1 := best[1] + d[1]; r1 >= 0 {
					if err := try(best[0]+d[0], r1); err != nil {
						return nil, err
					}
				}
			}
			improved = best != before
		}
	}
	out := maps.Clone(params)
	out["rating_offset"], out["rating_scale"] = round3(best[0]), round3(best[1])
	_, sdReal := meanSD(truth)
	bestRho, bestGap := 0.0, math.Inf(1)
	for k := range 41 {
		rho := 0.05 * float64(k)
		draws, err := rate(best[0], best[1], rho)
		if err != nil {
			return nil, err
		}
		_, sd := meanSD(draws)
		if gap := math.Abs(float64(sd - sdReal)); gap < bestGap-1e-12 {
			bestRho, bestGap = rho, gap
		}
	}
	out["rating_noise"] = round3(bestRho)
	return out, nil
}

// next advances a mixed-radix counter over fitGrid; false after the last.
func next(point []int) bool {
	for k := len(point) - 1; k >= 0; k-- {
		point[k]++
		if point[k] < len(fitGrid[k]) {
			return true
		}
		point[k] = 0
	}
	return false
}

// BehaviourYAML renders params (only the FittedParams that differ from the
// model's defaults, and any other non-default ones) as a scenario fragment:
// behaviour: {model: utility, params: {...}}.
func BehaviourYAML(params config.Params, comment string) []byte {
	defaults := utilityDefaults()
	var b []byte
	if comment != "" {
		for line := range strings.SplitSeq(comment, "\n") {
			b = append(b, "# "+line+"\n"...)
		}
	}
	b = append(b, "behaviour:\n  model: utility\n  params:\n"...)
	for _, name := range slices.Sorted(maps.Keys(params)) {
		v := params[name]
		if fmt.Sprint(v) == fmt.Sprint(defaults[name]) && !slices.Contains(FittedParams, name) {
			continue
		}
		switch x := v.(type) {
		case float64:
			b = fmt.Appendf(b, "    %s: %s\n", name, formatCoef(x))
		default:
			b = fmt.Appendf(b, "    %s: %v\n", name, x)
		}
	}
	return b
}

func formatCoef(x float64) string {
	return fmt.Sprintf("%.4g", x)
}
