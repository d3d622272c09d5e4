package personas

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"unicode/utf8"

	"github.com/recloop/recloop/catalog"
	"github.com/recloop/recloop/config"
	"github.com/recloop/recloop/llm"
	"github.com/recloop/recloop/trajectory"
)

// LLMName is the registered name of the behaviour played by a language model.
const LLMName = "llm"

// PromptVersion names the embedded prompt templates. It changes whenever
// their wording does, so that cached answers and reports can be told apart.
const PromptVersion = "persona-v2"

// ErrNoLLM is returned by the llm behaviour's factory when the scenario
// configures no language model.
var ErrNoLLM = errors.New("personas: behaviour llm needs an llm: block in the scenario")

// LLMSpec lists the parameters of the llm behaviour; docs/llm-personas.md
// explains the prompts they shape.
var LLMSpec = config.Spec{
	Name: LLMName,
	Summary: "Each persona is played by a language model through the scenario's llm: endpoint: it reads the persona's " +
		"description, traits and stated interests, remembers its recent picks, and answers each slate with clicks, ratings and reasons.",
	Params: []config.Param{
		{Name: "memory", Kind: config.Int, Default: 10, Min: config.AtLeast(0), Doc: "How many of its most recent picks the persona remembers in its prompts."},
		{Name: "reflect_every", Kind: config.Int, Default: 5, Min: config.AtLeast(0), Doc: "Slates between the persona's summaries of its own taste (0 turns reflection off)."},
		{Name: "prompt", Kind: config.String, Default: "", Doc: "Template file (relative to the scenario) redefining some of the embedded prompt templates; empty keeps them all."},
		{Name: "interview", Kind: config.Bool, Default: true, Doc: "Ask every persona after the run how satisfied it was with each variant."},
		{Name: "max_tokens", Kind: config.Int, Default: 600, Min: config.AtLeast(1), Doc: "Most tokens one answer may use."},
	},
}

func init() {
	RegisterBehaviour(LLMSpec, newLLMPersona)
}

//go:embed prompts/*.tmpl
var promptFS embed.FS

// Template names every prompt file defines or may redefine.
const (
	tmplDecideSystem    = "persona.system"
	tmplDecideUser      = "persona.user"
	tmplReflectSystem   = "reflect.system"
	tmplReflectUser     = "reflect.user"
	tmplInterviewSystem = "interview.system"
	tmplInterviewUser   = "interview.user"
)

var requiredTemplates = []string{
	tmplDecideSystem, tmplDecideUser, tmplReflectSystem, tmplReflectUser, tmplInterviewSystem, tmplInterviewUser,
}

// Prompt text limits, in runes: long catalog descriptions would crowd the
// slate out of the context window.
const (
	maxItemDescription = 240
	maxInterests       = 8
)

// The answer schemas sent as Request.Schema. Strict structured output wants
// every property required and no others allowed. Ranges are stated in
// descriptions rather than minimum/maximum, which some OpenAI-compatible
// servers reject; the parser clamps instead.
var (
	actionSchema = &llm.Schema{Name: "slate_action", JSON: json.RawMessage(`{` +
		`"type":"object","additionalProperties":false,"required":["items","exit","feedback"],"properties":{` +
		`"items":{"type":"array","items":{"type":"object","additionalProperties":false,` +
		`"required":["item_id","action","rating","reason"],"properties":{` +
		`"item_id":{"type":"string"},` +
		`"action":{"type":"string","enum":["click","skip"]},` +
		`"rating":{"type":"integer","description":"1 to 5 for a click, 0 for a skip"},` +
		`"reason":{"type":"string"}}}},` +
		`"exit":{"type":"boolean"},` +
		`"feedback":{"type":"string"}}}`)}
	reflectSchema = &llm.Schema{Name: "reflection", JSON: json.RawMessage(`{` +
		`"type":"object","additionalProperties":false,"required":["summary"],"properties":{` +
		`"summary":{"type":"string"}}}`)}
	interviewSchema = &llm.Schema{Name: "interview", JSON: json.RawMessage(`{` +
		`"type":"object","additionalProperties":false,"required":["satisfaction","review"],"properties":{` +
		`"satisfaction":{"type":"integer","description":"1 (not at all) to 10 (completely)"},` +
		`"review":{"type":"string"}}}`)}
)

