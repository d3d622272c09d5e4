package recommenders

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"text/template"

	"github.com/recloop/recloop/catalog"
	"github.com/recloop/recloop/config"
	"github.com/recloop/recloop/llm"
)

// LLMChatName is the registered name of the conversational recommender
// played by a language model over retrieved candidates.
const LLMChatName = "llmchat"

// LLMChatPromptVersion names the embedded llmchat templates. It changes
// whenever their wording does, so cached answers and reports can be told
// apart.
const LLMChatPromptVersion = "llmchat-v1"

// ErrLLMChatNoLLM is returned by the llmchat factory when the scenario
// configures no language model.
var ErrLLMChatNoLLM = errors.New("recommenders: recommender llmchat needs an llm: block in the scenario")

var llmchatSpec = config.Spec{
	Name: LLMChatName,
	Summary: "A conversational recommender played by a language model. Each turn, a retrieval stage reads the user's " +
		"messages for catalog genres, tags and years (\"a comedy from the 1990s, no horror\"), scores the released items " +
		"the conversation has not proposed yet by how much of it they match (exclusions are hard), breaks ties by " +
		"popularity boosted by what users accepted before, and keeps the best `candidates`; the model sees the dialogue " +
		"and those candidates (ids, titles, categories, tags, year) and replies with a message and up to k of them, " +
		"each explained, or asks a question. Ids the model invents are dropped and counted; a malformed answer falls back " +
		"to the best candidates. In slate scenarios it ranks by retrieval from the user's history alone, without calling " +
		"the model. Needs the scenario's `llm:` block; see docs/llmchat.md.",
	Params: []config.Param{
		{Name: "candidates", Kind: config.Int, Default: 30, Min: ptr(1.0), Max: ptr(200.0),
			Doc: "How many retrieved candidates the model chooses from."},
		{Name: "max_items", Kind: config.Int, Default: 0, Min: ptr(0.0),
			Doc: "Most items one reply proposes; 0 means the scenario's slate size k (never more than k)."},
		{Name: "learn_weight", Kind: config.Float, Default: 1.0, Min: ptr(0.0),
			Doc: "How much an item users accepted before is boosted among equal matches, as for clarify."},
		{Name: "prompt", Kind: config.String, Default: "",
			Doc: "Template file (relative to the scenario) redefining `llmchat.system` and/or `llmchat.user`; empty keeps the embedded llmchat-v1."},
		{Name: "max_tokens", Kind: config.Int, Default: 800, Min: ptr(1.0),
			Doc: "Most tokens one answer may use."},
	},
}

func init() {
	Register(llmchatSpec, newLLMChat)
}

//go:embed prompts/llmchat-v1.tmpl
var llmchatPromptFS embed.FS

const (
	tmplLLMChatSystem = "llmchat.system"
	tmplLLMChatUser   = "llmchat.user"
)

// llmchatSchema is the strict structured-output schema of the answer.
var llmchatSchema = &llm.Schema{
	Name: "llmchat_reply",
	JSON: json.RawMessage(`{"type":"object","properties":{"message":{"type":"string"},` +
		`"items":{"type":"array","items":{"type":"object",` +
		`"properties":{"id":{"type":"string"},"explanation":{"type":"string"}},` +
		`"required":["id","explanation"],"additionalProperties":false}}},` +
		`"required":["message","items"],"additionalProperties":false}`),
}

// LLMChat is the llmchat recommender. Recommend and Respond are safe for
// concurrent use; Observe and Reset are never called concurrently with
// them.
type LLMChat struct {
	cat        *catalog.Catalog
	client     llm.Client
	vocab      chatVocabulary
	candidates int
	maxItems   int
	maxTokens  int
	tmpl       *template.Template
	version    string
	log        *slog.Logger
	learned    acceptances

	rejected  atomic.Int64
	proposed  atomic.Int64
	fallbacks atomic.Int64
}

var (
	_ Conversational        = (*LLMChat)(nil)
	_ HallucinationReporter = (*LLMChat)(nil)
	_ Resetter              = (*LLMChat)(nil)
)

func newLLMChat(_ context.Context, env Env, p config.Params) (Recommender, error) {
	if env.Catalog == nil {
		return nil, ErrNoCatalog
	}
	if env.LLM == nil {
		return nil, ErrLLMChatNoLLM
	}
	r := p.Reader(LLMChatName)
	c := &LLMChat{
		cat:        env.Catalog,
		client:     env.LLM,
		vocab:      newChatVocabulary(env.Catalog),
		candidates: r.Int("candidates"),
		maxItems:   r.Int("max_items"),
		maxTokens:  r.Int("max_tokens"),
		log:        env.Log(),
		learned:    newAcceptances(env.Catalog),
	}
	c.learned.weight = r.Float("learn_weight")
	prompt := r.String("prompt")
	if err := r.Err(); err != nil {
		return nil, err
	}
	tp, err := llm.LoadPrompts(llmchatPromptFS, LLMChatPromptVersion, env.Dir, prompt, nil, "prompts/llmchat-v1.tmpl")
	if err != nil {
		return nil, fmt.Errorf("recommenders: llmchat: %w", err)
	}
	c.tmpl, c.version = tp.Template, tp.Version
	return c, nil
}

