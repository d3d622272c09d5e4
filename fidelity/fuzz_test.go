package fidelity

import (
	"bytes"
	"math"
	"testing"

	"github.com/recloop/recloop/catalog"
	"github.com/recloop/recloop/personas"
)

// FuzzDerive feeds Derive arbitrary logs over the hand catalog (4 bytes a
// row: user, item, rating, timestamp; item ids beyond the catalog are
// unknown) and checks its invariants: every derived persona is valid, the
// split keeps every usable row exactly once with at least one held out,
// and the seed history is the seed part.
func FuzzDerive(f *testing.F) {
	f.Add([]byte{1, 0, 5, 1, 1, 1, 4, 2, 1, 2, 1, 3, 1, 3, 2, 4, 1, 4, 5, 5, 1, 5, 3, 6})
	f.Add([]byte{0, 9, 0, 0, 0, 0, 0, 0})
	items := []string{"a", "b", "c", "d", "e", "f", "zz"}
	f.Fuzz(func(t *testing.T, data []byte) {
		cat := handCatalog(t)
		var log []catalog.Interaction
		for k := 0; k+3 < len(data); k += 4 {
			log = append(log, catalog.Interaction{
				User:      string(rune('A' + data[k]%5)),
				Item:      items[int(data[k+1])%len(items)],
				Rating:    float64(data[k+2] % 6),
				Timestamp: int64(data[k+3]),
			})
		}
		sortLog(log)
		ds, err := Derive(cat, log, DeriveOptions{MinInteractions: 2})
		if err != nil {
			return
		}
		ps := ds.Personas()
		if errs := personas.Validate(ps, ds.Catalog, 0); len(errs) > 0 {
			t.Fatalf("invalid personas: %v", errs)
		}
		if _, err := personas.Build(ps, ds.Catalog, 1); err != nil {
			t.Fatal(err)
		}
		rows := 0
		for _, u := range ds.Users {
			if len(u.HeldOut) == 0 || len(u.Seed) != len(u.Persona.History) {
				t.Fatalf("%s: seed %d, history %d, held out %d", u.ID, len(u.Seed), len(u.Persona.History), len(u.HeldOut))
			}
			rows += len(u.Seed) + len(u.HeldOut)
		}
		if rows+ds.Unknown+ds.Repeats > len(log) {
			t.Fatalf("%d rows kept + %d unknown + %d repeats > %d read", rows, ds.Unknown, ds.Repeats, len(log))
		}
	})
}

// FuzzReadProbes feeds the probe dump reader arbitrary bytes: it returns
// probes or an error, and every probe it returns has a 0/1 label and a
// finite score.
func FuzzReadProbes(f *testing.F) {
	f.Add([]byte(`{"sampler":"uniform","ratio":"1:1","user":"1","item":"50","label":1,"popularity":3,"score":0.9,"click":true,"baselines":{"random":3}}` + "\n"))
	f.Add([]byte("{\"label\":2}\n"))
	f.Add([]byte("\n\n{}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		probes, err := ReadProbes(bytes.NewReader(data))
		if err != nil {
			return
		}
		for _, p := range probes {
			if p.Label != 0 && p.Label != 1 || math.IsNaN(p.Score) || math.IsInf(p.Score, 0) {
				t.Fatalf("accepted %+v", p)
			}
		}
	})
}