// llmPersona plays personas with a language model. It holds no per-persona
// data: everything a persona remembers lives in its State, so each
// variant's world has its own memory.
type llmPersona struct {
	cat          *catalog.Catalog
	client       llm.Client
	tmpl         *template.Template
	version      string
	memory       int
	reflectEvery int
	interview    bool
	maxTokens    int
	// drift applies the utility model's default taste drift, so taste-drift
	// metrics mean the same under both behaviours.
	drift *utilityModel
	// eng and schema: with a funnel, the answer also says how far the
	// persona went with each click, how much of it it got through, and
	// what it searched for.
	eng    Engagement
	schema *llm.Schema
}

func newLLMPersona(env BehaviourEnv, p config.Params) (Behaviour, error) {
	if env.LLM == nil {
		return nil, ErrNoLLM
	}
	r := p.Reader(LLMName)
	prompt := r.String("prompt")
	m := &llmPersona{
		cat:          env.Catalog,
		client:       env.LLM,
		memory:       r.Int("memory"),
		reflectEvery: r.Int("reflect_every"),
		interview:    r.Bool("interview"),
		maxTokens:    r.Int("max_tokens"),
		eng:          env.Engagement,
		schema:       actionSchema,
	}
	defaults := UtilitySpec.Defaults().Reader(UtilityName)
	m.drift = &utilityModel{cat: env.Catalog, drift: defaults.Float("drift"), driftDislike: defaults.Float("drift_dislike")}
	tagWeight := defaults.Float("tag_weight")
	if err := errors.Join(r.Err(), defaults.Err()); err != nil {
		return nil, err
	}
	m.drift.vecs = env.Catalog.BlockFeatures(tagWeight)
	var err error
	if m.tmpl, m.version, err = loadPrompts(env.Dir, prompt); err != nil {
		return nil, err
	}
	if m.eng.On() {
		m.schema = funnelActionSchema(m.eng.Funnel)
	}
	if !m.interview {
		// Only behaviours that implement Interviewer are interviewed.
		return decideOnly{m}, nil
	}
	return m, nil
}

// decideOnly hides Interview when the scenario turns interviews off.
type decideOnly struct{ m *llmPersona }

func (d decideOnly) Decide(ctx context.Context, st *State, round int, slate []trajectory.Shown) (Decision, error) {
	return d.m.Decide(ctx, st, round, slate)
}

func (d decideOnly) PromptVersion() string { return d.m.version }

// loadPrompts parses the embedded templates and then, when override names a
// file, that file on top: it may redefine any of the named templates
// (including "identity", the persona description every prompt shares).
func loadPrompts(dir, override string) (*template.Template, string, error) {
	p, err := llm.LoadPrompts(promptFS, PromptVersion, dir, override, requiredTemplates, "prompts/*.tmpl")
	if err != nil {
		return nil, "", fmt.Errorf("personas: behaviour llm: %w", err)
	}
	return p.Template, p.Version, nil
}

// PromptVersion names the templates in use: PromptVersion, plus the
// override file's name and content hash when there is one.
func (m *llmPersona) PromptVersion() string { return m.version }