// PromptVersion names the templates in use: LLMChatPromptVersion, plus the
// override file's name and content hash when there is one.
func (r *LLMChat) PromptVersion() string { return r.version }

// Hallucinations returns the distinct ids per reply the model proposed
// that were not among the candidates, and all distinct ids it proposed,
// over every call.
func (r *LLMChat) Hallucinations() (rejected, proposed int64) {
	return r.rejected.Load(), r.proposed.Load()
}

// Fallbacks is how many replies were the retrieval's own because the
// model's answer was unusable.
func (r *LLMChat) Fallbacks() int64 { return r.fallbacks.Load() }

// Observe counts what users clicked or accepted; among equally good
// matches, those come first.
func (r *LLMChat) Observe(_ context.Context, feedback []Feedback) error {
	r.learned.observe(feedback)
	return nil
}

// Reset forgets what users accepted; the counters describe the whole run
// and are kept.
func (r *LLMChat) Reset(context.Context) error {
	r.learned.reset()
	return nil
}

// Recommend serves slate scenarios by retrieval alone, without calling
// the model (a slate has no conversation to reply to): unconsumed
// released items ranked by how often their categories and tags occur in
// the user's history, ties by prior.
func (r *LLMChat) Recommend(ctx context.Context, req Request) (Slate, error) {
	if err := ctx.Err(); err != nil {
		return Slate{}, err
	}
	excluded := consumedItems(r.cat, req.History)
	profile := map[string]float64{}
	for _, h := range req.History {
		if i, ok := r.cat.Index(h.Item); ok {
			eachFeature(r.cat.Item(i), func(f string) { profile[f]++ })
		}
	}
	match := func(it *catalog.Item) float64 {
		s := 0.0
		eachFeature(it, func(f string) { s += profile[f] })
		return s
	}
	top := r.retrieve(req.Round, req.K, excluded, match)
	slate := Slate{Items: make([]Scored, len(top))}
	for k, c := range top {
		slate.Items[k] = Scored{Item: r.cat.Item(c.i).ID, Score: c.match, Explanation: explainFacts(r.cat.Item(c.i))}
	}
	return slate, nil
}

// eachFeature calls f with each of the item's categories and tags.
func eachFeature(it *catalog.Item, f func(string)) {
	for _, c := range it.Categories {
		f(c)
	}
	for _, t := range it.Tags {
		f(t)
	}
}

func consumedItems(cat *catalog.Catalog, history []HistoryItem) map[int]bool {
	out := map[int]bool{}
	for _, h := range history {
		if i, ok := cat.Index(h.Item); ok {
			out[i] = true
		}
	}
	return out
}

// retrieved is one candidate and how well it matches.
type retrieved struct {
	i     int
	match float64
	prior float64
}

// retrieve returns the n best released items that are not excluded and
// whose match is not negative (a negative match rules an item out): by
// match, then prior, then catalog order.
func (r *LLMChat) retrieve(round, n int, excluded map[int]bool, match func(*catalog.Item) float64) []retrieved {
	var all []retrieved
	for i := range r.cat.Len() {
		it := r.cat.Item(i)
		if excluded[i] || it.ReleaseRound > round {
			continue
		}
		if m := match(it); m >= 0 {
			all = append(all, retrieved{i: i, match: m, prior: r.learned.prior(i)})
		}
	}
	slices.SortFunc(all, func(a, b retrieved) int {
		switch {
		case a.match != b.match:
			return cmpDesc(a.match, b.match)
		case a.prior != b.prior:
			return cmpDesc(a.prior, b.prior)
		}
		return a.i - b.i
	})
	return all[:min(n, len(all))]
}

func cmpDesc(a, b float64) int {
	if a > b {
		return -1
	}
	return 1
}

// yearFrom is "from 1990" with no end year, which clarify's reading (a
// range, a decade, after, before) leaves open.
var yearFrom = regexp.MustCompile(`\bfrom\s+(\d{4})\b(\s+(?:to|and|-)\s+\d{4})?`)

