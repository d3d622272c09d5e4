package scenarios

import (
	"strings"
	"testing"
)

func TestComposedRecommenderValidation(t *testing.T) {
	input := `name: c
catalog: {synthetic: {items: 50}}
personas: {population: [{archetype: cinephile, count: 2}]}
variants:
  - name: ok
    recommender: calibrated(explore(mf))
    params: {lambda: 0.2, inner: {epsilon: 0.1, inner: {factors: 8}}}
  - name: bad-params
    recommender: mmr(mf)
    params:
      lambda: 3
      inner:
        factors: 0
        nonsense: 1
  - name: bare
    recommender: mmr
  - name: inside-out
    recommender: mf(mmr)
  - name: unknown-inner
    recommender: explore(magic)
  - name: flat-inner
    recommender: mmr(mf)
    params: {inner: 4}
`
	_, errs := Load(writeTemp(t, "c.yaml", input))
	got := errs.Err().Error()
	for _, want := range []string{
		":11:7: variants[1].params.lambda: must be between 0 and 1, got 3",
		":13:9: variants[1].params.inner.factors: must be between 1 and 256, got 0",
		`:14:9: variants[1].params.inner.nonsense: unknown parameter for "mf"`,
		`:16:5: variants[2].recommender: malformed recommender name: "mmr" wraps a recommender: write mmr(itemknn)`,
		`:18:5: variants[3].recommender: malformed recommender name: "mf" is not a wrapper`,
		`:20:5: variants[4].recommender: unknown recommender "magic"`,
		":23:14: variants[5].params.inner: must be a mapping of mf's parameters, got 4",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
	if strings.Contains(got, "variants[0]") {
		t.Errorf("the valid composition was rejected:\n%s", got)
	}
}

func TestComposedRecommenderBuilds(t *testing.T) {
	scenario := writeTemp(t, "c.yaml", `name: c
rounds: 2
catalog: {synthetic: {items: 60}}
personas: {population: [{archetype: cinephile, count: 3}]}
variants:
  - {name: k, recommender: "calibrated(explore(itemknn))", params: {inner: {epsilon: 0.5}}}
`)
	plan, err := Prepare(t.Context(), scenario, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer plan.Close()
	res, _ := runWhole(t, plan, t.TempDir())
	if len(res.Variants) != 1 || res.Variants[0].Recommender != "calibrated(explore(itemknn))" {
		t.Errorf("variants %+v", res.Variants)
	}
}
