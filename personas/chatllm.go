package personas

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"text/template"

	"github.com/recloop/recloop/catalog"
	"github.com/recloop/recloop/llm"
	"github.com/recloop/recloop/trajectory"
)

// ChatUserPromptVersion names the embedded chat-user templates. It changes
// whenever their wording does, so cached answers and reports can be told
// apart.
const ChatUserPromptVersion = "chatuser-v1"

// RoleChatUser is the role of the chat user's calls: its own line in the
// usage accounting, and a cache key apart from the slate persona's.
const RoleChatUser llm.Role = "chat-user"

// DefaultChatUserMaxTokens bounds one answer: a line of dialogue and a
// short reason.
const DefaultChatUserMaxTokens = 400

// chatReplicateStride separates the replicates' and the rounds' share of
// Request.Replicate (see LLMChatUser.request).
const chatReplicateStride = 1 << 20

//go:embed prompts/chatuser-v1.tmpl
var chatUserPromptFS embed.FS

const (
	tmplChatUserSystem = "chatuser.system"
	tmplChatUserUser   = "chatuser.user"
)

// chatUserSchema is the strict structured-output schema of the answer.
// Ranges are stated in descriptions, as in the slate persona's schemas,
// and clamped on reading.
var chatUserSchema = &llm.Schema{Name: "chat_user_turn", JSON: json.RawMessage(`{` +
	`"type":"object","additionalProperties":false,` +
	`"required":["utterance","act","accepted_item","satisfaction","reason"],"properties":{` +
	`"utterance":{"type":"string"},` +
	`"act":{"type":"string","enum":["inform","answer","ask","accept","reject","quit"]},` +
	`"accepted_item":{"type":"string","description":"the item_id of the accepted item, or empty"},` +
	`"satisfaction":{"type":"number","description":"0 (not at all) to 1 (completely)"},` +
	`"reason":{"type":"string"}}}`)}

// LLMChatUserOptions tunes an LLM chat user.
type LLMChatUserOptions struct {
	// Model is the language model that plays the users
	// (conversation.user_model, --user-model); "" keeps the client's.
	Model string
	// MaxTokens bounds one answer; 0 means DefaultChatUserMaxTokens.
	MaxTokens int
}

// LLMChatUser is the user engine played by a language model: each turn it
// shows the model the persona, its need (each constraint with what it may
// say of it) and the dialogue so far, and reads back a structured line.
// The prompt names no catalog title except those the recommender proposed
// in the dialogue: the persona's liked and disliked evidence stays out,
// and free text that names another title is scrubbed first. Say is safe
// for concurrent use.
type LLMChatUser struct {
	cat    *catalog.Catalog
	titles *catalog.TitleIndex
	client llm.Client
	model  string
	// override is the model every call names, "" for the client's own.
	override  string
	maxTokens int
	tmpl      *template.Template
	version   string
	// hiddenMentions counts utterances that named a hidden constraint: a
	// leak of the persona's own need, which Reveals leaves out so that the
	// recommender is not credited with a constraint it was never told.
	hiddenMentions atomic.Int64
}

var _ ChatUser = (*LLMChatUser)(nil)

// configured is the scenario's llm.Stack: a client that knows its config.
type configured interface {
	Config() llm.Config
}

// NewLLMChatUser builds the LLM user engine on env's catalog and client.
// opts.Model, when set, names the model of every call it makes on that
// client (llm.Request.Model), so a second model's calls still count
// against the run's budget and usage.
func NewLLMChatUser(env BehaviourEnv, opts LLMChatUserOptions) (*LLMChatUser, error) {
	if env.LLM == nil {
		return nil, ErrNoLLM
	}
	u := &LLMChatUser{
		cat:       env.Catalog,
		titles:    catalog.NewTitleIndex(env.Catalog),
		client:    env.LLM,
		maxTokens: opts.MaxTokens,
	}
	if u.maxTokens <= 0 {
		u.maxTokens = DefaultChatUserMaxTokens
	}
	if c, ok := env.LLM.(configured); ok {
		u.model = c.Config().Model
	}
	if opts.Model != "" {
		u.model, u.override = opts.Model, opts.Model
	}
	p, err := llm.LoadPrompts(chatUserPromptFS, ChatUserPromptVersion, env.Dir, "",
		[]string{tmplChatUserSystem, tmplChatUserUser}, "prompts/chatuser-v1.tmpl")
	if err != nil {
		return nil, fmt.Errorf("personas: llm chat user: %w", err)
	}
	u.tmpl, u.version = p.Template, p.Version
	return u, nil
}