// conversationMatch reads the user's messages and scores an item by how
// much of them it matches: one point per wanted genre or tag it has, one
// when it falls in the stated years, half a point per liked genre or tag.
// An item with an excluded genre or tag scores -1 (ruled out). usable
// reports whether the user said anything to score by.
func (r *LLMChat) conversationMatch(msgs []ChatMessage) (match func(*catalog.Item) float64, usable bool) {
	s := r.vocab.read(msgs)
	for _, m := range msgs {
		if m.Role != SpeakerUser {
			continue
		}
		for _, clause := range strings.FieldsFunc(strings.ToLower(m.Content), func(r rune) bool { return strings.ContainsRune(".,;:!?", r) }) {
			if f := yearFrom.FindStringSubmatch(clause); f != nil && f[2] == "" {
				s.yearMin, _ = strconv.ParseFloat(f[1], 64)
			}
		}
	}
	years := !math.IsInf(s.yearMin, -1) || !math.IsInf(s.yearMax, 1)
	usable = years || len(s.categories)+len(s.tags)+len(s.notCategories)+len(s.notTags)+len(s.likes) > 0
	return func(it *catalog.Item) float64 {
		has := func(f string) bool { return slices.Contains(it.Categories, f) || slices.Contains(it.Tags, f) }
		if slices.ContainsFunc(s.notCategories, has) || slices.ContainsFunc(s.notTags, has) {
			return -1
		}
		m := 0.0
		for _, f := range append(slices.Clone(s.categories), s.tags...) {
			if has(f) {
				m++
			}
		}
		for _, f := range s.likes {
			if has(f) {
				m += 0.5
			}
		}
		if y, ok := catalog.AttributeNumber(it.Attributes["year"]); ok && years && y >= s.yearMin && y <= s.yearMax {
			m++
		}
		return m
	}, usable
}

// Respond retrieves candidates from the conversation, lets the model reply
// with some of them (or a question), and drops the ids it invents. A
// malformed answer falls back to the best candidates; errors retrying
// cannot fix (budget, authentication, a replay miss) are returned.
func (r *LLMChat) Respond(ctx context.Context, req ChatRequest) (ChatReply, error) {
	if err := ctx.Err(); err != nil {
		return ChatReply{}, err
	}
	excluded := consumedItems(r.cat, req.History)
	for _, m := range req.Messages {
		for _, it := range m.Items {
			if i, ok := r.cat.Index(it.Item); ok {
				excluded[i] = true
			}
		}
	}
	match, usable := r.conversationMatch(req.Messages)
	cands := r.retrieve(req.Round, max(r.candidates, req.K), excluded, match)
	k := req.K
	if r.maxItems > 0 {
		k = min(k, r.maxItems)
	}
	k = min(k, len(cands))
	if k <= 0 {
		return ChatReply{Message: "I have nothing left to suggest that fits."}, nil
	}
	llmReq, err := r.request(req, k, cands, usable)
	if err != nil {
		return ChatReply{}, err
	}
	resp, err := r.client.Complete(ctx, llmReq)
	if err == nil {
		var a llmchatAnswer
		if a, err = parseLLMChatAnswer(resp.Content); err == nil {
			return r.reply(k, cands, a), nil
		}
	}
	if ctx.Err() != nil || fatalLLMError(err) {
		return ChatReply{}, fmt.Errorf("recommenders: llmchat: conversation %q turn %d: %w", req.Conversation, req.Turn, err)
	}
	r.fallbacks.Add(1)
	r.log.Debug("recommenders: llmchat: falling back to the retrieved candidates", "conversation", req.Conversation, "turn", req.Turn, "err", err)
	reply := ChatReply{Message: "Here are some picks for you."}
	for j, c := range cands[:k] {
		reply.Items = append(reply.Items, Scored{Item: r.cat.Item(c.i).ID, Score: float64(k - j), Explanation: explainFacts(r.cat.Item(c.i))})
	}
	return reply, nil
}

// reply keeps the model's message and its first k valid picks, each once.
// Ids that are not candidates are dropped and counted.
func (r *LLMChat) reply(k int, cands []retrieved, a llmchatAnswer) ChatReply {
	out := ChatReply{Message: a.Message}
	var rejected, proposed int64
	seen := map[string]bool{}
	for _, p := range a.Items {
		if seen[p.ID] {
			continue
		}
		seen[p.ID] = true
		proposed++
		c := slices.IndexFunc(cands, func(c retrieved) bool { return r.cat.Item(c.i).ID == p.ID })
		if c < 0 {
			rejected++
			continue
		}
		if len(out.Items) == k {
			continue
		}
		why := p.Explanation
		if why == "" {
			why = explainFacts(r.cat.Item(cands[c].i))
		}
		out.Items = append(out.Items, Scored{Item: p.ID, Explanation: why})
	}
	for j := range out.Items {
		out.Items[j].Score = float64(k - j)
	}
	r.rejected.Add(rejected)
	r.proposed.Add(proposed)
	return out
}

type llmchatAnswer struct {
	Message string `json:"message"`
	Items   []struct {
		ID          string `json:"id"`
		Explanation string `json:"explanation"`
	} `json:"items"`
}