// Decide asks the model what the persona does with slate. On an error the
// state is left as it was (apart from a reflection that did succeed), so
// the simulator can record a behaviour error and go on.
func (m *llmPersona) Decide(ctx context.Context, st *State, round int, slate []trajectory.Shown) (Decision, error) {
	if st.Exited {
		return Decision{}, nil
	}
	if m.dueReflection(st) {
		if err := m.reflect(ctx, st); err != nil {
			return Decision{}, err
		}
	}
	data := m.promptData(st, st.SlatesViewed+1)
	data.Slate = m.slateView(slate)
	content, err := m.ask(ctx, st, tmplDecideSystem, tmplDecideUser, data, m.schema)
	if err != nil {
		return Decision{}, err
	}
	var answer actionAnswer
	if err := json.Unmarshal([]byte(content), &answer); err != nil {
		return Decision{}, fmt.Errorf("personas: %s: slate answer: %w: %v", st.Persona.ID, llm.ErrMalformed, err)
	}
	st.SlatesViewed++
	h0 := len(st.History)
	d := m.apply(st, round, slate, &answer)
	m.settle(st, h0, slate)
	if m.eng.Search {
		d.Query = strings.TrimSpace(answer.Search)
	}
	if answer.Exit {
		st.Exited, st.ExitRound, d.Exit = true, round, true
	}
	return d, nil
}

// actionAnswer is the slate answer. Rating is a float so that "4.0" from a
// lax endpoint still counts; it is rounded before use.
type actionAnswer struct {
	Items []struct {
		ItemID string  `json:"item_id"`
		Action string  `json:"action"`
		Rating float64 `json:"rating"`
		Reason string  `json:"reason"`
		// Stage and Completion are asked for when the scenario declares
		// a funnel.
		Stage      string   `json:"stage"`
		Completion *float64 `json:"completion"`
	} `json:"items"`
	Exit     bool   `json:"exit"`
	Feedback string `json:"feedback"`
	Search   string `json:"search"`
}

// apply marks the slate from the answer and records clicks in st's history.
// Ids not in the slate are hallucinations: dropped and counted. A repeated
// id keeps its first action. An action other than click or skip counts as a
// skip. A click on an item the persona already consumed is kept as a look
// without a click (the simulator never shows one, so only a stale prompt
// override could cause it) and is not a hallucination: the id was real.
func (m *llmPersona) apply(st *State, round int, slate []trajectory.Shown, a *actionAnswer) Decision {
	for k := range slate {
		slate[k].Examined, slate[k].Clicked, slate[k].Rating, slate[k].Reason = false, false, 0, ""
		slate[k].Stage, slate[k].Dwell, slate[k].Bounced = 0, 0, false
	}
	d := Decision{Feedback: a.Feedback}
	clicks := 0
	for _, it := range a.Items {
		k := slices.IndexFunc(slate, func(s trajectory.Shown) bool { return s.Item == it.ItemID })
		if k < 0 {
			d.Hallucinations++
			continue
		}
		sh := &slate[k]
		if sh.Examined {
			continue
		}
		sh.Examined, sh.Reason = true, it.Reason
		idx, known := m.cat.Index(sh.Item)
		if it.Action != "click" || !known || st.HasConsumed(idx) {
			continue
		}
		sh.Clicked = true
		sh.Rating = clampRound(it.Rating, 1, 5)
		if m.eng.On() {
			m.eng.stated(sh, it.Stage, it.Completion)
		}
		st.record(idx, round, sh.Rating)
		d.Utility += (sh.Rating - 1) / 4
		clicks++
	}
	if clicks > 0 {
		d.Utility /= float64(clicks)
	}
	return d
}

// settle applies what the clicks since h0 do to the persona, as the utility
// model does (history centroid, taste drift), and remembers them.
func (m *llmPersona) settle(st *State, h0 int, slate []trajectory.Shown) {
	for _, c := range st.History[h0:] {
		st.addToCentroid(m.cat, int(c.Item))
		m.drift.applyDrift(st, int(c.Item), c.Rating)
	}
	if m.memory == 0 {
		return
	}
	for k := range slate {
		if sh := &slate[k]; sh.Clicked {
			idx, _ := m.cat.Index(sh.Item)
			st.Memory = append(st.Memory, Recollection{Visit: st.SlatesViewed, Item: int32(idx), Rating: sh.Rating, Reason: sh.Reason})
		}
	}
	if extra := len(st.Memory) - m.memory; extra > 0 {
		st.Memory = st.Memory[:copy(st.Memory, st.Memory[extra:])]
	}
}