// Model is the language model that plays the users ("" when the client
// does not say), for the run's record.
func (u *LLMChatUser) Model() string { return u.model }

// PromptVersion names the templates in use.
func (u *LLMChatUser) PromptVersion() string { return u.version }

// HiddenMentions counts the utterances that named a hidden constraint.
func (u *LLMChatUser) HiddenMentions() int64 { return u.hiddenMentions.Load() }

// Say implements ChatUser. Errors from the client are wrapped with %w, so
// errors.Is finds llm.ErrBudgetExceeded, llm.ErrReplayMiss and
// llm.ErrMalformed (an answer still invalid after the client's repair).
func (u *LLMChatUser) Say(ctx context.Context, st *State, d *Dialogue) (Utterance, error) {
	if st.Need == nil {
		return Utterance{}, ErrNoNeed
	}
	req, err := u.request(st, d)
	if err != nil {
		return Utterance{}, err
	}
	resp, err := u.client.Complete(ctx, req)
	if err != nil {
		return Utterance{}, fmt.Errorf("personas: %s: chat turn: %w", st.Persona.ID, err)
	}
	var a chatAnswer
	if err := json.Unmarshal([]byte(resp.Content), &a); err != nil {
		return Utterance{}, fmt.Errorf("personas: %s: chat turn: %w: %v", st.Persona.ID, llm.ErrMalformed, err)
	}
	return u.utterance(st, d, &a), nil
}

type chatAnswer struct {
	Utterance    string  `json:"utterance"`
	Act          string  `json:"act"`
	AcceptedItem string  `json:"accepted_item"`
	Satisfaction float64 `json:"satisfaction"`
	Reason       string  `json:"reason"`
}

// utterance turns the answer into the persona's turn, holding the model
// to the rules the prompt states.
func (u *LLMChatUser) utterance(st *State, d *Dialogue, a *chatAnswer) Utterance {
	out := Utterance{
		Text:         strings.TrimSpace(a.Utterance),
		Act:          a.Act,
		Accepted:     -1,
		Satisfaction: a.Satisfaction,
		Reason:       strings.TrimSpace(a.Reason),
	}
	if math.IsNaN(out.Satisfaction) {
		out.Satisfaction = 0
	}
	out.Satisfaction = min(1, max(0, out.Satisfaction))
	if !slices.Contains(trajectory.Acts, out.Act) {
		// Strict structured output enforces the enum; a lax endpoint's
		// stray act is a turn that says nothing decisive.
		out.Act = trajectory.ActAnswer
	}
	switch {
	case len(d.Turns) == 0:
		// The user opens every dialogue by saying what it wants: there
		// is nothing to answer, accept or reject yet, and quitting before
		// the recommender spoke would measure nothing.
		out.Act = trajectory.ActInform
	case out.Act == trajectory.ActAccept:
		id := strings.TrimSpace(a.AcceptedItem)
		item, ok := u.cat.Index(id)
		switch {
		case id == "":
			// Accepting nothing in particular takes nothing.
			out.Act = trajectory.ActReject
		case !ok || !proposedIn(d, item):
			out.Hallucinations++
			out.Act = trajectory.ActReject
		default:
			out.Accepted = item
		}
	}
	if len(d.Turns) > 0 && d.RecommenderTurns() >= st.Need.Patience && out.Act != trajectory.ActAccept {
		// Patience is the persona's, not the model's to forget.
		out.Act = trajectory.ActQuit
	}
	out.Reveals = u.reveals(st.Need, out.Text)
	return out
}

func proposedIn(d *Dialogue, item int) bool {
	for _, t := range d.Turns {
		if !t.User && slices.Contains(t.Items, item) {
			return true
		}
	}
	return false
}

// reveals are the constraints, hidden ones excepted, whose words the
// utterance uses: its description, its category or tag, or its
// attribute's name. A hidden constraint named is counted in
// hiddenMentions instead.
func (u *LLMChatUser) reveals(n *Need, text string) []int {
	text = strings.ToLower(text)
	var out []int
	hidden := false
	for i := range n.Constraints {
		c := &n.Constraints[i]
		words := []string{c.Describe(), c.Category, c.Tag, c.Attribute}
		if !slices.ContainsFunc(words, func(w string) bool { return w != "" && containsWord(text, strings.ToLower(w)) }) {
			continue
		}
		if c.Reveal == RevealHidden {
			hidden = true
			continue
		}
		out = append(out, i)
	}
	if hidden {
		u.hiddenMentions.Add(1)
	}
	return out
}