// parseLLMChatAnswer decodes the answer; ids and explanations come back
// trimmed. Any decoding problem wraps llm.ErrMalformed.
func parseLLMChatAnswer(content string) (llmchatAnswer, error) {
	var a llmchatAnswer
	if err := json.Unmarshal([]byte(content), &a); err != nil {
		return llmchatAnswer{}, fmt.Errorf("%w: %w", llm.ErrMalformed, err)
	}
	a.Message = strings.Join(strings.Fields(a.Message), " ")
	if a.Message == "" && len(a.Items) == 0 {
		return llmchatAnswer{}, fmt.Errorf("%w: neither a message nor items", llm.ErrMalformed)
	}
	for i := range a.Items {
		a.Items[i].ID = strings.TrimSpace(a.Items[i].ID)
		a.Items[i].Explanation = strings.Join(strings.Fields(a.Items[i].Explanation), " ")
	}
	return a, nil
}

// request renders the prompt for one turn. It depends on nothing but the
// dialogue and the candidates, so a replay asks the cache the same
// question.
func (r *LLMChat) request(req ChatRequest, k int, cands []retrieved, usable bool) (llm.Request, error) {
	data := r.promptData(req, k, cands, usable)
	var sys, usr bytes.Buffer
	if err := r.tmpl.ExecuteTemplate(&sys, tmplLLMChatSystem, data); err != nil {
		return llm.Request{}, fmt.Errorf("recommenders: llmchat prompt %s (%s): %w", tmplLLMChatSystem, r.version, err)
	}
	if err := r.tmpl.ExecuteTemplate(&usr, tmplLLMChatUser, data); err != nil {
		return llm.Request{}, fmt.Errorf("recommenders: llmchat prompt %s (%s): %w", tmplLLMChatUser, r.version, err)
	}
	return llm.Request{
		Role:      llm.RoleRecommender,
		Subject:   req.User,
		Messages:  []llm.Message{{Role: "system", Content: sys.String()}, {Role: "user", Content: usr.String()}},
		Schema:    llmchatSchema,
		MaxTokens: r.maxTokens,
	}, nil
}

// llmchatPrompt is everything the templates can use.
type llmchatPrompt struct {
	K          int
	Usable     bool
	Messages   []llmchatMessage
	Candidates []llmrankCandidate
}

type llmchatMessage struct {
	User  bool
	Text  string
	Items []llmchatProposed
}

type llmchatProposed struct {
	ID    string
	Title string
}

func (r *LLMChat) promptData(req ChatRequest, k int, cands []retrieved, usable bool) *llmchatPrompt {
	d := &llmchatPrompt{K: k, Usable: usable}
	for _, m := range req.Messages {
		v := llmchatMessage{User: m.Role == SpeakerUser, Text: strings.Join(strings.Fields(m.Content), " ")}
		for _, it := range m.Items {
			p := llmchatProposed{ID: it.Item, Title: it.Item}
			if i, ok := r.cat.Index(it.Item); ok {
				p.Title = itemTitle(r.cat.Item(i))
			}
			v.Items = append(v.Items, p)
		}
		d.Messages = append(d.Messages, v)
	}
	d.Candidates = make([]llmrankCandidate, len(cands))
	for j, c := range cands {
		it := r.cat.Item(c.i)
		d.Candidates[j] = llmrankCandidate{Item: it.ID, Title: itemTitle(it), Categories: strings.Join(it.Categories, ", "),
			Tags: strings.Join(it.Tags, ", "), Year: yearOf(it)}
	}
	return d
}

// EstimateReply is a representative request for a dry run: the reply to
// a dialogue at its longest (maxTurns replies of k items each), with a full
// candidate list, so that its cost bounds every reply's.
func (r *LLMChat) EstimateReply(maxTurns, k int) (llm.Request, error) {
	req := ChatRequest{Conversation: "estimate", K: k}
	excluded := make(map[int]bool)
	next := 0
	for range maxTurns {
		req.Messages = append(req.Messages, ChatMessage{Role: SpeakerUser, Content: "Not quite what I'm after: something else, please."})
		msg := ChatMessage{Role: SpeakerRecommender, Content: "Here are some picks for you."}
		for ; len(msg.Items) < k && next < r.cat.Len(); next++ {
			it := r.cat.Item(next)
			msg.Items = append(msg.Items, Scored{Item: it.ID, Explanation: explainFacts(it)})
		}
		req.Messages = append(req.Messages, msg)
	}
	req.Messages = append(req.Messages, ChatMessage{Role: SpeakerUser, Content: "Still not it."})
	cands := r.retrieve(0, max(r.candidates, k), excluded, func(*catalog.Item) float64 { return 0 })
	return r.request(req, min(k, len(cands)), cands, true)
}