func clampRound(x, lo, hi float64) float64 {
	if math.IsNaN(x) {
		return lo
	}
	return min(hi, max(lo, math.Round(x)))
}

// dueReflection reports whether the persona summarises its taste before
// this slate: every reflect_every slates it has viewed, once, and only when
// it remembers something to reflect on.
func (m *llmPersona) dueReflection(st *State) bool {
	return m.reflectEvery > 0 && st.SlatesViewed > 0 && st.SlatesViewed%m.reflectEvery == 0 &&
		st.reflectedAt != st.SlatesViewed && len(st.Memory) > 0
}

func (m *llmPersona) reflect(ctx context.Context, st *State) error {
	content, err := m.ask(ctx, st, tmplReflectSystem, tmplReflectUser, m.promptData(st, st.SlatesViewed), reflectSchema)
	if err != nil {
		return err
	}
	var answer struct {
		Summary string `json:"summary"`
	}
	if err := json.Unmarshal([]byte(content), &answer); err != nil {
		return fmt.Errorf("personas: %s: reflection: %w: %v", st.Persona.ID, llm.ErrMalformed, err)
	}
	st.Reflection, st.reflectedAt = strings.TrimSpace(answer.Summary), st.SlatesViewed
	return nil
}

// Interview asks the persona how it found the world st lived in. The
// variant's name stays out of the prompt so that it cannot sway the answer.
func (m *llmPersona) Interview(ctx context.Context, st *State, _ string) (trajectory.Interview, error) {
	data := m.promptData(st, st.SlatesViewed)
	var sum float64
	for _, c := range st.History {
		if c.Round >= 0 {
			data.Picks++
			sum += c.Rating
		}
	}
	if data.Picks > 0 {
		data.MeanRating = strconv.FormatFloat(sum/float64(data.Picks), 'f', 1, 64)
	}
	content, err := m.ask(ctx, st, tmplInterviewSystem, tmplInterviewUser, data, interviewSchema)
	if err != nil {
		return trajectory.Interview{}, err
	}
	return parseInterview(st.Persona.ID, content)
}

func parseInterview(persona, content string) (trajectory.Interview, error) {
	var answer struct {
		Satisfaction float64 `json:"satisfaction"`
		Review       string  `json:"review"`
	}
	if err := json.Unmarshal([]byte(content), &answer); err != nil {
		return trajectory.Interview{}, fmt.Errorf("personas: %s: interview: %w: %v", persona, llm.ErrMalformed, err)
	}
	return trajectory.Interview{
		Satisfaction: int(clampRound(answer.Satisfaction, 1, 10)),
		Review:       strings.TrimSpace(answer.Review),
	}, nil
}

// ask renders the two templates and completes them. Errors from the client
// are wrapped with %w, so errors.Is still finds llm.ErrBudgetExceeded,
// llm.ErrReplayMiss and llm.ErrMalformed.
func (m *llmPersona) ask(ctx context.Context, st *State, system, user string, data *promptData, schema *llm.Schema) (string, error) {
	req, err := m.request(st, system, user, data, schema)
	if err != nil {
		return "", err
	}
	resp, err := m.client.Complete(ctx, req)
	if err != nil {
		return "", fmt.Errorf("personas: %s: %w", st.Persona.ID, err)
	}
	return resp.Content, nil
}

func (m *llmPersona) request(st *State, system, user string, data *promptData, schema *llm.Schema) (llm.Request, error) {
	sys, err := m.render(system, data)
	if err != nil {
		return llm.Request{}, err
	}
	usr, err := m.render(user, data)
	if err != nil {
		return llm.Request{}, err
	}
	return llm.Request{
		Role:      llm.RolePersona,
		Subject:   st.Persona.ID,
		Replicate: st.Persona.Replicate,
		Messages:  []llm.Message{{Role: "system", Content: sys}, {Role: "user", Content: usr}},
		Schema:    schema,
		MaxTokens: m.maxTokens,
	}, nil
}

