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
	"github.com/recloop/recloop/fidelity/report"
	"github.com/recloop/recloop/internal/linalg"
	"github.com/recloop/recloop/metrics"
	"github.com/recloop/recloop/personas"
)

// FittedParams are the utility model's coefficients Fit estimates: the
// click rule's weights and threshold, then the rating rule's. The noise σ
// is not among them: it sets the scale the click rule is measured in
// (multiplying every weight, the threshold and σ by one number changes no
// decision), so it stays as given. Nor is the examination decay η: a log
// records what users consumed, not the slates and ranks they were shown,
// so nothing in it identifies η.
var FittedParams = []string{
	"weight_stated", "weight_latent", "weight_factors", "weight_popularity", "weight_quality", "weight_novelty", "weight_dislike",
	"threshold", "pickiness_scale",
	"rating_offset", "rating_scale", "rating_quality", "rating_factors", "rating_noise",
}

// clickTerms are the click rule's terms in the order of the probit's
// columns after the intercept, with the parameter each one's coefficient
// becomes (times σ). Dislike and pickiness enter with a minus sign.
var clickTerms = []struct {
	param string
	value func(*personas.UtilityTerms) float64
}{
	{"weight_stated", func(t *personas.UtilityTerms) float64 { return t.Stated }},
	{"weight_latent", func(t *personas.UtilityTerms) float64 { return t.Latent }},
	{"weight_factors", func(t *personas.UtilityTerms) float64 { return t.Factors }},
	{"weight_popularity", func(t *personas.UtilityTerms) float64 { return t.Popularity }},
	{"weight_quality", func(t *personas.UtilityTerms) float64 { return t.Quality }},
	{"weight_novelty", func(t *personas.UtilityTerms) float64 { return t.Novelty }},
	{"weight_dislike", func(t *personas.UtilityTerms) float64 { return -t.Dislike }},
	{"pickiness_scale", func(t *personas.UtilityTerms) float64 { return -t.Pickiness }},
}

// Fit estimates the utility model's coefficients (FittedParams) and
// chooses the taste model's settings on the seed part of ds only. The seed
// part is split again by ds's own rule: personas (or, for personas given
// with Use, those personas with their history cut back to the first part)
// and a taste model come from the first part, and the probes of its last
// part are the validation set. For each candidate taste setting the click
// coefficients maximise the probit likelihood of 1:1 probes of both
// samplers, P(click) = Φ((U₀ − τ)/σ); the setting with the highest
// likelihood wins. The rating coefficients are least squares on the
// validation ratings and ρ the maximum-likelihood noise. It returns the
// parameters (base's, with the fitted ones replaced), the taste model with
// the chosen settings trained on the whole seed part, and a report that
// includes the held-out gain over base with ds's own taste model.
func Fit(ctx context.Context, ds *Dataset, base config.Params, opt Options) (config.Params, *personas.TasteModel, *report.Fit, error) {
	opt = opt.withDefaults()
	full := utilityDefaults()
	maps.Copy(full, base)
	inner, err := innerSplit(ds)
	if err != nil {
		return nil, nil, nil, err
	}
	def, err := pick(full)
	if err != nil {
		return nil, nil, nil, err
	}
	rep := &report.Fit{Default: def, Personas: "derived"}
	if ds.Given {
		rep.Personas = "given"
	}
	search := newTasteSearch(inner, full, opt)
	best, bestTaste, bestLL, err := search.run(ds.Options.Taste)
	if err != nil {
		return nil, nil, nil, err
	}
	_ = bestLL
	rep.Candidates = search.tried
	rep.Taste = search.tried[search.bestAt]
	rep.Probes = search.probes
	// The default's likelihood, with ds's own taste settings, on the same
	// validation probes.
	defModel, _, err := trainTaste(inner.Catalog, inner.SeedLog, ds.Options.Taste, opt.Seed)
	if err != nil {
		return nil, nil, nil, err
	}
	defData, err := newFitData(inner, defModel, full, opt)
	if err != nil {
		return nil, nil, nil, err
	}
	if rep.LogLikDefault, err = defData.logLik(full); err != nil {
		return nil, nil, nil, err
	}
	bestModel, _, err := trainTaste(inner.Catalog, inner.SeedLog, bestTaste, opt.Seed)
	if err != nil {
		return nil, nil, nil, err
	}
	data, err := newFitData(inner, bestModel, best, opt)
	if err != nil {
		return nil, nil, nil, err
	}
	if rep.LogLikFitted, err = data.logLik(best); err != nil {
		return nil, nil, nil, err
	}
	if best, err = data.fitRatings(best); err != nil {
		return nil, nil, nil, err
	}
	rep.Ratings = len(data.ratings)
	if rep.Fitted, err = pick(best); err != nil {
		return nil, nil, nil, err
	}
	taste, _, err := trainTaste(ds.Catalog, ds.SeedLog, bestTaste, opt.Seed)
	if err != nil {
		return nil, nil, nil, err
	}
	if rep.HeldOut, err = heldOutGain(ctx, ds, full, ds.Taste, best, taste, opt); err != nil {
		return nil, nil, nil, err
	}
	return best, taste, rep, nil
}

