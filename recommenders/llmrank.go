package recommenders

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"text/template"

	"github.com/recloop/recloop/catalog"
	"github.com/recloop/recloop/config"
	"github.com/recloop/recloop/llm"
)

// LLMRankName is the registered name of the recommender that lets a
// language model pick and explain a slate from a base recommender's
// candidates.
const LLMRankName = "llmrank"

// LLMRankPromptVersion names the embedded llmrank templates. It changes
// whenever their wording does, so cached answers and reports can be told
// apart.
const LLMRankPromptVersion = "llmrank-v1"

// ErrNoLLM is returned by the llmrank factory when the scenario configures
// no language model.
var ErrNoLLM = errors.New("recommenders: recommender llmrank needs an llm: block in the scenario")

// HallucinationReporter is implemented by recommenders whose slates come
// from a language model, so the runner can report how often the model
// proposed items it was not offered.
type HallucinationReporter interface {
	// Hallucinations returns how many distinct proposed ids were rejected
	// because they were not candidates, and how many distinct ids the model
	// proposed in all.
	Hallucinations() (rejected, proposed int64)
}

// llmrankBases are the built-ins llmrank can draw its candidates from.
var llmrankBases = []string{"content", "itemknn", "popular", "random"}

var llmrankSpec = config.Spec{
	Name: LLMRankName,
	Summary: "A language model re-ranks and explains: the `base` built-in proposes `candidates` items, the model " +
		"sees the user's most relevant recent history and those candidates (ids, titles, categories, tags, year) " +
		"and picks k of them with a one-sentence explanation each. Ids the model invents are rejected and counted; " +
		"the slate is filled up from the base ranking. A malformed answer falls back to the base slate. " +
		"Needs the scenario's `llm:` block; see docs/llmrank.md.",
	Params: []config.Param{
		{Name: "base", Kind: config.String, Default: "content", Enum: llmrankBases,
			Doc: "The built-in (with its default parameters) that proposes the candidates and fills the slate."},
		{Name: "candidates", Kind: config.Int, Default: 30, Min: ptr(1.0), Max: ptr(200.0),
			Doc: "How many candidates the base proposes (at least k are always asked for)."},
		{Name: "history", Kind: config.Int, Default: 15, Min: ptr(1.0), Max: ptr(100.0),
			Doc: "How many of the user's most relevant recent interactions the prompt shows; 10–20 works well."},
		{Name: "prompt", Kind: config.String, Default: "",
			Doc: "Template file (relative to the scenario) redefining `llmrank.system` and/or `llmrank.user`; empty keeps the embedded llmrank-v1."},
		{Name: "max_tokens", Kind: config.Int, Default: 800, Min: ptr(1.0),
			Doc: "Most tokens one answer may use."},
	},
}

func init() {
	Register(llmrankSpec, newLLMRank)
}

//go:embed prompts/llmrank-v1.tmpl
var llmrankPromptFS embed.FS

const (
	tmplLLMRankSystem = "llmrank.system"
	tmplLLMRankUser   = "llmrank.user"
)

// llmrankSchema is the strict structured-output schema of the answer.
var llmrankSchema = &llm.Schema{
	Name: "llmrank_slate",
	JSON: json.RawMessage(`{"type":"object","properties":{"items":{"type":"array","items":{"type":"object",` +
		`"properties":{"item_id":{"type":"string"},"explanation":{"type":"string"}},` +
		`"required":["item_id","explanation"],"additionalProperties":false}}},` +
		`"required":["items"],"additionalProperties":false}`),
}

// LLMRank is the llmrank recommender. Recommend is safe for concurrent use.
type LLMRank struct {
	cat        *catalog.Catalog
	client     llm.Client
	base       Recommender
	candidates int
	history    int
	maxTokens  int
	tmpl       *template.Template
	version    string
	log        *slog.Logger

	rejected  atomic.Int64
	proposed  atomic.Int64
	fallbacks atomic.Int64
}

var _ HallucinationReporter = (*LLMRank)(nil)

// newLLMRank builds llmrank and, under ctx, its base.
func newLLMRank(ctx context.Context, env Env, p config.Params) (Recommender, error) {
	if env.Catalog == nil {
		return nil, ErrNoCatalog
	}
	if env.LLM == nil {
		return nil, ErrNoLLM
	}
	r := p.Reader(LLMRankName)
	name, prompt := r.String("base"), r.String("prompt")
	candidates, history, maxTokens := r.Int("candidates"), r.Int("history"), r.Int("max_tokens")
	if err := r.Err(); err != nil {
		return nil, err
	}
	spec, ok := Lookup(name)
	if !ok || !slices.Contains(llmrankBases, name) {
		return nil, fmt.Errorf("%w: llmrank cannot draw candidates from %q", ErrUnknown, name)
	}
	base, err := New(ctx, name, env, spec.Defaults())
	if err != nil {
		return nil, fmt.Errorf("recommenders: llmrank: building base %q: %w", name, err)
	}
	tmpl, version, err := loadLLMRankPrompts(env.Dir, prompt)
	if err != nil {
		return nil, err
	}
	return &LLMRank{
		cat:        env.Catalog,
		client:     env.LLM,
		base:       base,
		candidates: candidates,
		history:    history,
		maxTokens:  maxTokens,
		tmpl:       tmpl,
		version:    version,
		log:        env.Log(),
	}, nil
}