// containsWord reports whether w occurs in text as a whole word or words:
// "drama" is in "a drama, please" but not in "melodrama".
func containsWord(text, w string) bool {
	letter := func(b byte) bool { return b >= 'a' && b <= 'z' || b >= '0' && b <= '9' || b == '_' || b >= 0x80 }
	for from := 0; from <= len(text); {
		i := strings.Index(text[from:], w)
		if i < 0 {
			return false
		}
		i += from
		end := i + len(w)
		if (i == 0 || !letter(text[i-1])) && (end == len(text) || !letter(text[end])) {
			return true
		}
		from = i + 1
	}
	return false
}

// request renders the prompt for the persona's next line. It depends on
// nothing but the persona, its need and the dialogue, so a replay asks
// the cache the same question. Replicate folds the round in with the
// replicate: each round's dialogue is a trial of its own (pass^k counts
// them), and must not replay the answers of an earlier round's identical
// dialogue.
func (u *LLMChatUser) request(st *State, d *Dialogue) (llm.Request, error) {
	data := u.promptData(st, d)
	var sys, usr bytes.Buffer
	if err := u.tmpl.ExecuteTemplate(&sys, tmplChatUserSystem, data); err != nil {
		return llm.Request{}, fmt.Errorf("personas: prompt %s (%s): %w", tmplChatUserSystem, u.version, err)
	}
	if err := u.tmpl.ExecuteTemplate(&usr, tmplChatUserUser, data); err != nil {
		return llm.Request{}, fmt.Errorf("personas: prompt %s (%s): %w", tmplChatUserUser, u.version, err)
	}
	return llm.Request{
		Role:      RoleChatUser,
		Subject:   st.Persona.ID,
		Replicate: st.Persona.Replicate + d.Round*chatReplicateStride,
		Messages:  []llm.Message{{Role: "system", Content: sys.String()}, {Role: "user", Content: usr.String()}},
		Schema:    chatUserSchema,
		MaxTokens: u.maxTokens,
		Model:     u.override,
	}, nil
}

// chatPrompt is everything the templates can use.
type chatPrompt struct {
	Name        string
	Description string
	Traits      []string
	Interests   []string
	Style       string
	Cooperation string
	Volunteer   []chatConstraintView
	OnAsk       []chatConstraintView
	Hidden      []string
	// TurnsLeft is how many more recommender replies the persona sits
	// through.
	TurnsLeft int
	Turns     []chatTurnView
}

type chatConstraintView struct {
	Text  string
	Topic string
}

type chatTurnView struct {
	User  bool
	Text  string
	Items []chatItemView
}

type chatItemView struct {
	ID          string
	Title       string
	Categories  string
	Year        string
	Explanation string
}

var styleSentences = map[string]string{
	StyleDirect: "You say plainly what you want.",
	StyleTerse:  "You say as little as you can: one thing at a time, in a few words.",
	StyleChatty: "You are chatty: you talk about your tastes along with what you need.",
	StyleVague:  "You are vague: you talk around what you want rather than naming it outright.",
}

func cooperationSentence(coop float64) string {
	switch {
	case coop < traitLow:
		return "You are short with the service: you often dodge its questions and lose interest quickly when its proposals miss."
	case coop > traitHigh:
		return "You are cooperative: you answer the service's questions and give it several chances."
	}
	return "You answer most questions, but repeated misses try your patience."
}

func (u *LLMChatUser) promptData(st *State, d *Dialogue) *chatPrompt {
	p, n := st.Persona, st.Need
	name := p.Name
	if name == "" {
		name = p.ID
	}
	proposed := map[int]bool{}
	for _, t := range d.Turns {
		for _, it := range t.Items {
			proposed[it] = true
		}
	}
	coop := DefaultCooperativeness
	if n.Cooperativeness != nil {
		coop = *n.Cooperativeness
	}
	data := &chatPrompt{
		Name:        u.scrub(name, proposed),
		Description: u.scrub(strings.TrimSpace(p.Description), proposed),
		Traits:      traitWords(p.Traits),
		Interests:   interestWords(u.cat, st.Interests),
		Style:       styleSentences[n.Style],
		Cooperation: cooperationSentence(coop),
		TurnsLeft:   max(0, n.Patience-d.RecommenderTurns()),
	}
	if data.Style == "" {
		data.Style = styleSentences[StyleDirect]
	}
	for i := range n.Constraints {
		c := &n.Constraints[i]
		switch c.Reveal {
		case RevealHidden:
			data.Hidden = append(data.Hidden, c.Describe())
		case RevealOnAsk:
			data.OnAsk = append(data.OnAsk, chatConstraintView{Text: c.Describe(), Topic: c.Topic()})
		default:
			data.Volunteer = append(data.Volunteer, chatConstraintView{Text: c.Describe(), Topic: c.Topic()})
		}
	}
	for _, t := range d.Turns {
		v := chatTurnView{User: t.User, Text: u.scrub(strings.Join(strings.Fields(t.Text), " "), proposed)}
		for k, item := range t.Items {
			it := u.cat.Item(item)
			iv := chatItemView{ID: it.ID, Title: titleOf(it), Categories: strings.Join(it.Categories, ", ")}
			if y, ok := catalog.AttributeNumber(it.Attributes["year"]); ok {
				iv.Year = num(y)
			}
			if k < len(t.Explanations) {
				iv.Explanation = u.scrub(strings.Join(strings.Fields(t.Explanations[k]), " "), proposed)
			}
			v.Items = append(v.Items, iv)
		}
		data.Turns = append(data.Turns, v)
	}
	return data
}

