package report

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"
)

// headlineRatio is the ratio the scorer tables show; every ratio is in
// fidelity.json.
const headlineRatio = "1:1"

// WriteTable prints the report for a terminal.
func (r *Report) WriteTable(w io.Writer) error {
	name := r.Behaviour
	if r.Fit != nil {
		name += " (coefficients fitted on the seed part)"
	}
	fmt.Fprintf(w, "Fidelity of %s on %d users: %s split, %s held out (%d seed, %d held-out interactions)\n",
		name, r.Users, r.Split, splitShare(r), r.SeedInteractions, r.HeldOut)
	for _, s := range r.Samplers {
		if err := r.writeSampler(w, &s); err != nil {
			return err
		}
	}
	if err := r.writeClicks(w); err != nil {
		return err
	}
	if err := r.writeRatings(w); err != nil {
		return err
	}
	if err := r.writeVerdicts(w); err != nil {
		return err
	}
	if err := r.writeFit(w); err != nil {
		return err
	}
	return r.writeTargets(w)
}

func splitShare(r *Report) string {
	if r.Split == "global-time" {
		return fmt.Sprintf("everything after the first %g of the log", 1-r.HoldOut)
	}
	return fmt.Sprintf("each user's last %g", r.HoldOut)
}

func (r *Report) writeSampler(w io.Writer, s *Sampler) error {
	d := s.Ratio(headlineRatio)
	if d == nil {
		return nil
	}
	how := "drawn uniformly from the items the user never touched"
	if s.Name == PopularityMatched {
		how = "drawn from each positive's popularity neighbourhood, so popularity alone scores 0.5"
	}
	fmt.Fprintf(w, "\nDiscrimination, %s negatives (%s, %d held-out liked items; negatives %s)\n", s.Name, d.Ratio, d.Positives, how)
	rows := make([][]string, 0, len(d.Scorers))
	for _, sc := range d.Scorers {
		rows = append(rows, []string{sc.Name, withCI(float64(sc.AUC), float64(sc.AUCLo), float64(sc.AUCHi), false),
			f3(float64(sc.AUCPooled)), f3(float64(sc.TopAccuracy))})
	}
	if err := table(w, []string{"scorer", "AUC per user [95% CI]", "pooled AUC", "top-n accuracy"}, rows); err != nil {
		return err
	}
	if d.Best != "" {
		fmt.Fprintf(w, "Lift over the best baseline (%s): %s\n", d.Best, withCI(float64(d.Lift), float64(d.LiftLo), float64(d.LiftHi), true))
	}
	return nil
}

func (r *Report) writeClicks(w io.Writer) error {
	var rows [][]string
	for _, s := range r.Samplers {
		for _, d := range s.Ratios {
			c := d.Clicks
			auc := "–"
			if sim := d.Scorer(SimulatorName); sim != nil {
				auc = f3(float64(sim.AUC))
			}
			rows = append(rows, []string{s.Name, d.Ratio, fmt.Sprint(d.Shown), f3(c.Accuracy), f3(c.Precision), f3(c.Recall),
				f3(c.F1), f3(d.RandomF1), auc, withCI(float64(d.Lift), float64(d.LiftLo), float64(d.LiftHi), true)})
		}
	}
	if len(rows) == 0 {
		return nil
	}
	fmt.Fprintln(w, "\nThe simulator's own clicks (each probe decided as a simulated user decides, noise included)")
	return table(w, []string{"negatives", "ratio", "shown", "accuracy", "precision", "recall", "F1", "random F1", "AUC", "lift over best baseline"}, rows)
}

func (r *Report) writeRatings(w io.Writer) error {
	rt := r.Ratings
	var rows [][]string
	add := func(name string, e ErrorStats) {
		rows = append(rows, []string{name, fmt.Sprint(e.N), f3(float64(e.RMSE)), f3(float64(e.MAE)), f3(float64(e.Pearson))})
	}
	if rt.Expected != nil {
		add("simulator, expected rating", *rt.Expected)
	}
	add("simulator, drawn rating", rt.Drawn)
	for _, b := range rt.Baselines {
		add(b.Name, b.ErrorStats)
	}
	fmt.Fprintln(w, "\nRatings of held-out items")
	if err := table(w, []string{"predictor", "n", "RMSE", "MAE", "Pearson"}, rows); err != nil {
		return err
	}
	fmt.Fprintf(w, "Simulated ratings: mean %s, sd %s; real: mean %s, sd %s\n",
		f3(float64(rt.MeanSimulated)), f3(float64(rt.SDSimulated)), f3(float64(rt.MeanReal)), f3(float64(rt.SDReal)))
	return nil
}

