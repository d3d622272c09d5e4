package metrics

import (
	"cmp"
	"slices"

	"github.com/recloop/recloop/trajectory"
)

// InterviewSatisfaction is the post-run interview score (1–10).
const InterviewSatisfaction = "interview_satisfaction"

// maxQuotes bounds the interview quotes kept per variant: the lowest and
// the highest scores, which are what a report reader wants to see.
const maxQuotes = 6

// Voices is what personas played by a language model said and did beyond
// clicks: how often they named items that were not on the slate, and their
// post-run interviews. It is nil for runs without such personas.
type Voices struct {
	// ItemsNamed counts the item ids the personas' answers named, valid or not.
	ItemsNamed int `json:"items_named"`
	// Hallucinations counts named ids that were not on the slate.
	Hallucinations    int   `json:"hallucinations"`
	HallucinationRate Float `json:"hallucination_rate"`
	// Satisfaction is the interview score (1–10) with a bootstrap CI over
	// the personas interviewed.
	Satisfaction Value   `json:"satisfaction"`
	Quotes       []Quote `json:"quotes,omitempty"`
}

// Quote is one persona's interview answer about one variant.
type Quote struct {
	Persona      string `json:"persona"`
	Satisfaction int    `json:"satisfaction"`
	Review       string `json:"review"`
}

type voiceState struct {
	named, hallucinations int
	interviews            []Quote
	// spoke is set once any answer carried words (a reason or feedback),
	// which only personas played by a language model give.
	spoke bool
}

func (v *voiceState) step(st *trajectory.Step) {
	if st.Feedback != "" {
		v.spoke = true
	}
	for k := range st.Slate {
		if st.Slate[k].Reason != "" {
			v.spoke = true
		}
		if st.Slate[k].Examined {
			v.named++
		}
	}
	v.named += st.Hallucinations
	v.hallucinations += st.Hallucinations
}

func (v *voiceState) interview(persona string, iv *trajectory.Interview) {
	v.interviews = append(v.interviews, Quote{Persona: persona, Satisfaction: iv.Satisfaction, Review: iv.Review})
}

// result is nil when nothing was said: a run of the utility model.
func (v *voiceState) result(seed uint64, variant string, b int) *Voices {
	if v.hallucinations == 0 && len(v.interviews) == 0 && !v.spoke {
		return nil
	}
	out := &Voices{ItemsNamed: v.named, Hallucinations: v.hallucinations, HallucinationRate: Float(ratio(v.hallucinations, v.named))}
	scores := make([]float64, len(v.interviews))
	for i, q := range v.interviews {
		scores[i] = float64(q.Satisfaction)
	}
	out.Satisfaction = meanCI(InterviewSatisfaction, bootstrapKey(seed, variant, InterviewSatisfaction, ""), scores, b)
	quotes := slices.Clone(v.interviews)
	slices.SortStableFunc(quotes, func(a, b Quote) int {
		return cmp.Or(cmp.Compare(a.Satisfaction, b.Satisfaction), cmp.Compare(a.Persona, b.Persona))
	})
	if len(quotes) > maxQuotes {
		quotes = append(quotes[:maxQuotes/2], quotes[len(quotes)-maxQuotes/2:]...)
	}
	out.Quotes = quotes
	return out
}