// withheld replaces free text that names a title the persona has not been
// shown and that could not be cut out.
const withheld = "[withheld: it named a title the service had not proposed]"

// scrub is the leakage guard on free text (the persona's description, the
// dialogue's messages and explanations): titles of catalog items the
// recommender has not proposed are cut out, and text in which one is
// still found after that is withheld whole. A persona that read such a
// title in its prompt could ask for it by name and hand the recommender
// the answer.
func (u *LLMChatUser) scrub(text string, proposed map[int]bool) string {
	found := u.titles.Scan(text)
	for _, item := range found {
		if !proposed[item] {
			for _, form := range titleForms(u.cat.Item(item).Title) {
				text = replaceFold(text, form, "[a title]")
			}
		}
	}
	if len(found) == 0 {
		return text
	}
	for _, item := range u.titles.Scan(text) {
		if !proposed[item] {
			return withheld
		}
	}
	return text
}

var trailingYear = regexp.MustCompile(`\s*\(\d{4}\)$`)

// titleForms are the ways text may name a title, longest first: as
// written, without a trailing "(1995)", and with a trailing ", The" moved
// to the front (the MovieLens convention).
func titleForms(title string) []string {
	forms := []string{title}
	base := trailingYear.ReplaceAllString(title, "")
	if base != title {
		forms = append(forms, base)
	}
	for _, article := range []string{"The", "A", "An"} {
		if rest, ok := strings.CutSuffix(base, ", "+article); ok {
			forms = append(forms, article+" "+rest)
		}
	}
	slices.SortStableFunc(forms, func(a, b string) int { return len(b) - len(a) })
	return forms
}

// replaceFold replaces every case-insensitive occurrence of old in s.
func replaceFold(s, old, repl string) string {
	if old == "" {
		return s
	}
	lower, lowerOld := strings.ToLower(s), strings.ToLower(old)
	if len(lower) != len(s) || len(lowerOld) != len(old) {
		// Lower-casing changed byte offsets: leave it to the caller's
		// rescan, which withholds the text when the title survived.
		return s
	}
	var b strings.Builder
	for {
		i := strings.Index(lower, lowerOld)
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		b.WriteString(repl)
		s, lower = s[i+len(old):], lower[i+len(old):]
	}
}

// EstimateDialogues lists, for a dry run, the calls one persona's
// dialogues would send: one per user turn, each priced as the last turn of
// a dialogue at its longest (maxTurns replies of k items), an upper bound.
func (u *LLMChatUser) EstimateDialogues(st *State, dialogues, maxTurns, k int) []EstimatedCall {
	d := &Dialogue{ID: "estimate", Need: st.Need, Catalog: u.cat}
	if st.Need != nil {
		d.Revealed = make([]bool, len(st.Need.Constraints))
	}
	next := 0
	for range maxTurns {
		d.Turns = append(d.Turns, DialogueTurn{User: true, Act: "reject", Text: "Not quite what I'm after: something else, please."})
		turn := DialogueTurn{Text: "Here are some picks for you."}
		for ; len(turn.Items) < k && next < u.cat.Len(); next++ {
			turn.Items = append(turn.Items, next)
			turn.Explanations = append(turn.Explanations, "A film that fits what you asked for, from the catalog's own description.")
		}
		d.Turns = append(d.Turns, turn)
	}
	req, err := u.request(st, d)
	if err != nil {
		return nil
	}
	return []EstimatedCall{{Kind: "chat-user", Request: req, Count: dialogues * (maxTurns + 1)}}
}
