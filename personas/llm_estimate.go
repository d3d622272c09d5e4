package personas

import (
	"github.com/recloop/recloop/trajectory"
)

// EstimateCalls implements CallEstimator: one slate decision per slate
// viewed, a reflection every reflect_every slates (assuming the persona has
// picked something to reflect on), and the interview. The representative
// requests are rendered from the persona's starting state with a slate of
// the first released items, so their size is that of real prompts.
func (m *llmPersona) EstimateCalls(st *State, slates, slateSize int) []EstimatedCall {
	if slates <= 0 {
		return nil
	}
	data := m.promptData(st, 1)
	data.Slate = m.slateView(m.sampleSlate(slateSize))
	var calls []EstimatedCall
	if req, err := m.request(st, tmplDecideSystem, tmplDecideUser, data, m.schema); err == nil {
		calls = append(calls, EstimatedCall{Kind: "decide", Request: req, Count: slates})
	}
	if m.reflectEvery > 0 && m.memory > 0 {
		if req, err := m.request(st, tmplReflectSystem, tmplReflectUser, m.promptData(st, 1), reflectSchema); err == nil {
			calls = append(calls, EstimatedCall{Kind: "reflect", Request: req, Count: (slates - 1) / m.reflectEvery})
		}
	}
	if m.interview {
		if req, err := m.request(st, tmplInterviewSystem, tmplInterviewUser, m.promptData(st, slates), interviewSchema); err == nil {
			calls = append(calls, EstimatedCall{Kind: "interview", Request: req, Count: 1})
		}
	}
	return calls
}

func (d decideOnly) EstimateCalls(st *State, slates, slateSize int) []EstimatedCall {
	return d.m.EstimateCalls(st, slates, slateSize)
}

func (m *llmPersona) sampleSlate(k int) []trajectory.Shown {
	slate := make([]trajectory.Shown, 0, k)
	for i := 0; i < m.cat.Len() && len(slate) < k; i++ {
		if it := m.cat.Item(i); it.ReleaseRound == 0 {
			slate = append(slate, trajectory.Shown{Item: it.ID, Score: 1, Explanation: "popular in your favourite category"})
		}
	}
	return slate
}
