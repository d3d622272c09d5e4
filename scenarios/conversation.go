package scenarios

import (
	"slices"
	"strings"

	"github.com/recloop/recloop/catalog"
	"github.com/recloop/recloop/config"
	"github.com/recloop/recloop/personas"
	"github.com/recloop/recloop/recommenders"
	"github.com/recloop/recloop/simulator"
	"github.com/recloop/recloop/trajectory"
)

// ConversationSpec makes a scenario conversational: personas hold
// dialogues with conversational recommenders instead of browsing slates
// (docs/conversational.md).
type ConversationSpec struct {
	// MaxTurns bounds the recommender's turns in one dialogue.
	MaxTurns int `yaml:"max_turns"`
	// User is the user engine: agenda (deterministic, free) or llm.
	User string `yaml:"user"`
	// UserModel is the language model that plays llm users, when it
	// differs from llm.model; --user-model overrides it.
	UserModel string `yaml:"user_model"`
	// PassK is the k of pass^k; 0 means every dialogue of a persona
	// (replicates × rounds).
	PassK int `yaml:"pass_k"`
	// Learn lets recommenders observe each dialogue's proposals, the
	// accepted one clicked.
	Learn bool `yaml:"learn"`
}

// Conversation engines and defaults.
const (
	UserAgenda      = "agenda"
	UserLLM         = "llm"
	DefaultMaxTurns = 8
	maxMaxTurns     = 100
)

// Conversational reports whether the scenario holds conversations.
func (s *Scenario) Conversational() bool { return s.Conversation != nil }

func (s *Scenario) validateConversation() {
	c := s.Conversation
	if c == nil {
		return
	}
	d := s.doc
	if c.MaxTurns == 0 && !d.Has("conversation.max_turns") {
		c.MaxTurns = DefaultMaxTurns
	}
	if c.User == "" {
		c.User = UserAgenda
	}
	if c.MaxTurns < 1 || c.MaxTurns > maxMaxTurns {
		d.Add("conversation.max_turns", "must be between 1 and %d, got %d", maxMaxTurns, c.MaxTurns)
	}
	if !slices.Contains([]string{UserAgenda, UserLLM}, c.User) {
		d.Add("conversation.user", "unknown user engine %q (known: %s, %s)", c.User, UserAgenda, UserLLM)
	}
	if c.User == UserLLM && s.LLM == nil {
		d.Add("conversation.user", "the llm user engine needs an llm: block")
	}
	if c.UserModel != "" && c.User != UserLLM {
		d.Add("conversation.user_model", "only the llm user engine has a model")
	}
	if trials := max(1, s.Replicates) * s.Rounds; c.PassK < 0 || c.PassK > trials {
		d.Add("conversation.pass_k", "must be between 1 and the dialogues each persona holds (replicates × rounds = %d), got %d", trials, c.PassK)
	}
	for _, clash := range []struct {
		field string
		set   bool
	}{{"funnel", len(s.Funnel) > 0}, {"returning", s.Returning != nil}, {"engagement", s.Engagement.Search || s.Engagement.BounceBelow != nil || len(s.Engagement.Weights) > 0}} {
		if clash.set {
			d.Add(clash.field, "does not apply to a conversational scenario (conversation:): personas converse instead of browsing slates")
		}
	}
}

// PassK is the k of pass^k for this scenario.
func (s *Scenario) PassK() int {
	if s.Conversation == nil {
		return 0
	}
	if s.Conversation.PassK > 0 {
		return s.Conversation.PassK
	}
	return max(1, s.Replicates) * s.Rounds
}

// conversation builds the simulator's side of a conversational scenario;
// nil for a slate scenario.
func (p *Plan) conversation() *simulator.Conversation {
	c := p.Scenario.Conversation
	if c == nil {
		return nil
	}
	return &simulator.Conversation{MaxTurns: c.MaxTurns, User: p.ChatUser, Judge: p.judge, Titles: p.titles, Learn: c.Learn,
		Info: trajectory.ConversationInfo{MaxTurns: c.MaxTurns, User: c.User, UserModel: p.userModel, PassK: p.Scenario.PassK(), Learn: c.Learn}}
}

// buildConversation gives every persona a need, and builds the judge of
// relevance and the user engine. The judge scores taste with the
// scenario's behaviour when it can, else with the utility model's
// defaults.
func (s *Scenario) buildConversation(p *Plan, env personas.BehaviourEnv) error {
	c := s.Conversation
	personas.DeriveNeeds(p.States, p.Catalog, s.Seed)
	scorer, ok := p.Behaviour.(personas.Scorer)
	if !ok {
		b, err := personas.NewBehaviour(DefaultBehaviour, env, nil)
		if err != nil {
			return s.located("behaviour", err)
		}
		if scorer, ok = b.(personas.Scorer); !ok {
			return s.errorAt("behaviour", "the utility model cannot score items")
		}
	}
	p.judge = personas.NeedJudge{Catalog: p.Catalog, Scorer: scorer}
	p.titles = catalog.NewTitleIndex(p.Catalog)
	switch c.User {
	case UserLLM:
		u, err := personas.NewLLMChatUser(env, personas.LLMChatUserOptions{Model: c.UserModel})
		if err != nil {
			return s.located("conversation.user", err)
		}
		p.ChatUser, p.userModel = u, u.Model()
	default:
		p.ChatUser = personas.NewAgendaUser(p.Catalog, p.judge)
	}
	return nil
}

// checkConverses rejects a variant whose recommender cannot hold a
// conversation in a conversational scenario.
func (s *Scenario) checkConverses(i int, r recommenders.Recommender) error {
	if s.Conversation == nil || recommenders.Converses(r) {
		return nil
	}
	var chat []string
	for _, name := range recommenders.Names() {
		if strings.HasPrefix(name, "chat") || name == "clarify" || name == "llmchat" || name == "http" || name == "exec" {
			chat = append(chat, name)
		}
	}
	return s.errorAt(config.Join(config.Index("variants", i), "recommender"),
		"%q cannot hold a conversation, and the scenario has a conversation: block (conversational recommenders: %s; an http or exec one must declare the chat capability)",
		s.Variants[i].Recommender, strings.Join(chat, ", "))
}
