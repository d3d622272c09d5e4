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

// TestMalformedGateIsLocatedAndTheRestDecodes: a gate of the wrong shape is
// reported at its own place, and the fields after it still decode (yaml.v3
// stops at the first error of a type that decodes itself).
func TestMalformedGateIsLocatedAndTheRestDecodes(t *testing.T) {
	input := `name: g
catalog: {synthetic: {items: 50}}
personas: {population: [{archetype: cinephile, count: 2}]}
variants: [{name: p, recommender: popular}]
gates:
  - [ctr]
  - "ctr[p] >= 0.1"
rounds: 7
`
	s, errs := Load(writeTemp(t, "g.yaml", input))
	got := errs.Err().Error()
	if want := `g.yaml:6:5: gates[0]: a gate is a check such as "ctr[b] >= 0.05" or {name: ..., check: ...}`; !strings.HasSuffix(got, want) {
		t.Errorf("got\n%s\nwant it to end %s", got, want)
	}
	if s.Rounds != 7 || s.Gates[1].Check != "ctr[p] >= 0.1" {
		t.Errorf("decoding stopped at the bad gate: rounds %d, gates %+v", s.Rounds, s.Gates)
	}
}