// innerSplit derives the fitting data from ds's seed part by ds's own
// split rule. Personas given with Use replace the derived ones, matched by
// user, with their history cut back to the inner seed part.
func innerSplit(ds *Dataset) (*Dataset, error) {
	opt := ds.Options
	inner, err := Derive(ds.Catalog, ds.SeedLog, opt)
	if err != nil {
		return nil, fmt.Errorf("fidelity: splitting the seed part for fitting: %w", err)
	}
	if !ds.Given {
		return inner, nil
	}
	given := make(map[string]*personas.Persona, len(ds.Users))
	for i := range ds.Users {
		given[ds.Users[i].ID] = &ds.Users[i].Persona
	}
	kept := inner.Users[:0]
	for _, u := range inner.Users {
		p, ok := given[u.ID]
		if !ok {
			continue
		}
		cut := *p
		seed := make(map[string]bool, len(u.Seed))
		for _, in := range u.Seed {
			seed[in.Item] = true
		}
		cut.History = nil
		for _, id := range p.History {
			if seed[id] {
				cut.History = append(cut.History, id)
			}
		}
		u.Persona = cut
		kept = append(kept, u)
	}
	inner.Users = kept
	inner.Given = true
	if len(kept) == 0 {
		return nil, fmt.Errorf("%w: no given persona has a user in the seed part's split", ErrNoUsers)
	}
	return inner, nil
}

// tasteSearch chooses the taste model's settings by coordinate ascent on
// the validation likelihood: from a start, it tries every neighbour (each
// setting multiplied or divided by its step, recency also switched off)
// with the click coefficients fitted anew, moves to the best neighbour
// while that improves the likelihood, and stops at a setting none of
// whose neighbours does better. ALS fits are shared by settings that
// differ only in recency.
type tasteSearch struct {
	inner  *Dataset
	params config.Params
	opt    Options
	models map[[3]float64]*personas.TasteModel
	seen   map[TasteOptions]int
	tried  []report.TasteSetting
	fitted []config.Params
	bestAt int
	probes int
}

func newTasteSearch(inner *Dataset, params config.Params, opt Options) *tasteSearch {
	return &tasteSearch{inner: inner, params: params, opt: opt, models: map[[3]float64]*personas.TasteModel{}, seen: map[TasteOptions]int{}}
}

// Search bounds. A validation split of a few hundred users can prefer
// extreme settings by chance; the search stays within ranges where
// implicit ALS behaves sensibly, and makes at most maxMoves moves.
const (
	minFactors, maxFactors = 4, 64
	minReg, maxReg         = 1, 1000
	minAlpha, maxAlpha     = 1, 200
	minRecency, maxRecency = 2, 200
	maxMoves               = 12
)

func (s *tasteSearch) run(start TasteOptions) (config.Params, TasteOptions, float64, error) {
	cur := start.withDefaults()
	curLL, err := s.try(cur)
	if err != nil {
		return nil, TasteOptions{}, 0, err
	}
	for range maxMoves {
		next, nextLL := cur, curLL
		for _, nb := range neighbours(cur) {
			ll, err := s.try(nb)
			if err != nil {
				return nil, TasteOptions{}, 0, err
			}
			if ll > nextLL+1e-9 {
				next, nextLL = nb, ll
			}
		}
		if next == cur {
			break
		}
		cur, curLL = next, nextLL
	}
	s.bestAt = s.seen[cur]
	return s.fitted[s.bestAt], cur, curLL, nil
}