// loadLLMRankPrompts parses the embedded templates and then, when override
// names a file, that file on top, so it may redefine either template.
func loadLLMRankPrompts(dir, override string) (*template.Template, string, error) {
	p, err := llm.LoadPrompts(llmrankPromptFS, LLMRankPromptVersion, dir, override, nil, "prompts/llmrank-v1.tmpl")
	if err != nil {
		return nil, "", fmt.Errorf("recommenders: llmrank: %w", err)
	}
	return p.Template, p.Version, nil
}

// PromptVersion names the templates in use: LLMRankPromptVersion, plus the
// override file's name and content hash when there is one.
func (r *LLMRank) PromptVersion() string { return r.version }

// Hallucinations returns the distinct ids the model proposed that were not
// among the candidates, and all distinct ids it proposed, over every call.
func (r *LLMRank) Hallucinations() (rejected, proposed int64) {
	return r.rejected.Load(), r.proposed.Load()
}

// Fallbacks is how many slates were the base's own because the model's
// answer was unusable.
func (r *LLMRank) Fallbacks() int64 { return r.fallbacks.Load() }

// Recommend asks the base for candidates, lets the model pick and explain
// k of them, and fills up from the base ranking what the model left out.
func (r *LLMRank) Recommend(ctx context.Context, req Request) (Slate, error) {
	if err := ctx.Err(); err != nil {
		return Slate{}, err
	}
	if req.K <= 0 {
		return Slate{}, nil
	}
	baseReq := req
	baseReq.K = max(r.candidates, req.K)
	cands, err := r.base.Recommend(ctx, baseReq)
	if err != nil {
		return Slate{}, fmt.Errorf("recommenders: llmrank: base: %w", err)
	}
	if len(cands.Items) == 0 {
		return Slate{}, nil
	}
	llmReq, err := r.request(req, cands.Items)
	if err != nil {
		return Slate{}, err
	}
	resp, err := r.client.Complete(ctx, llmReq)
	if err == nil {
		var picks []llmPick
		if picks, err = parseLLMRankAnswer(resp.Content); err == nil {
			return r.merge(req.K, cands.Items, picks), nil
		}
	}
	if ctx.Err() != nil || fatalLLMError(err) {
		return Slate{}, fmt.Errorf("recommenders: llmrank: user %q round %d: %w", req.User, req.Round, err)
	}
	r.fallbacks.Add(1)
	r.log.Debug("recommenders: llmrank: falling back to the base slate", "user", req.User, "round", req.Round, "err", err)
	return Slate{Items: cands.Items[:min(req.K, len(cands.Items))]}, nil
}

// fatalLLMError reports errors that retrying a later call cannot fix, so
// the run must stop rather than quietly serve base slates.
func fatalLLMError(err error) bool {
	return llm.Fatal(err)
}

// merge builds the slate: the model's valid picks in its order, then the
// best remaining candidates of the base ranking, up to min(k, candidates).
func (r *LLMRank) merge(k int, cands []Scored, picks []llmPick) Slate {
	n := min(k, len(cands))
	used := make([]bool, len(cands))
	items := make([]Scored, 0, n)
	var rejected, proposed int64
	seen := make(map[string]bool, len(picks))
	for _, p := range picks {
		if seen[p.ItemID] {
			continue
		}
		seen[p.ItemID] = true
		proposed++
		c := slices.IndexFunc(cands, func(s Scored) bool { return s.Item == p.ItemID })
		if c < 0 {
			rejected++
			continue
		}
		if len(items) == n {
			continue
		}
		used[c] = true
		why := p.Explanation
		if why == "" {
			why = cands[c].Explanation
		}
		items = append(items, Scored{Item: p.ItemID, Explanation: why})
	}
	for c := 0; len(items) < n; c++ {
		if !used[c] {
			items = append(items, Scored{Item: cands[c].Item, Explanation: cands[c].Explanation})
		}
	}
	for i := range items {
		items[i].Score = float64(k - i)
	}
	r.rejected.Add(rejected)
	r.proposed.Add(proposed)
	return Slate{Items: items}
}

// llmPick is one entry of the model's answer.
type llmPick struct {
	ItemID      string `json:"item_id"`
	Explanation string `json:"explanation"`
}

