package fidelity

import (
	"context"
	"math"
	"testing"

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
	var planted, derived [4][]float64
	var tasteCos float64
	for i := range ds.Users {
		u := &ds.Users[i]
		p := truth[u.ID]
		for k, pair := range [][2]float64{
			{p.Traits.Activity, u.Persona.Traits.Activity},
			{p.Traits.Conformity, u.Persona.Traits.Conformity},
			{p.Traits.Curiosity, u.Persona.Traits.Curiosity},
			{p.Traits.Pickiness, u.Persona.Traits.Pickiness},
		} {
			planted[k] = append(planted[k], pair[0])
			derived[k] = append(derived[k], pair[1])
		}
		a, _ := ds.Catalog.TasteVector(p.Interests)
		b, _ := ds.Catalog.TasteVector(u.Persona.Interests)
		tasteCos += cosine(a, b)
	}
	tasteCos /= float64(len(ds.Users))
	rho := make([]float64, 4)
	for k, name := range personas.TraitNames {
		rho[k] = Spearman(planted[k], derived[k])
		t.Logf("trait %-10s Spearman(planted, derived) = %+.3f", name, rho[k])
	}
	t.Logf("mean cosine(planted interests, derived interests) = %.3f", tasteCos)
	// Activity drives examination, hence the number of clicks (blurred by
	// pickiness and by how well random slates match the taste); curiosity
	// spreads clicks over categories. Both must come back positively.
	// Conformity and pickiness act on clicks, while the percentile rules
	// read them off ratings: their figures are documented, not asserted.
	if rho[0] < 0.2 {
		t.Errorf("activity recovered with Spearman %.3f, want ≥ 0.2", rho[0])
	}
	if rho[2] < 0.3 {
		t.Errorf("curiosity recovered with Spearman %.3f, want ≥ 0.3", rho[2])
	}
	if tasteCos < 0.6 {
		t.Errorf("derived interests have mean cosine %.3f with the planted ones, want ≥ 0.6", tasteCos)
	}

	rep, err := Evaluate(context.Background(), ds, utility(t, ds.Catalog, nil), personas.UtilityName, nil, Options{Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range rep.Discrimination {
		t.Logf("discrimination %s: accuracy %.3f precision %.3f recall %.3f F1 %.3f (random %.3f) AUC %.3f",
			d.Ratio, d.Accuracy, d.Precision, d.Recall, d.F1, d.RandomF1, float64(d.AUC))
		if float64(d.AUC) < 0.75 {
			t.Errorf("%s: AUC %.3f, want ≥ 0.75 (random choice: 0.5)", d.Ratio, float64(d.AUC))
		}
		if d.F1 < d.RandomF1+0.15 {
			t.Errorf("%s: F1 %.3f does not beat random choice's %.3f by 0.15", d.Ratio, d.F1, d.RandomF1)
		}
	}
	t.Logf("ratings: RMSE %.3f MAE %.3f (user-mean baseline %.3f / %.3f) over %d",
		float64(rep.Ratings.RMSE), float64(rep.Ratings.MAE), float64(rep.Ratings.Baseline.RMSE), float64(rep.Ratings.Baseline.MAE), rep.Ratings.N)
	if v := rep.Verdicts; v != nil {
		for _, s := range v.Recommenders {
			t.Logf("  %-8s CTR %.4f HR@10 %.3f NDCG@10 %.3f", s.Name, s.CTR, s.HR10, s.NDCG10)
		}
		t.Logf("verdicts: Spearman %.3f / Kendall %.3f (HR@10), %.3f / %.3f (NDCG@10)",
			float64(v.SpearmanHR), float64(v.KendallHR), float64(v.SpearmanNDCG), float64(v.KendallNDCG))
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