// neighbours are the settings one step from o.
func neighbours(o TasteOptions) []TasteOptions {
	var out []TasteOptions
	add := func(n TasteOptions) {
		inside := n.Factors >= minFactors && n.Factors <= maxFactors &&
			n.Regularization >= minReg && n.Regularization <= maxReg &&
			n.Alpha >= minAlpha && n.Alpha <= maxAlpha &&
			(n.Recency == 0 || n.Recency >= minRecency && n.Recency <= maxRecency)
		if inside && n != o {
			out = append(out, n)
		}
	}
	for _, f := range []int{o.Factors * 2, o.Factors / 2} {
		n := o
		n.Factors = f
		add(n)
	}
	for _, x := range []float64{3, 1.0 / 3} {
		n := o
		n.Regularization = round(o.Regularization*x, 4)
		add(n)
	}
	for _, x := range []float64{2, 0.5} {
		n := o
		n.Alpha = round(o.Alpha*x, 4)
		add(n)
	}
	if o.Recency > 0 {
		for _, r := range []float64{o.Recency * 2, o.Recency / 2, 0} {
			n := o
			n.Recency = r
			add(n)
		}
	} else {
		n := o
		n.Recency = DefaultTaste.Recency
		add(n)
	}
	return out
}

// try fits the click coefficients with taste setting o and returns the
// validation likelihood, remembering both.
func (s *tasteSearch) try(o TasteOptions) (float64, error) {
	if k, ok := s.seen[o]; ok {
		return s.tried[k].LogLik, nil
	}
	key := [3]float64{float64(o.Factors), o.Regularization, o.Alpha}
	model := s.models[key]
	if model == nil {
		var err error
		if model, _, err = trainTaste(s.inner.Catalog, s.inner.SeedLog, o, s.opt.Seed); err != nil {
			return 0, err
		}
		s.models[key] = model
	}
	m := *model
	m.Recency = o.Recency
	data, err := newFitData(s.inner, &m, s.params, s.opt)
	if err != nil {
		return 0, err
	}
	params, ll, err := data.fitClicks(s.params)
	if err != nil {
		return 0, err
	}
	s.seen[o] = len(s.tried)
	s.tried = append(s.tried, report.TasteSetting{Factors: o.Factors, Regularization: o.Regularization, Alpha: o.Alpha, Recency: o.Recency, LogLik: ll})
	s.fitted = append(s.fitted, params)
	s.probes = len(data.labels)
	return ll, nil
}

func utilityDefaults() config.Params {
	spec, _ := personas.LookupBehaviour(personas.UtilityName)
	return spec.Defaults()
}

func pick(p config.Params) (map[string]float64, error) {
	r := p.Reader(personas.UtilityName)
	out := make(map[string]float64, len(FittedParams))
	for _, name := range FittedParams {
		out[name] = r.Float(name)
	}
	return out, r.Err()
}

func newUtilityModel(cat *catalog.Catalog, taste *personas.TasteModel, params config.Params, seed uint64) (personas.Behaviour, error) {
	return personas.NewBehaviour(personas.UtilityName, personas.BehaviourEnv{Catalog: cat, Seed: seed, Taste: taste}, params)
}

// fitData is the validation set: the utility terms of every 1:1 probe of
// both samplers with its label, and of every rated held-out item with its
// rating.
type fitData struct {
	terms  []personas.UtilityTerms
	labels []bool
	// ratings are the terms and real ratings of the rated held-out items.
	ratingTerms []personas.UtilityTerms
	ratings     []float64
}

func newFitData(inner *Dataset, taste *personas.TasteModel, params config.Params, opt Options) (*fitData, error) {
	b, err := newUtilityModel(inner.Catalog, taste, params, opt.Seed)
	if err != nil {
		return nil, err
	}
	ts := b.(personas.TermScorer)
	states, err := personas.Build(inner.Personas(), inner.Catalog, opt.Seed)
	if err != nil {
		return nil, fmt.Errorf("fidelity: building the fitting personas: %w", err)
	}
	f := &fitData{}
	smp := newSampler(inner, opt.Seed)
	for _, name := range Samplers {
		set := smp.set(name, 1, opt.MaxPositives)
		for _, p := range set.probes {
			f.terms = append(f.terms, ts.Terms(states[p.user], p.item))
			f.labels = append(f.labels, p.liked)
		}
	}
	for u := range inner.Users {
		user := &inner.Users[u]
		for k, in := range user.HeldOut {
			if in.Rating > 0 {
				f.ratingTerms = append(f.ratingTerms, ts.Terms(states[u], user.HeldIdx[k]))
				f.ratings = append(f.ratings, in.Rating)
			}
		}
	}
	if len(f.labels) == 0 {
		return nil, fmt.Errorf("%w: the seed part has no liked items to fit on", ErrNoUsers)
	}
	return f, nil
}

