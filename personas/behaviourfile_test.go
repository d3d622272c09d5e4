package personas

import (
	"strings"
	"testing"
)

func TestParseBehaviourFile(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		// want are the located errors, all of them; none means the file is
		// good and model is what it names.
		want  []string
		model string
	}{
		{name: "defaults to the utility model", yaml: "behaviour: {params: {noise: 0.3}}\n", model: UtilityName},
		{name: "llm", yaml: "behaviour: {model: llm, params: {memory: 5}}\n", model: LLMName},
		{
			name: "every bad parameter, located",
			yaml: "behaviour:\n  model: utility\n  params:\n    noise: -1\n    wieght_stated: 2\n    drift: lots\n",
			want: []string{
				"b.yaml:4:5: behaviour.params.noise: must be",
				`b.yaml:5:5: behaviour.params.wieght_stated: unknown parameter for "utility"`,
				"b.yaml:6:5: behaviour.params.drift: must be a number",
			},
		},
		{
			name: "a parameter of the other behaviour",
			yaml: "behaviour:\n  model: llm\n  params: {noise: 0.3}\n",
			want: []string{`b.yaml:3:12: behaviour.params.noise: unknown parameter for "llm"`},
		},
		{
			name: "unknown model",
			yaml: "behaviour:\n  model: oracle\n",
			want: []string{`b.yaml:2:3: behaviour.model: unknown behaviour "oracle"`},
		},
		{
			name: "unknown field beside the behaviour",
			yaml: "behaviour: {model: utility}\nbehavior: {model: llm}\n",
			want: []string{"b.yaml:2:1: behavior: unknown field"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			model, params, errs := ParseBehaviourFile("b.yaml", []byte(tt.yaml))
			if len(tt.want) == 0 {
				if len(errs) > 0 {
					t.Fatal(errs.Err())
				}
				if model != tt.model || params == nil {
					t.Errorf("model %q, params %v; want %q", model, params, tt.model)
				}
				return
			}
			if len(errs) != len(tt.want) {
				t.Fatalf("%d errors, want %d:\n%v", len(errs), len(tt.want), errs.Err())
			}
			for i, want := range tt.want {
				if !strings.HasPrefix(errs[i].Error(), want) {
					t.Errorf("error %d = %q, want it to start %q", i, errs[i], want)
				}
			}
		})
	}
}
