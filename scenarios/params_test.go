package scenarios

import (
	"strings"
	"testing"
)

// TestMisspeltParametersAreLocated misspells one parameter of every kind
// of component in one scenario: each is reported at its own line, column
// and field, and all of them are reported at once.
func TestMisspeltParametersAreLocated(t *testing.T) {
	input := `name: typos
catalog: {synthetic: {items: 50}}
personas: {population: [{archetype: cinephile, count: 2}]}
behaviour:
  model: utility
  params:
    nosie: 0.5
variants:
  - name: plain
    recommender: itemknn
    params: {neighbors: 20}
  - name: wrapped
    recommender: mmr(mf)
    params:
      lamda: 0.2
      inner:
        factor: 8
  - name: twice-wrapped
    recommender: calibrated(explore(popular))
    params:
      inner:
        inner: {prior_wieght: 0.3}
  - name: external
    recommender: http
    params: {url: "http://127.0.0.1:1", retry: 3}
judges:
  panel:
    - name: grounding
      params: {min_title_token: 3}
`
	_, errs := Load(writeTemp(t, "typos.yaml", input))
	got := errs.Err().Error()
	tests := []struct {
		kind string
		want string
	}{
		{"behaviour", `typos.yaml:7:5: behaviour.params.nosie: unknown parameter for "utility"`},
		{"recommender", `typos.yaml:11:14: variants[0].params.neighbors: unknown parameter for "itemknn"`},
		{"wrapper", `typos.yaml:15:7: variants[1].params.lamda: unknown parameter for "mmr"`},
		{"wrapped recommender", `typos.yaml:17:9: variants[1].params.inner.factor: unknown parameter for "mf"`},
		{"recommender inside two wrappers", `typos.yaml:22:17: variants[2].params.inner.inner.prior_wieght: unknown parameter for "popular"`},
		{"external adapter", `typos.yaml:25:41: variants[3].params.retry: unknown parameter for "http"`},
		{"judge", `typos.yaml:29:16: judges.panel[0].params.min_title_token: unknown parameter for "grounding"`},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			if !strings.Contains(got, tt.want) {
				t.Errorf("missing %q in:\n%s", tt.want, got)
			}
		})
	}
	if len(errs) != len(tests) {
		t.Errorf("%d errors, want one per misspelling (%d):\n%s", len(errs), len(tests), got)
	}
}
