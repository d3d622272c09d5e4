package metrics

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"sort"
)

// ErrIncompatible is returned when two runs cannot be compared persona by
// persona.
var ErrIncompatible = errors.New("metrics: runs are not comparable")

// Fingerprint identifies what a run simulated, so that two runs are
// compared only when their personas met the same catalog with the same
// random draws.
type Fingerprint struct {
	Scenario string `json:"scenario"`
	Seed     uint64 `json:"seed"`
	Catalog  string `json:"catalog"`
	Personas string `json:"personas"`
}

func (a *Aggregator) fingerprint(res *Results) *Fingerprint {
	h := sha256.New()
	fmt.Fprintf(h, "%d\n", a.cat.Len())
	for _, it := range a.cat.Items() {
		fmt.Fprintf(h, "%s\x00%d\n", it.ID, it.ReleaseRound)
	}
	catalog := hex.EncodeToString(h.Sum(nil))[:16]
	h.Reset()
	for _, id := range a.personaIDs() {
		fmt.Fprintf(h, "%s\n", id)
	}
	return &Fingerprint{Scenario: res.Scenario, Seed: res.Seed, Catalog: catalog, Personas: hex.EncodeToString(h.Sum(nil))[:16]}
}

// personaIDs lists the personas in index order.
func (a *Aggregator) personaIDs() []string {
	ids := make([]string, len(a.personaIdx))
	for id, i := range a.personaIdx {
		ids[i] = id
	}
	return ids
}

// perPersona is every per-persona metric, persona by persona (index order
// of Results.PersonaIDs), so that a later run can be compared with this one.
func (a *Aggregator) perPersona(v *variantState) map[string][]Float {
	vals := a.personaValues(v)
	out := make(map[string][]Float, len(a.metrics))
	for m, pm := range a.metrics {
		col := make([]Float, len(vals[m]))
		for p, x := range vals[m] {
			col[p] = Float(x)
		}
		out[pm.name] = col
	}
	return out
}

// CompareRuns compares every variant of cand with the variant of the same
// name in base, persona by persona, on every per-persona metric. The runs
// must share scenario, seed, catalog and personas.
func CompareRuns(base, cand *Results, b int, seed uint64) ([]Comparison, error) {
	switch {
	case base.Fingerprint == nil || cand.Fingerprint == nil:
		return nil, fmt.Errorf("%w: a results file without a fingerprint (made by an older recloop)", ErrIncompatible)
	case base.Fingerprint.Scenario != cand.Fingerprint.Scenario:
		return nil, fmt.Errorf("%w: scenario %q vs %q", ErrIncompatible, base.Fingerprint.Scenario, cand.Fingerprint.Scenario)
	case base.Fingerprint.Seed != cand.Fingerprint.Seed:
		return nil, fmt.Errorf("%w: seed %d vs %d", ErrIncompatible, base.Fingerprint.Seed, cand.Fingerprint.Seed)
	case base.Fingerprint.Catalog != cand.Fingerprint.Catalog:
		return nil, fmt.Errorf("%w: the catalogs differ", ErrIncompatible)
	case base.Fingerprint.Personas != cand.Fingerprint.Personas:
		return nil, fmt.Errorf("%w: the persona sets differ", ErrIncompatible)
	}
	if b <= 0 {
		b = DefaultABBootstrap
	}
	var out []Comparison
	for _, cv := range cand.Variants {
		var bv *VariantResult
		for i := range base.Variants {
			if base.Variants[i].Name == cv.Name {
				bv = &base.Variants[i]
			}
		}
		if bv == nil {
			continue
		}
		metrics := make([]string, 0, len(cv.PerPersona))
		for m := range cv.PerPersona {
			if _, ok := bv.PerPersona[m]; ok {
				metrics = append(metrics, m)
			}
		}
		sort.Strings(metrics)
		for _, m := range metrics {
			x, y := bv.PerPersona[m], cv.PerPersona[m]
			var d []float64
			for p := 0; p < len(x) && p < len(y); p++ {
				if xv, yv := float64(x[p]), float64(y[p]); !math.IsNaN(xv) && !math.IsNaN(yv) {
					d = append(d, yv-xv)
				}
			}
			c := Comparison{Metric: m, Baseline: "previous:" + cv.Name, Candidate: cv.Name, N: len(d),
				Diff: nan(), CILow: nan(), CIHigh: nan(), P: nan(), EffectSize: nan(), MDE: nan()}
			if len(d) > 0 {
				key := bootstrapKey(seed, cv.Name, "runs:"+m, "")
				lo, hi := PairedBootstrapCI(d, b, key)
				c.Diff, c.CILow, c.CIHigh = Float(mean(d)), Float(lo), Float(hi)
				c.P = Float(SignFlipP(d, b, key^0x5eed))
				c.EffectSize, c.MDE = Float(EffectSizeDz(d)), Float(MDE(d))
			}
			out = append(out, c)
		}
	}
	holmAcrossCandidates(out)
	return out, nil
}