func (m *llmPersona) render(name string, data *promptData) (string, error) {
	var b bytes.Buffer
	if err := m.tmpl.ExecuteTemplate(&b, name, data); err != nil {
		return "", fmt.Errorf("personas: prompt %s (%s): %w", name, m.version, err)
	}
	return b.String(), nil
}

// promptData is everything the templates can use. Numbers are formatted
// here, once, so that identical states give byte-identical prompts.
type promptData struct {
	ID          string
	Name        string
	Description string
	Traits      []string
	Interests   []string
	// Loved and Disliked are the persona's evidence, as titles.
	Loved, Disliked []string
	Memory          []memoryView
	Reflection      string
	// Visit is the persona's count of slates, this one included.
	Visit int
	Slate []slateView
	// Funnel lists the scenario's funnel stages ("" without one); Search
	// says whether the persona may search instead.
	Funnel string
	Search bool
	// Interview only.
	Exited     bool
	Picks      int
	MeanRating string
}

type memoryView struct {
	Visit  int
	Item   string
	Title  string
	Rating int
	Reason string
}

type slateView struct {
	Rank        int
	Item        string
	Title       string
	Categories  string
	Tags        string
	Attributes  string
	Description string
	Explanation string
}

func (m *llmPersona) promptData(st *State, visit int) *promptData {
	p := st.Persona
	name := p.Name
	if name == "" {
		name = p.ID
	}
	d := &promptData{
		ID: p.ID, Name: name, Description: strings.TrimSpace(p.Description),
		Traits:     traitWords(p.Traits),
		Interests:  interestWords(m.cat, st.Interests),
		Loved:      evidenceTitles(m.cat, p.Evidence.Liked),
		Disliked:   evidenceTitles(m.cat, p.Evidence.Disliked),
		Reflection: st.Reflection,
		Visit:      visit,
		Exited:     st.Exited,
		Funnel:     strings.Join(m.eng.Funnel, ", "),
		Search:     m.eng.Search,
	}
	for _, r := range st.Memory {
		it := m.cat.Item(int(r.Item))
		d.Memory = append(d.Memory, memoryView{Visit: r.Visit, Item: it.ID, Title: titleOf(it), Rating: int(r.Rating), Reason: r.Reason})
	}
	return d
}

func (m *llmPersona) slateView(slate []trajectory.Shown) []slateView {
	out := make([]slateView, len(slate))
	for k, sh := range slate {
		v := slateView{Rank: k + 1, Item: sh.Item, Title: sh.Item, Explanation: sh.Explanation}
		if idx, ok := m.cat.Index(sh.Item); ok {
			it := m.cat.Item(idx)
			v.Title = titleOf(it)
			v.Categories = strings.Join(it.Categories, ", ")
			v.Tags = strings.Join(it.Tags, ", ")
			v.Attributes = attributeText(it.Attributes)
			v.Description = shorten(strings.Join(strings.Fields(it.Description), " "), maxItemDescription)
		}
		out[k] = v
	}
	return out
}

// maxEvidenceTitles bounds the evidence titles a prompt quotes per list.
const maxEvidenceTitles = 10

// evidenceTitles are the titles of the evidence items (the first
// maxEvidenceTitles, in the order given; ids the catalog lacks are
// skipped).
func evidenceTitles(cat *catalog.Catalog, ids []string) []string {
	var out []string
	for _, id := range ids {
		if len(out) == maxEvidenceTitles {
			break
		}
		if idx, ok := cat.Index(id); ok {
			out = append(out, titleOf(cat.Item(idx)))
		}
	}
	return out
}

func titleOf(it *catalog.Item) string {
	if it.Title != "" {
		return it.Title
	}
	return it.ID
}

