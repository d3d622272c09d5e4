package metrics

import (
	"slices"

	"github.com/recloop/recloop/trajectory"
)

// maxViolationExamples bounds the violations kept per judge and variant.
const maxViolationExamples = 8

// Explanations is what the judges made of one variant's explanations.
type Explanations struct {
	Judges []JudgeResult `json:"judges"`
}

// JudgeResult is one judge's verdicts on one variant.
type JudgeResult struct {
	Judge string `json:"judge"`
	// Model is the pinned model of an LLM judge ("" for the grounding judge).
	Model  string `json:"model,omitempty"`
	Judged int    `json:"judged"`
	// Dimensions hold the mean score per rubric dimension, averaged per
	// persona first, with a bootstrap CI over personas, and the share of
	// explanations scoring 4 or more.
	Dimensions []DimensionResult `json:"dimensions"`
	// ViolationRate is the share of judged explanations with at least one
	// claim the data contradicts (grounding judge).
	ViolationRate Float `json:"violation_rate"`
	// Violations are the first few distinct violations, for the report.
	Violations []ViolationExample `json:"violations,omitempty"`
}

// DimensionResult is one rubric dimension's scores.
type DimensionResult struct {
	Name          string `json:"name"`
	Mean          Value  `json:"mean"`
	ShareAtLeast4 Float  `json:"share_at_least_4"`
	ExplanationsN int    `json:"explanations"`
}

// ViolationExample is one unsupported claim and where it was made.
type ViolationExample struct {
	Persona string `json:"persona"`
	Round   int    `json:"round"`
	Item    string `json:"item"`
	Kind    string `json:"kind"`
	Phrase  string `json:"phrase"`
	Detail  string `json:"detail,omitempty"`
}

type judgeState struct {
	model      string
	judged     int
	violating  int
	dims       []string
	perPersona map[string]map[int32]*meanAcc // dimension → persona → scores
	atLeast4   map[string]int
	scored     map[string]int
	examples   []ViolationExample
}

type verdictState struct {
	order  []string
	judges map[string]*judgeState
}

func (a *Aggregator) verdict(v *variantState, pi int32, persona string, round int, r *trajectory.VerdictRecord) {
	if v.verdicts.judges == nil {
		v.verdicts.judges = map[string]*judgeState{}
	}
	js := v.verdicts.judges[r.Judge]
	if js == nil {
		js = &judgeState{perPersona: map[string]map[int32]*meanAcc{}, atLeast4: map[string]int{}, scored: map[string]int{}}
		v.verdicts.judges[r.Judge] = js
		v.verdicts.order = append(v.verdicts.order, r.Judge)
	}
	if js.model == "" {
		js.model = r.Model
	}
	js.judged++
	if len(r.Violations) > 0 {
		js.violating++
		for _, x := range r.Violations {
			if len(js.examples) < maxViolationExamples {
				js.examples = append(js.examples, ViolationExample{Persona: persona, Round: round, Item: r.Item, Kind: x.Kind, Phrase: x.Phrase, Detail: x.Detail})
			}
		}
	}
	for dim, score := range r.Scores {
		byPersona := js.perPersona[dim]
		if byPersona == nil {
			byPersona = map[int32]*meanAcc{}
			js.perPersona[dim] = byPersona
			js.dims = append(js.dims, dim)
		}
		acc := byPersona[pi]
		if acc == nil {
			acc = &meanAcc{}
			byPersona[pi] = acc
		}
		acc.add(score)
		js.scored[dim]++
		if score >= 4 {
			js.atLeast4[dim]++
		}
	}
}

// explanations summarises the verdicts on one variant (nil without any).
func (a *Aggregator) explanations(v *variantState, b int) *Explanations {
	if len(v.verdicts.order) == 0 {
		return nil
	}
	out := &Explanations{}
	for _, name := range v.verdicts.order {
		js := v.verdicts.judges[name]
		jr := JudgeResult{Judge: name, Model: js.model, Judged: js.judged,
			ViolationRate: Float(ratio(js.violating, js.judged)), Violations: js.examples}
		dims := slices.Clone(js.dims)
		slices.Sort(dims)
		for _, dim := range dims {
			byPersona := js.perPersona[dim]
			keys := make([]int32, 0, len(byPersona))
			for pi := range byPersona {
				keys = append(keys, pi)
			}
			slices.Sort(keys)
			means := make([]float64, len(keys))
			for i, pi := range keys {
				means[i] = byPersona[pi].mean()
			}
			metric := "judge:" + name + ":" + dim
			jr.Dimensions = append(jr.Dimensions, DimensionResult{
				Name:          dim,
				Mean:          meanCI(metric, bootstrapKey(a.cfg.Seed, v.name, metric, ""), means, b),
				ShareAtLeast4: Float(ratio(js.atLeast4[dim], js.scored[dim])),
				ExplanationsN: js.scored[dim],
			})
		}
		out.Judges = append(out.Judges, jr)
	}
	return out
}