// design is the probit's design matrix: an intercept, then clickTerms.
func (f *fitData) design() [][]float64 {
	x := make([][]float64, len(f.terms))
	for i := range f.terms {
		row := make([]float64, 1+len(clickTerms))
		row[0] = 1
		for k, c := range clickTerms {
			row[1+k] = c.value(&f.terms[i])
		}
		x[i] = row
	}
	return x
}

// fitClicks maximises the probit likelihood of the labels over the click
// coefficients (every weight ≥ 0) with σ held at params' noise, and
// returns params with the fitted ones and the mean log-likelihood. A term
// that is 0 on every probe (latent interests, for personas from logs)
// keeps its coefficient from params.
func (f *fitData) fitClicks(params config.Params) (config.Params, float64, error) {
	r := params.Reader(personas.UtilityName)
	sigma := r.Float("noise")
	if err := r.Err(); err != nil {
		return nil, 0, err
	}
	x := f.design()
	p := len(clickTerms) + 1
	active := make([]bool, p)
	active[0] = true
	for k := 1; k < p; k++ {
		for i := range x {
			if x[i][k] != 0 {
				active[k] = true
				break
			}
		}
	}
	w, ll := fitProbit(x, f.labels, active)
	out := maps.Clone(params)
	out["threshold"] = round(-w[0]*sigma, 4)
	for k, c := range clickTerms {
		if active[1+k] {
			out[c.param] = round(w[1+k]*sigma, 4)
		}
	}
	return out, ll, nil
}

// logLik is the mean probit log-likelihood of the labels under params.
func (f *fitData) logLik(params config.Params) (float64, error) {
	r := params.Reader(personas.UtilityName)
	sigma := r.Float("noise")
	w := make([]float64, len(clickTerms)+1)
	w[0] = -r.Float("threshold") / sigma
	for k, c := range clickTerms {
		w[1+k] = r.Float(c.param) / sigma
	}
	if err := r.Err(); err != nil {
		return 0, err
	}
	x := f.design()
	return probitLogLik(x, f.labels, w) / float64(len(x)), nil
}

// fitRatings chooses r₀, r_q, r₁ and r_f by least squares on the
// validation ratings, with the persona's rating bias as an offset,
// r_q, r₁, r_f ≥ 0 and r₁'s term aff_true − β_d·aff_d using the fitted β_d;
// then ρ by maximum likelihood of the ratings as the model draws them
// (ratingNoise). Without ratings params come back unchanged.
func (f *fitData) fitRatings(params config.Params) (config.Params, error) {
	if len(f.ratings) == 0 {
		return params, nil
	}
	r := params.Reader(personas.UtilityName)
	bd := r.Float("weight_dislike")
	if err := r.Err(); err != nil {
		return nil, err
	}
	x := make([][]float64, len(f.ratings))
	y := make([]float64, len(f.ratings))
	for i := range f.ratings {
		t := &f.ratingTerms[i]
		x[i] = []float64{1, t.Quality, t.TrueAffinity - bd*t.Dislike, t.Factors}
		y[i] = f.ratings[i] - t.RatingBias
	}
	active := []bool{true, false, false, false}
	for i := range x {
		for k := 1; k < 4; k++ {
			active[k] = active[k] || x[i][k] != 0
		}
	}
	coef := nonNegativeLeastSquares(x, y, active)
	out := maps.Clone(params)
	for k, name := range []string{"rating_offset", "rating_quality", "rating_scale", "rating_factors"} {
		if active[k] {
			out[name] = round(coef[k], 4)
		}
	}
	means := make([]float64, len(x))
	for i := range x {
		means[i] = f.ratingTerms[i].RatingBias + linalg.Dot(x[i], coef)
	}
	out["rating_noise"] = round(f.ratingNoise(means), 4)
	return out, nil
}

