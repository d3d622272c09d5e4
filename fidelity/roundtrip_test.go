package fidelity

import (
	"context"
	"math"
	"testing"

	"github.com/recloop/recloop/config"
	"github.com/recloop/recloop/fidelity/report"
	"github.com/recloop/recloop/personas"
)

// TestRoundTrip plants 300 personas, lets them play the utility model
// against random slates, derives personas back from the clicks, and checks
// that the derived traits and tastes track the planted ones and that the
// utility model played by the derived personas tells held-out clicks from
// untouched items far better than chance. The figures are logged and
// recorded in docs/fidelity.md.
func TestRoundTrip(t *testing.T) {
	if testing.Short() {
		t.Skip("simulates 300 personas")
	}
	w := plantedWorld(t, 300, 600, 60, nil)
	ds, err := Derive(w.cat, w.log, DeriveOptions{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("log: %d clicks; %d users derived, %d skipped", len(w.log), len(ds.Users), ds.Skipped)
	if len(ds.Users) < 250 {
		t.Fatalf("only %d of 300 users derived", len(ds.Users))
	}
	truth := map[string]*personas.Persona{}
	for i := range w.truth {
		truth[w.truth[i].ID] = &w.truth[i]
	}
	var planted, derived [5][]float64
	var tasteCos float64
	for i := range ds.Users {
		u := &ds.Users[i]
		p := truth[u.ID]
		for k, pair := range [][2]float64{
			{p.Traits.Activity, u.Persona.Traits.Activity},
			{p.Traits.Conformity, u.Persona.Traits.Conformity},
			{p.Traits.Curiosity, u.Persona.Traits.Curiosity},
			{p.Traits.Pickiness, u.Persona.Traits.Pickiness},
			{p.Traits.Mainstreamness, u.Persona.Traits.Mainstreamness},
		} {
			planted[k] = append(planted[k], pair[0])
			derived[k] = append(derived[k], pair[1])
		}
		a, _ := ds.Catalog.TasteVector(p.Interests)
		b, _ := ds.Catalog.TasteVector(u.Persona.Interests)
		tasteCos += cosine(a, b)
	}
	tasteCos /= float64(len(ds.Users))
	rho := make([]float64, 5)
	for k, name := range []string{"activity", "conformity", "curiosity", "pickiness", "mainstreamness"} {
		rho[k] = Spearman(planted[k], derived[k])
		t.Logf("trait %-10s Spearman(planted, derived) = %+.3f", name, rho[k])
	}
	t.Logf("mean cosine(planted interests, derived interests) = %.3f", tasteCos)
	// Activity drives examination, hence the number of clicks (blurred by
	// pickiness and by how well random slates match the taste); curiosity
	// spreads clicks over categories. Both must come back positively.
	// Conformity acts on rating noise and pickiness on clicks, while the
	// percentile rules read both off rating levels; mainstreamness pulls
	// clicks toward popular items only weakly at the default β_pop (see
	// TestMainstreamnessIsRecovered): their figures are documented, not
	// asserted.
	if rho[0] < 0.2 {
		t.Errorf("activity recovered with Spearman %.3f, want ≥ 0.2", rho[0])
	}
	if rho[2] < 0.3 {
		t.Errorf("curiosity recovered with Spearman %.3f, want ≥ 0.3", rho[2])
	}
	if tasteCos < 0.6 {
		t.Errorf("derived interests have mean cosine %.3f with the planted ones, want ≥ 0.6", tasteCos)
	}

	// The derived personas play the utility model with its defaults (no
	// taste model: the planted world has none to recover).
	rep, err := Evaluate(context.Background(), ds, utility(t, ds.Catalog, nil), personas.UtilityName, nil, Options{Seed: 2, Bootstrap: 500})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range rep.Samplers {
		for _, d := range s.Ratios {
			c, sim := d.Clicks, d.Scorer(report.SimulatorName)
			t.Logf("%s %s: accuracy %.3f precision %.3f recall %.3f F1 %.3f (random %.3f) AUC %.3f, best baseline %s, lift %+.3f",
				s.Name, d.Ratio, c.Accuracy, c.Precision, c.Recall, c.F1, d.RandomF1, float64(sim.AUC), d.Best, float64(d.Lift))
			if s.Name != report.Uniform {
				continue
			}
			if float64(sim.AUC) < 0.75 {
				t.Errorf("%s: AUC %.3f, want ≥ 0.75 (random choice: 0.5)", d.Ratio, float64(sim.AUC))
			}
			if c.F1 < d.RandomF1+0.15 {
				t.Errorf("%s: F1 %.3f does not beat random choice's %.3f by 0.15", d.Ratio, c.F1, d.RandomF1)
			}
		}
	}
	for _, b := range rep.Ratings.Baselines {
		t.Logf("ratings: %s RMSE %.3f", b.Name, float64(b.RMSE))
	}
	t.Logf("ratings: simulator expected RMSE %.3f, drawn %.3f over %d", float64(rep.Ratings.Expected.RMSE), float64(rep.Ratings.Drawn.RMSE), rep.Ratings.Drawn.N)
	if v := rep.Verdicts; v != nil {
		for _, s := range v.Recommenders {
			t.Logf("  %-8s CTR %.4f HR@10 %.3f NDCG@10 %.3f", s.Name, s.CTR, s.HR10, s.NDCG10)
		}
		t.Logf("verdicts: Spearman %.3f / Kendall %.3f (HR@10), %.3f / %.3f (NDCG@10)",
			float64(v.SpearmanHR), float64(v.KendallHR), float64(v.SpearmanNDCG), float64(v.KendallNDCG))
	}
}

// TestMainstreamnessIsRecovered plants a popularity pull five times the
// default (β_pop = 1.5), so that mainstreamness shapes what personas
// click, and checks that the rule reading it off the popularity of what
// they consumed gets it back.
func TestMainstreamnessIsRecovered(t *testing.T) {
	if testing.Short() {
		t.Skip("simulates 300 personas")
	}
	w := plantedWorld(t, 300, 600, 60, config.Params{"weight_popularity": 1.5})
	ds, err := Derive(w.cat, w.log, DeriveOptions{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	truth := map[string]float64{}
	for _, p := range w.truth {
		truth[p.ID] = p.Traits.Mainstreamness
	}
	var planted, derived []float64
	for _, u := range ds.Users {
		planted = append(planted, truth[u.ID])
		derived = append(derived, u.Persona.Traits.Mainstreamness)
	}
	if rho := Spearman(planted, derived); rho < 0.35 {
		t.Errorf("mainstreamness recovered with Spearman %.3f, want ≥ 0.35", rho)
	} else {
		t.Logf("mainstreamness: Spearman(planted, derived) = %.3f", rho)
	}
}

func cosine(a, b []float64) float64 {
	var ab, aa, bb float64
	for i := range a {
		ab += a[i] * b[i]
		aa += a[i] * a[i]
		bb += b[i] * b[i]
	}
	if aa == 0 || bb == 0 {
		return 0
	}
	return ab / math.Sqrt(aa*bb)
}