func (r *Report) writeVerdicts(w io.Writer) error {
	v := r.Verdicts
	if v == nil {
		return nil
	}
	rows := make([][]string, 0, len(v.Recommenders))
	for _, s := range v.Recommenders {
		rows = append(rows, []string{s.Name, f4(s.CTR), f3(s.HR10), f3(s.NDCG10)})
	}
	fmt.Fprintln(w, "\nVerdict agreement: simulated CTR against offline accuracy on the hold-out")
	if err := table(w, []string{"recommender", "simulated CTR", "HR@10", "NDCG@10"}, rows); err != nil {
		return err
	}
	fmt.Fprintf(w, "Rank correlation with NDCG@10: Spearman %s (chance p = %s), Kendall %s (p = %s); with HR@10: Spearman %s, Kendall %s\n",
		f3(float64(v.SpearmanNDCG)), f3(float64(v.SpearmanNDCGP)), f3(float64(v.KendallNDCG)), f3(float64(v.KendallNDCGP)),
		f3(float64(v.SpearmanHR)), f3(float64(v.KendallHR)))
	fmt.Fprintf(w, "Pairs whose NDCG@10 differs significantly (Holm, 5%%): %d of %d; simulated CTR orders %d of them the same way (%s)\n",
		v.Significant, len(v.Pairs), v.Agreeing, percent(float64(v.Agreement)))
	var wrong []string
	for _, p := range v.Pairs {
		if p.Significant && !p.Agrees {
			wrong = append(wrong, p.Names[0]+" vs "+p.Names[1])
		}
	}
	if len(wrong) > 0 {
		fmt.Fprintf(w, "Ordered the other way: %s\n", strings.Join(wrong, ", "))
	}
	return nil
}

func (r *Report) writeFit(w io.Writer) error {
	f := r.Fit
	if f == nil {
		return nil
	}
	names := make([]string, 0, len(f.Fitted))
	for name := range f.Fitted {
		names = append(names, name)
	}
	slices.Sort(names)
	rows := make([][]string, 0, len(names))
	for _, name := range names {
		rows = append(rows, []string{name, f3(f.Default[name]), f3(f.Fitted[name])})
	}
	t := f.Taste
	recency := "none"
	if t.Recency > 0 {
		recency = fmt.Sprintf("half-life %g items", t.Recency)
	}
	fmt.Fprintf(w, "\nFit on the seed part (%s personas; %d validation probes, %d ratings; log-likelihood per probe %s → %s)\n",
		f.Personas, f.Probes, f.Ratings, f4(f.LogLikDefault), f4(f.LogLikFitted))
	fmt.Fprintf(w, "Taste model: %d factors, λ %g, α %g, recency %s (best of %d settings tried)\n", t.Factors, t.Regularization, t.Alpha, recency, len(f.Candidates))
	if err := table(w, []string{"coefficient", "default", "fitted"}, rows); err != nil {
		return err
	}
	rows = rows[:0]
	for _, g := range f.HeldOut {
		rows = append(rows, []string{g.Sampler, g.Ratio, f3(float64(g.AUCDefault)), f3(float64(g.AUCFitted)),
			signed(float64(g.AUCFitted - g.AUCDefault)), f3(g.AccDefault), f3(g.AccFitted)})
	}
	fmt.Fprintln(w, "On the real hold-out, default against fitted")
	return table(w, []string{"negatives", "ratio", "AUC default", "AUC fitted", "gain", "accuracy default", "accuracy fitted"}, rows)
}

func (r *Report) writeTargets(w io.Writer) error {
	if len(r.Targets) == 0 {
		return nil
	}
	rows := make([][]string, 0, len(r.Targets))
	for _, t := range r.Targets {
		met := "not met"
		if t.Met {
			met = "met"
		}
		rows = append(rows, []string{t.Name, t.Goal, f3(float64(t.Value)), met})
	}
	fmt.Fprintln(w, "\nTargets (docs/fidelity.md)")
	return table(w, []string{"figure", "goal", "value", ""}, rows)
}

func table(w io.Writer, header []string, rows [][]string) error {
	aligns := make([]tw.Align, len(header))
	for i := range aligns {
		aligns[i] = tw.AlignRight
	}
	aligns[0] = tw.AlignLeft
	t := tablewriter.NewTable(w,
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithRowAlignmentConfig(tw.CellAlignment{PerColumn: aligns}),
	)
	t.Header(header)
	if err := t.Bulk(rows); err != nil {
		return fmt.Errorf("fidelity: table: %w", err)
	}
	return t.Render()
}

func withCI(x, lo, hi float64, sign bool) string {
	format := f3
	if sign {
		format = signed
	}
	if math.IsNaN(x) {
		return "–"
	}
	if math.IsNaN(lo) || math.IsNaN(hi) {
		return format(x)
	}
	return fmt.Sprintf("%s [%s, %s]", format(x), format(lo), format(hi))
}

func percent(x float64) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return "–"
	}
	return fmt.Sprintf("%.0f%%", 100*x)
}

func f3(x float64) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return "–"
	}
	return fmt.Sprintf("%.3f", x)
}

func f4(x float64) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return "–"
	}
	return fmt.Sprintf("%.4f", x)
}

func signed(x float64) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return "–"
	}
	return fmt.Sprintf("%+.3f", x)
}