// ratingNoise is the ρ that maximises the likelihood of the validation
// ratings given their predicted means r̄: a rating is the normal draw
// r̄ + ρ·(1.5 − conformity)·ζ rounded to a whole star and clamped into 1–5,
// so P(k) = Φ((k + ½ − r̄)/s) − Φ((k − ½ − r̄)/s), the outer stars taking
// the open tails. A golden-section search over ρ in [0.01, 5].
func (f *fitData) ratingNoise(means []float64) float64 {
	ll := func(rho float64) float64 {
		var sum float64
		for i, r := range f.ratings {
			sd := rho * f.ratingTerms[i].NoiseScale
			k := min(5, max(1, math.Round(r)))
			hi, lo := 0.0, math.Inf(-1)
			if k < 5 {
				hi = logPhi((k + 0.5 - means[i]) / sd)
			}
			if k > 1 {
				lo = logPhi((k - 0.5 - means[i]) / sd)
			}
			// log(Φ(b) − Φ(a)) = log Φ(b) + log(1 − exp(log Φ(a) − log Φ(b))).
			sum += hi + math.Log1p(-math.Exp(lo-hi))
		}
		return sum
	}
	a, b := 0.01, 5.0
	g := (math.Sqrt(5) - 1) / 2
	c, d := b-g*(b-a), a+g*(b-a)
	fc, fd := ll(c), ll(d)
	for b-a > 1e-5 {
		if fc > fd {
			b, d, fd = d, c, fc
			c = b - g*(b-a)
			fc = ll(c)
		} else {
			a, c, fc = c, d, fd
			d = a + g*(b-a)
			fd = ll(d)
		}
	}
	return (a + b) / 2
}

// heldOutGain compares base (with taste model baseTaste) and fitted (with
// fittedTaste) on ds's real hold-out, per sampler and ratio: the
// simulator's AUC and the accuracy of its own click draws.
func heldOutGain(ctx context.Context, ds *Dataset, base config.Params, baseTaste *personas.TasteModel, fitted config.Params, fittedTaste *personas.TasteModel, opt Options) ([]report.FitGain, error) {
	sets := probeSets(ds, opt)
	measure := func(params config.Params, taste *personas.TasteModel) ([][2]float64, error) {
		b, err := newUtilityModel(ds.Catalog, taste, params, opt.Seed)
		if err != nil {
			return nil, err
		}
		states, err := personas.Build(ds.Personas(), ds.Catalog, opt.Seed)
		if err != nil {
			return nil, err
		}
		out := make([][2]float64, len(sets))
		for si := range sets {
			sim, clicks, _, err := simulatorScores(ctx, ds, states, b, &sets[si])
			if err != nil {
				return nil, err
			}
			labels := make([]bool, len(sets[si].probes))
			for k, p := range sets[si].probes {
				labels[k] = p.liked
			}
			auc := perUserAUC(userSpans(&sets[si]), labels, sim)
			var defined []float64
			for _, a := range auc {
				if !math.IsNaN(a) {
					defined = append(defined, a)
				}
			}
			out[si] = [2]float64{mean(defined), Classify(labels, clicks).Accuracy}
		}
		return out, nil
	}
	before, err := measure(base, baseTaste)
	if err != nil {
		return nil, err
	}
	after, err := measure(fitted, fittedTaste)
	if err != nil {
		return nil, err
	}
	gains := make([]report.FitGain, len(sets))
	for si := range sets {
		gains[si] = report.FitGain{
			Sampler: sets[si].sampler, Ratio: sets[si].ratio(),
			AUCDefault: metrics.Float(before[si][0]), AUCFitted: metrics.Float(after[si][0]),
			AccDefault: before[si][1], AccFitted: after[si][1],
		}
	}
	return gains, nil
}

// BehaviourYAML renders params (the FittedParams, taste_model when set, and
// any other parameter that differs from the model's defaults) as a
// scenario fragment: behaviour: {model: utility, params: {...}}.
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
		case string:
			b = fmt.Appendf(b, "    %s: %q\n", name, x)
		default:
			b = fmt.Appendf(b, "    %s: %v\n", name, x)
		}
	}
	return b
}

func formatCoef(x float64) string {
	return fmt.Sprintf("%.4g", x)
}
