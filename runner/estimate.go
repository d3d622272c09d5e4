package runner

import (
	"sort"

	"github.com/recloop/recloop/llm"
	"github.com/recloop/recloop/personas"
	"github.com/recloop/recloop/scenarios"
)

// Estimate is what a scenario's language-model calls would take. Every
// persona is assumed to stay for every round after it joins, so the figures
// are an upper bound when personas exit early.
type Estimate struct {
	// Kinds lists the kinds of call in name order, each with its usage.
	Kinds []KindUsage
	Total llm.Usage
	// Model and BaseURL say where the calls would go; BudgetUSD is the
	// scenario's budget (0: none).
	Model, BaseURL string
	// Sources says where Model, BaseURL and the key came from.
	Sources   llm.Sources
	Endpoint  string
	BudgetUSD float64
}

// KindUsage is the estimated usage of one kind of call.
type KindUsage struct {
	Kind string
	llm.Usage
}

// dialogueEstimator is a conversation's LLM user engine that can say what
// one persona's dialogues would send.
type dialogueEstimator interface {
	EstimateDialogues(st *personas.State, dialogues, maxTurns, k int) []personas.EstimatedCall
}

// replyEstimator is a conversational recommender that asks a language
// model for its replies.
type replyEstimator interface {
	EstimateReply(maxTurns, k int) (llm.Request, error)
}

// EstimateLLM estimates a plan's LLM calls without sending any; ok is false
// when nothing in the plan calls a language model.
func EstimateLLM(plan *scenarios.Plan) (est Estimate, ok bool) {
	if plan.LLM == nil {
		return est, false
	}
	s := plan.Scenario
	byKind := map[string]*llm.Usage{}
	add := func(call personas.EstimatedCall) {
		if call.Count == 0 {
			return
		}
		one := plan.LLM.Estimate(call.Request)
		u := llm.Usage{Calls: call.Count, PromptTokens: one.PromptTokens * call.Count,
			CompletionTokens: one.CompletionTokens * call.Count, CostUSD: one.CostUSD * float64(call.Count)}
		if byKind[call.Kind] == nil {
			byKind[call.Kind] = &llm.Usage{}
		}
		byKind[call.Kind].Add(u)
		est.Total.Add(u)
	}
	if s.Conversational() {
		if !estimateDialogues(plan, add) {
			return est, false
		}
	} else {
		estimator, ok := plan.Behaviour.(personas.CallEstimator)
		if !ok {
			return est, false
		}
		for range plan.Variants {
			for _, st := range plan.States {
				slates := max(0, s.Rounds-st.Persona.JoinRound)
				for _, call := range estimator.EstimateCalls(st, slates, s.SlateSize) {
					add(call)
				}
			}
		}
	}
	for k, u := range byKind {
		est.Kinds = append(est.Kinds, KindUsage{Kind: k, Usage: *u})
	}
	sort.Slice(est.Kinds, func(i, j int) bool { return est.Kinds[i].Kind < est.Kinds[j].Kind })
	cfg := plan.LLM.Config()
	est.Model, est.BaseURL, est.BudgetUSD = cfg.Model, cfg.BaseURL, cfg.BudgetUSD
	est.Sources, est.Endpoint = cfg.Sources, cfg.Describe()
	return est, true
}

// estimateDialogues adds a conversational plan's calls, every dialogue at
// its longest: the LLM users' turns and the LLM recommenders' replies. It
// reports whether anything calls a language model.
func estimateDialogues(plan *scenarios.Plan, add func(personas.EstimatedCall)) bool {
	s := plan.Scenario
	maxTurns := s.Conversation.MaxTurns
	calls := false
	users, _ := plan.ChatUser.(dialogueEstimator)
	for v := range plan.Variants {
		var replies replyEstimator
		if built := plan.Recommenders(v); len(built) > 0 {
			replies, _ = built[0].(replyEstimator)
		}
		dialogues := 0
		for _, st := range plan.States {
			n := max(0, s.Rounds-st.Persona.JoinRound)
			dialogues += n
			if users != nil {
				for _, call := range users.EstimateDialogues(st, n, maxTurns, s.SlateSize) {
					add(call)
					calls = true
				}
			}
		}
		if replies != nil {
			if req, err := replies.EstimateReply(maxTurns, s.SlateSize); err == nil {
				add(personas.EstimatedCall{Kind: "chat-reply", Request: req, Count: dialogues * maxTurns})
				calls = true
			}
		}
	}
	return calls
}