// parseLLMRankAnswer decodes the answer; ids and explanations come back
// trimmed. Any decoding problem wraps llm.ErrMalformed.
func parseLLMRankAnswer(content string) ([]llmPick, error) {
	var answer struct {
		Items []llmPick `json:"items"`
	}
	if err := json.Unmarshal([]byte(content), &answer); err != nil {
		return nil, fmt.Errorf("%w: %w", llm.ErrMalformed, err)
	}
	if answer.Items == nil {
		return nil, fmt.Errorf("%w: no items", llm.ErrMalformed)
	}
	for i := range answer.Items {
		p := &answer.Items[i]
		p.ItemID = strings.TrimSpace(p.ItemID)
		p.Explanation = strings.Join(strings.Fields(p.Explanation), " ")
	}
	return answer.Items, nil
}

// request renders the prompt for one user and the base's candidates.
func (r *LLMRank) request(req Request, cands []Scored) (llm.Request, error) {
	data := r.promptData(req, cands)
	var sys, usr bytes.Buffer
	if err := r.tmpl.ExecuteTemplate(&sys, tmplLLMRankSystem, data); err != nil {
		return llm.Request{}, fmt.Errorf("recommenders: llmrank prompt %s (%s): %w", tmplLLMRankSystem, r.version, err)
	}
	if err := r.tmpl.ExecuteTemplate(&usr, tmplLLMRankUser, data); err != nil {
		return llm.Request{}, fmt.Errorf("recommenders: llmrank prompt %s (%s): %w", tmplLLMRankUser, r.version, err)
	}
	return llm.Request{
		Role:      llm.RoleRecommender,
		Subject:   req.User,
		Messages:  []llm.Message{{Role: "system", Content: sys.String()}, {Role: "user", Content: usr.String()}},
		Schema:    llmrankSchema,
		MaxTokens: r.maxTokens,
	}, nil
}

// llmrankPrompt is everything the templates can use. Numbers are formatted
// here, once, so that equal requests give byte-identical prompts.
type llmrankPrompt struct {
	K          int
	History    []llmrankHistory
	Candidates []llmrankCandidate
}

type llmrankHistory struct {
	Item   string
	Title  string
	Rating string
}

type llmrankCandidate struct {
	Item       string
	Title      string
	Categories string
	Tags       string
	Year       string
}

func (r *LLMRank) promptData(req Request, cands []Scored) *llmrankPrompt {
	d := &llmrankPrompt{K: min(req.K, len(cands))}
	for _, h := range selectHistory(req.History, r.history) {
		v := llmrankHistory{Item: h.Item, Title: h.Item}
		if i, ok := r.cat.Index(h.Item); ok {
			v.Title = itemTitle(r.cat.Item(i))
		}
		if h.Rating > 0 {
			v.Rating = strconv.FormatFloat(h.Rating, 'f', -1, 64)
		}
		d.History = append(d.History, v)
	}
	d.Candidates = make([]llmrankCandidate, len(cands))
	for k, c := range cands {
		v := llmrankCandidate{Item: c.Item, Title: c.Item}
		if i, ok := r.cat.Index(c.Item); ok {
			it := r.cat.Item(i)
			v.Title = itemTitle(it)
			v.Categories = strings.Join(it.Categories, ", ")
			v.Tags = strings.Join(it.Tags, ", ")
			v.Year = yearOf(it)
		}
		d.Candidates[k] = v
	}
	return d
}

// selectHistory keeps the n most relevant of the user's recent
// interactions, most recent first. Only the latest 3n interactions are
// considered; among them rated ones come first (a rating says more about
// taste than a bare consumption), then the most recent.
func selectHistory(history []HistoryItem, n int) []HistoryItem {
	window := history[max(0, len(history)-3*n):]
	recent := make([]int, 0, len(window))
	for i := len(window) - 1; i >= 0; i-- {
		recent = append(recent, i)
	}
	// A stable sort keeps recency as the order within rated and unrated.
	slices.SortStableFunc(recent, func(a, b int) int {
		return boolRank(window[b].Rating > 0) - boolRank(window[a].Rating > 0)
	})
	keep := recent[:min(n, len(recent))]
	slices.SortFunc(keep, func(a, b int) int { return b - a })
	out := make([]HistoryItem, len(keep))
	for k, i := range keep {
		out[k] = window[i]
	}
	return out
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

func itemTitle(it *catalog.Item) string {
	if it.Title != "" {
		return it.Title
	}
	return it.ID
}

func yearOf(it *catalog.Item) string {
	switch y := it.Attributes["year"].(type) {
	case nil:
		return ""
	case float64:
		return strconv.FormatFloat(y, 'f', -1, 64)
	case string:
		return y
	default:
		return fmt.Sprint(y)
	}
}

// Observe forwards the feedback to the base, which keeps all the learning.
func (r *LLMRank) Observe(ctx context.Context, feedback []Feedback) error {
	return r.base.Observe(ctx, feedback)
}

// Reset forgets what the base learned; the hallucination and fallback
// counters describe the whole run and are kept.
func (r *LLMRank) Reset(ctx context.Context) error {
	if b, ok := r.base.(Resetter); ok {
		return b.Reset(ctx)
	}
	return nil
}