// attributeText renders attributes as "key: value" pairs in key order.
func attributeText(attrs map[string]any) string {
	keys := make([]string, 0, len(attrs))
	for k := range attrs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		var v string
		switch x := attrs[k].(type) {
		case float64:
			v = strconv.FormatFloat(x, 'f', -1, 64)
		case string:
			v = x
		default:
			// fmt prints maps with sorted keys, so this stays deterministic.
			v = fmt.Sprint(x)
		}
		parts = append(parts, k+": "+v)
	}
	return strings.Join(parts, ", ")
}

func shorten(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return strings.TrimRight(string(r[:n]), " ") + "…"
}

// Trait levels: below traitLow is low, above traitHigh is high, the rest is
// middling. Each level has one sentence per trait, in TraitNames order.
const (
	traitLow  = 1.0 / 3
	traitHigh = 2.0 / 3
)

var traitSentences = [5][3]string{
	{ // activity
		"You use the service little and leave quickly: you glance at the first few items and give up on it if nothing appeals.",
		"You use the service now and then: you look through the top of a list and give it a few chances.",
		"You use the service a lot and stay long: you look through most of what you are shown and give it many chances.",
	},
	{ // conformity
		"Your ratings often differ from what most people think of a title.",
		"Your ratings are sometimes close to the consensus, sometimes not.",
		"You tend to rate titles much as most people do.",
	},
	{ // curiosity
		"You stick to what you know you like.",
		"You sometimes try something new.",
		"You are curious and enjoy trying things unlike what you usually pick.",
	},
	{ // pickiness
		"You are easy to please: you pick most things that look decent and rate generously.",
		"You are moderately selective.",
		"You are picky: you only pick what clearly matches your taste, and you rate harshly.",
	},
	{ // mainstreamness
		"You ignore what is popular; hits leave you cold.",
		"Popularity sways you a little.",
		"You like what everyone else is watching; popular, well-known titles attract you.",
	},
}

func traitWords(t Traits) []string {
	out := make([]string, 0, len(TraitNames))
	for k, v := range t.ptrs() {
		level := 1
		switch {
		case *v < traitLow:
			level = 0
		case *v > traitHigh:
			level = 2
		}
		out = append(out, traitSentences[k][level])
	}
	return out
}

// interestWords puts the strongest stated interests (at most maxInterests,
// after drift) into three levels relative to the strongest one: at least
// two thirds of it is "love", at least a third "like", the rest "mildly".
// Latent interests are left out: the persona does not know it has them.
func interestWords(cat *catalog.Catalog, interests []float64) []string {
	feats := make([]int, 0, len(interests))
	for f, w := range interests {
		if w > 0 {
			feats = append(feats, f)
		}
	}
	slices.SortStableFunc(feats, func(a, b int) int {
		switch {
		case interests[a] > interests[b]:
			return -1
		case interests[a] < interests[b]:
			return 1
		}
		return a - b
	})
	feats = feats[:min(len(feats), maxInterests)]
	if len(feats) == 0 {
		return nil
	}
	top := interests[feats[0]]
	levels := [3]struct {
		label      string
		cats, tags []string
	}{{label: "you love"}, {label: "you like"}, {label: "you are mildly interested in"}}
	nCats := len(cat.Categories())
	for _, f := range feats {
		l := 2
		switch r := interests[f] / top; {
		case r >= traitHigh:
			l = 0
		case r >= traitLow:
			l = 1
		}
		if f < nCats {
			levels[l].cats = append(levels[l].cats, cat.Categories()[f])
		} else {
			levels[l].tags = append(levels[l].tags, cat.Tags()[f-nCats])
		}
	}
	var out []string
	for _, l := range levels {
		var parts []string
		if len(l.cats) > 0 {
			parts = append(parts, "categories "+strings.Join(l.cats, ", "))
		}
		if len(l.tags) > 0 {
			parts = append(parts, "tags "+strings.Join(l.tags, ", "))
		}
		if len(parts) > 0 {
			out = append(out, l.label+": "+strings.Join(parts, "; "))
		}
	}
	return out
}
