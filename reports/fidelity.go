package reports

import (
	"encoding/json"
	"fmt"
	"io"
	"math"

	fidreport "github.com/recloop/recloop/fidelity/report"
)

// fidelityBlock is `recloop fidelity`'s verdict on the behaviour model, shown
// when the run directory holds a fidelity.json.
type fidelityBlock struct {
	Note           string
	Users, HeldOut int
	Behaviour      string
	Split          string
	Samplers       []samplerBlock
	Clicks         []clicksRow
	Ratings        []ratingsRow
	Recommenders   []fidelityRecommenderRow
	Agreement      string
	Targets        []targetRow
}

type samplerBlock struct {
	Name, Ratio, Headline string
	Scorers               []scorerRow
}

type scorerRow struct{ Name, AUC, TopAccuracy string }

type clicksRow struct {
	Sampler, Ratio, Shown, Accuracy, Precision, Recall, F1, RandomF1 string
}

type ratingsRow struct{ Name, N, RMSE, MAE, Pearson string }

type fidelityRecommenderRow struct{ Name, CTR, HR10, NDCG10 string }

type targetRow struct{ Name, Goal, Value, Met string }

func readFidelity(open Opener) (*fidelityBlock, error) {
	f, err := open()
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, 16<<20))
	if err != nil {
		return nil, err
	}
	var rep fidreport.Report
	if err := json.Unmarshal(data, &rep); err != nil {
		return nil, fmt.Errorf("fidelity.json: %w", err)
	}
	return fidelityFrom(&rep), nil
}

// headlineRatio is the ratio whose scorer table the report shows.
const headlineRatio = "1:1"

func fidelityFrom(rep *fidreport.Report) *fidelityBlock {
	b := &fidelityBlock{Users: rep.Users, HeldOut: rep.HeldOut, Behaviour: rep.Behaviour, Split: rep.Split}
	for _, s := range rep.Samplers {
		for _, d := range s.Ratios {
			c := d.Clicks
			b.Clicks = append(b.Clicks, clicksRow{Sampler: s.Name, Ratio: d.Ratio, Shown: fmt.Sprint(d.Shown),
				Accuracy: formatNumber(c.Accuracy), Precision: formatNumber(c.Precision), Recall: formatNumber(c.Recall),
				F1: formatNumber(c.F1), RandomF1: formatNumber(d.RandomF1)})
			if d.Ratio != headlineRatio {
				continue
			}
			sb := samplerBlock{Name: s.Name, Ratio: d.Ratio, Headline: liftSentence(s.Name, &d)}
			for _, sc := range d.Scorers {
				sb.Scorers = append(sb.Scorers, scorerRow{Name: sc.Name,
					AUC:         formatCI(float64(sc.AUC), float64(sc.AUCLo), float64(sc.AUCHi)),
					TopAccuracy: formatNumber(float64(sc.TopAccuracy))})
			}
			b.Samplers = append(b.Samplers, sb)
		}
	}
	rt := rep.Ratings
	addRating := func(name string, e fidreport.ErrorStats) {
		if e.N > 0 {
			b.Ratings = append(b.Ratings, ratingsRow{Name: name, N: fmt.Sprint(e.N), RMSE: formatNumber(float64(e.RMSE)),
				MAE: formatNumber(float64(e.MAE)), Pearson: formatNumber(float64(e.Pearson))})
		}
	}
	if rt.Expected != nil {
		addRating("simulator, expected rating", *rt.Expected)
	}
	addRating("simulator, drawn rating", rt.Drawn)
	for _, bl := range rt.Baselines {
		addRating(bl.Name, bl.ErrorStats)
	}
	if v := rep.Verdicts; v != nil {
		for _, s := range v.Recommenders {
			b.Recommenders = append(b.Recommenders, fidelityRecommenderRow{Name: s.Name, CTR: formatPercent(s.CTR),
				HR10: formatNumber(s.HR10), NDCG10: formatNumber(s.NDCG10)})
		}
		b.Agreement = agreementSentence(v)
	}
	for _, t := range rep.Targets {
		met := "not met"
		if t.Met {
			met = "met"
		}
		b.Targets = append(b.Targets, targetRow{Name: t.Name, Goal: t.Goal, Value: formatNumber(float64(t.Value)), Met: met})
	}
	return b
}

func formatCI(x, lo, hi float64) string {
	if math.IsNaN(lo) || math.IsNaN(hi) {
		return formatNumber(x)
	}
	return fmt.Sprintf("%s (%s–%s)", formatNumber(x), formatNumber(lo), formatNumber(hi))
}

// liftSentence says whether the simulator tells liked items apart better
// than the best simple scorer.
func liftSentence(sampler string, d *fidreport.Discrimination) string {
	sim := d.Scorer(fidreport.SimulatorName)
	if sim == nil || d.Best == "" || !d.Lift.Defined() {
		return ""
	}
	verdict := "no better than"
	switch {
	case d.LiftLo.Defined() && d.LiftLo > 0:
		verdict = "better than"
	case d.LiftHi.Defined() && d.LiftHi < 0:
		verdict = "worse than"
	}
	return fmt.Sprintf("With %s negatives the simulator's AUC is %s, %s the best simple scorer (%s, %s): a difference of %+.3f (95%% CI %+.3f to %+.3f).",
		sampler, formatNumber(float64(sim.AUC)), verdict, d.Best, formatNumber(float64(d.Scorer(d.Best).AUC)),
		float64(d.Lift), float64(d.LiftLo), float64(d.LiftHi))
}

// agreementSentence says in words whether simulated A/B verdicts point the
// way the held-out data does.
func agreementSentence(v *fidreport.Verdicts) string {
	rho, tau := float64(v.SpearmanNDCG), float64(v.KendallNDCG)
	if !v.SpearmanNDCG.Defined() || !v.KendallNDCG.Defined() {
		return "Too few recommenders differ offline to rank them; the agreement is undefined."
	}
	how := "disagrees with"
	switch {
	case rho >= 0.8:
		how = "agrees with"
	case rho >= 0.4:
		how = "partly agrees with"
	}
	s := fmt.Sprintf("Ranking %d recommenders by simulated CTR %s ranking them by NDCG@10 on the users' held-out interactions (Spearman ρ = %s, Kendall τ = %s",
		len(v.Recommenders), how, formatNumber(rho), formatNumber(tau))
	if v.SpearmanNDCGP.Defined() {
		s += fmt.Sprintf("; random rankings agree as well with probability %s", formatNumber(float64(v.SpearmanNDCGP)))
	}
	s += ")."
	if v.Significant > 0 {
		s += fmt.Sprintf(" Of the %d pairs whose offline difference is significant, the simulation orders %d the same way.", v.Significant, v.Agreeing)
	}
	return s + " The closer to 1, the more the simulator's A/B verdicts can be believed for this data."
}
