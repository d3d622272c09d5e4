package judges

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"text/template"

	"github.com/recloop/recloop/config"
	"github.com/recloop/recloop/llm"
)

// Prompt versions: part of every prompt, so a changed prompt never reuses
// cached answers to the old one.
const (
	PromptVersion         = "judge-v1"
	PairwisePromptVersion = "pairwise-v1"
)

// Aggregations of an LLM judge's samples.
const (
	AggregateMean     = "mean"
	AggregateMajority = "majority"
)

// Pairwise winners.
const (
	WinnerA   = "a"
	WinnerB   = "b"
	WinnerTie = "tie"
)

// MaxPromptHistory is how many of the latest history items a prompt shows.
const MaxPromptHistory = 20

// ErrNoLLM: an LLM judge was configured without an llm section.
var ErrNoLLM = errors.New("judges: the llm judge needs an llm provider (add an llm section to the scenario)")

//go:embed prompts/*.tmpl
var promptFS embed.FS

var llmSpec = config.Spec{
	Name: "llm",
	Summary: "Grades each explanation against the rubric with a language model (prompt " + PromptVersion +
		"): the model sees the persona summary, the last 20 history items, the item's metadata and the " +
		"explanation, and answers {reason, scores} in a strict JSON schema built from the rubric. Scores are " +
		"rounded and clamped to 1–5. `samples` distinct calls (replicates 0..n-1, seed+replicate) are " +
		"aggregated per dimension. Set `temperature: 0` in the llm section for judges. Also compares two " +
		"variants' explanations blind, in both orders, flagging position bias.",
	Params: []config.Param{
		{Name: "samples", Kind: config.Int, Default: 1, Min: config.AtLeast(1), Max: config.AtMost(20),
			Doc: "How many times each explanation is graded (distinct cached calls)."},
		{Name: "aggregate", Kind: config.String, Default: AggregateMean, Enum: []string{AggregateMean, AggregateMajority},
			Doc: "How samples combine per dimension: the mean, or the most frequent score (ties → the lower)."},
		{Name: "max_tokens", Kind: config.Int, Default: 400, Min: config.AtLeast(1),
			Doc: "Completion token limit of each judge call."},
		{Name: "prompt", Kind: config.String, Default: "",
			Doc: "A template file replacing the built-in " + PromptVersion + " prompt (relative to the scenario); " +
				"it defines the templates \"system\" and \"user\" and may redefine \"context\"."},
	},
}

func init() {
	Register(llmSpec, func(env Env, p config.Params) (Judge, error) {
		if env.LLM == nil {
			return nil, ErrNoLLM
		}
		r := p.Reader(llmSpec.Name)
		opts := LLMOptions{Samples: r.Int("samples"), Aggregate: r.String("aggregate"), MaxTokens: r.Int("max_tokens")}
		path := r.String("prompt")
		if err := r.Err(); err != nil {
			return nil, err
		}
		if path != "" {
			if !filepath.IsAbs(path) {
				path = filepath.Join(env.Dir, path)
			}
			text, err := config.ReadFile(path, config.MaxYAMLBytes)
			if err != nil {
				return nil, fmt.Errorf("judges: llm prompt: %w", err)
			}
			opts.Template = string(text)
		}
		return NewLLMJudge(env.LLM, env.Rubric, opts)
	})
}

// LLMOptions tune an LLMJudge; zero values take the defaults.
type LLMOptions struct {
	// Samples is how many calls grade each case (default 1).
	Samples int
	// Aggregate is AggregateMean (default) or AggregateMajority.
	Aggregate string
	// MaxTokens limits each completion (default 400).
	MaxTokens int
	// Template replaces the built-in judge prompt: template text defining
	// "system" and "user" (and optionally "context").
	Template string
}

// LLMJudge grades explanations with a language model.
type LLMJudge struct {
	client     llm.Client
	rubric     Rubric
	dims       []string
	opts       LLMOptions
	prompt     *template.Template
	pairPrompt *template.Template
	schema     *llm.Schema
	pairSchema *llm.Schema
}

var (
	_ Judge    = (*LLMJudge)(nil)
	_ Pairwise = (*LLMJudge)(nil)
)

// NewLLMJudge builds a judge for rubric (the default dimensions when it has
// none).
func NewLLMJudge(client llm.Client, rubric Rubric, opts LLMOptions) (*LLMJudge, error) {
	if client == nil {
		return nil, ErrNoLLM
	}
	if len(rubric.Dimensions) == 0 {
		rubric = DefaultRubric()
	}
	if opts.Samples == 0 {
		opts.Samples = 1
	}
	if opts.Samples < 0 {
		return nil, fmt.Errorf("judges: llm samples %d, want ≥ 1", opts.Samples)
	}
	switch opts.Aggregate {
	case "":
		opts.Aggregate = AggregateMean
	case AggregateMean, AggregateMajority:
	default:
		return nil, fmt.Errorf("judges: llm aggregate %q, want %s or %s", opts.Aggregate, AggregateMean, AggregateMajority)
	}
	if opts.MaxTokens <= 0 {
		opts.MaxTokens = 400
	}
	j := &LLMJudge{client: client, rubric: rubric, opts: opts}
	seen := make(map[string]bool, len(rubric.Dimensions))
	for _, d := range rubric.Dimensions {
		if d.Name == "" || seen[d.Name] {
			return nil, fmt.Errorf("judges: rubric %q: dimension names must be unique and non-empty (got %q)", rubric.Name, d.Name)
		}
		seen[d.Name] = true
		j.dims = append(j.dims, d.Name)
	}
	var err error
	if j.prompt, err = parsePrompt("judge-v1.tmpl", opts.Template); err != nil {
		return nil, err
	}
	if j.pairPrompt, err = parsePrompt("pairwise-v1.tmpl", ""); err != nil {
		return nil, err
	}
	if j.schema, err = scoreSchema(j.dims); err != nil {
		return nil, err
	}
	if j.pairSchema, err = pairSchema(); err != nil {
		return nil, err
	}
	return j, nil
}

func parsePrompt(name, override string) (*template.Template, error) {
	t := template.New(name).Funcs(template.FuncMap{"join": func(s []string) string { return strings.Join(s, ", ") }})
	t, err := t.ParseFS(promptFS, "prompts/context-v1.tmpl", "prompts/"+name)
	if err != nil {
		return nil, fmt.Errorf("judges: prompt %s: %w", name, err)
	}
	if override != "" {
		if t, err = t.New("override").Parse(override); err != nil {
			return nil, fmt.Errorf("judges: llm prompt override: %w", err)
		}
	}
	for _, part := range []string{"system", "user"} {
		if t.Lookup(part) == nil {
			return nil, fmt.Errorf("judges: prompt %s defines no %q template", name, part)
		}
	}
	return t, nil
}

// Judge grades c: Samples calls, aggregated per dimension.
func (j *LLMJudge) Judge(ctx context.Context, c Case) (Verdict, error) {
	data := j.promptData(c)
	data.Explanation = c.Explanation
	msgs, err := render(j.prompt, data)
	if err != nil {
		return Verdict{}, err
	}
	v := Verdict{Judge: llmSpec.Name, Samples: j.opts.Samples}
	samples := make([]map[string]float64, 0, j.opts.Samples)
	for i := range j.opts.Samples {
		resp, err := j.client.Complete(ctx, llm.Request{
			Role: llm.RoleJudge, Subject: c.Persona, Messages: msgs, Schema: j.schema,
			Replicate: i, MaxTokens: j.opts.MaxTokens,
		})
		if err != nil {
			return Verdict{}, fmt.Errorf("judges: llm judge, %s item %s sample %d: %w", c.Persona, itemID(c), i, err)
		}
		reason, scores, err := ParseScores([]byte(resp.Content), j.dims)
		if err != nil {
			return Verdict{}, fmt.Errorf("judges: llm judge, %s item %s sample %d: %w", c.Persona, itemID(c), i, err)
		}
		if i == 0 {
			v.Reason, v.Model = reason, resp.Model
		}
		samples = append(samples, scores)
	}
	v.Scores = aggregate(samples, j.dims, j.opts.Aggregate)
	return v, nil
}

// Compare asks which of two explanations of the same item for the same
// persona is better, blind and in both orders. When the orders disagree the
// judge preferred a position, not an explanation: the verdict is a tie with
// PositionBias set.
func (j *LLMJudge) Compare(ctx context.Context, a, b Case) (PairVerdict, error) {
	if a.Persona != b.Persona || itemID(a) != itemID(b) {
		return PairVerdict{}, fmt.Errorf("judges: pairwise needs the same persona and item (got %s/%s and %s/%s)",
			a.Persona, itemID(a), b.Persona, itemID(b))
	}
	data := j.promptData(a)
	var winners [2]string
	var reasons [2]string
	for order, pair := range [2][2]string{{a.Explanation, b.Explanation}, {b.Explanation, a.Explanation}} {
		data.Explanations = pair[:]
		msgs, err := render(j.pairPrompt, data)
		if err != nil {
			return PairVerdict{}, err
		}
		resp, err := j.client.Complete(ctx, llm.Request{
			Role: llm.RoleJudge, Subject: a.Persona, Messages: msgs, Schema: j.pairSchema, MaxTokens: j.opts.MaxTokens,
		})
		if err != nil {
			return PairVerdict{}, fmt.Errorf("judges: pairwise, %s item %s order %d: %w", a.Persona, itemID(a), order+1, err)
		}
		reason, winner, err := ParsePairAnswer([]byte(resp.Content))
		if err != nil {
			return PairVerdict{}, fmt.Errorf("judges: pairwise, %s item %s order %d: %w", a.Persona, itemID(a), order+1, err)
		}
		winners[order], reasons[order] = unblind(winner, order == 1), reason
	}
	if winners[0] != winners[1] {
		return PairVerdict{Winner: WinnerTie, PositionBias: true,
			Reason: "a first: " + reasons[0] + " | b first: " + reasons[1]}, nil
	}
	return PairVerdict{Winner: winners[0], Reason: reasons[0]}, nil
}

// unblind maps a positional winner back to the variant.
func unblind(winner string, swapped bool) string {
	switch {
	case winner == "tie":
		return WinnerTie
	case (winner == "1") != swapped:
		return WinnerA
	default:
		return WinnerB
	}
}

func itemID(c Case) string {
	if c.Item == nil {
		return ""
	}
	return c.Item.ID
}

type promptData struct {
	Rubric       string
	Dimensions   []promptDimension
	Persona      string
	History      []HistoryItem
	HistoryCut   bool
	HistoryTotal int
	Item         promptItem
	Explanation  string
	Explanations []string
}

type promptDimension struct {
	Name, Description string
	Anchors           []promptAnchor
}

type promptAnchor struct {
	Score int
	Text  string
}

type promptItem struct {
	Title            string
	Categories, Tags []string
	Attributes       []promptAttribute
	Description      string
}

type promptAttribute struct {
	Key   string
	Value string
}

// promptData holds only what the rubric needs: latent interests, slate and
// variant never reach the judge.
func (j *LLMJudge) promptData(c Case) promptData {
	d := promptData{Rubric: j.rubric.Name, Persona: c.PersonaSummary, HistoryTotal: len(c.History)}
	d.History = c.History
	if len(d.History) > MaxPromptHistory {
		d.History, d.HistoryCut = d.History[len(d.History)-MaxPromptHistory:], true
	}
	for _, dim := range j.rubric.Dimensions {
		pd := promptDimension{Name: dim.Name, Description: dim.Description}
		for _, score := range sortedKeys(dim.Anchors) {
			pd.Anchors = append(pd.Anchors, promptAnchor{Score: score, Text: dim.Anchors[score]})
		}
		d.Dimensions = append(d.Dimensions, pd)
	}
	if it := c.Item; it != nil {
		d.Item = promptItem{Title: it.Title, Categories: it.Categories, Tags: it.Tags, Description: it.Description}
		if d.Item.Title == "" {
			d.Item.Title = it.ID
		}
		for _, k := range sortedKeys(it.Attributes) {
			d.Item.Attributes = append(d.Item.Attributes, promptAttribute{Key: k, Value: attributeText(it.Attributes[k])})
		}
	}
	return d
}

func sortedKeys[K int | string, V any](m map[K]V) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// attributeText renders an attribute value; JSON keeps nested maps sorted.
func attributeText(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func render(t *template.Template, data promptData) ([]llm.Message, error) {
	var sys, user bytes.Buffer
	if err := t.ExecuteTemplate(&sys, "system", data); err != nil {
		return nil, fmt.Errorf("judges: prompt: %w", err)
	}
	if err := t.ExecuteTemplate(&user, "user", data); err != nil {
		return nil, fmt.Errorf("judges: prompt: %w", err)
	}
	return []llm.Message{
		{Role: "system", Content: strings.TrimSpace(sys.String())},
		{Role: "user", Content: strings.TrimSpace(user.String())},
	}, nil
}

// schemaNode is a JSON Schema node whose properties keep their order, so the
// model writes its reason before committing to scores.
type schemaNode struct {
	Type                 string     `json:"type"`
	Description          string     `json:"description,omitempty"`
	Enum                 []any      `json:"enum,omitempty"`
	Properties           properties `json:"properties,omitempty"`
	Required             []string   `json:"required,omitempty"`
	AdditionalProperties *bool      `json:"additionalProperties,omitempty"`
}

type property struct {
	Name   string
	Schema schemaNode
}

type properties []property

func (ps properties) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, p := range ps {
		if i > 0 {
			buf.WriteByte(',')
		}
		name, _ := json.Marshal(p.Name)
		body, err := json.Marshal(p.Schema)
		if err != nil {
			return nil, err
		}
		buf.Write(name)
		buf.WriteByte(':')
		buf.Write(body)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

func object(props ...property) schemaNode {
	closed := false
	n := schemaNode{Type: "object", Properties: props, AdditionalProperties: &closed}
	for _, p := range props {
		n.Required = append(n.Required, p.Name)
	}
	return n
}

var reasonProperty = property{Name: "reason", Schema: schemaNode{Type: "string",
	Description: "Your reasoning, written before the verdict."}}

func scoreSchema(dims []string) (*llm.Schema, error) {
	scores := make([]property, len(dims))
	for i, d := range dims {
		scores[i] = property{Name: d, Schema: schemaNode{Type: "integer", Enum: []any{1, 2, 3, 4, 5}}}
	}
	return marshalSchema("judge_scores", object(reasonProperty, property{Name: "scores", Schema: object(scores...)}))
}

func pairSchema() (*llm.Schema, error) {
	return marshalSchema("judge_pairwise", object(reasonProperty,
		property{Name: "winner", Schema: schemaNode{Type: "string", Enum: []any{"1", "2", "tie"}}}))
}

func marshalSchema(name string, root schemaNode) (*llm.Schema, error) {
	raw, err := json.Marshal(root)
	if err != nil {
		return nil, fmt.Errorf("judges: schema %s: %w", name, err)
	}
	return &llm.Schema{Name: name, JSON: raw}, nil
}

// ParseScores reads a judge answer {"reason": ..., "scores": {...}}: every
// dimension must be scored with a finite number, which is rounded and
// clamped to 1–5; other score keys are ignored.
func ParseScores(content []byte, dims []string) (string, map[string]float64, error) {
	var ans struct {
		Reason string                     `json:"reason"`
		Scores map[string]json.RawMessage `json:"scores"`
	}
	if err := json.Unmarshal(content, &ans); err != nil {
		return "", nil, fmt.Errorf("%w: %v", llm.ErrMalformed, err)
	}
	scores := make(map[string]float64, len(dims))
	for _, d := range dims {
		raw, ok := ans.Scores[d]
		if !ok {
			return "", nil, fmt.Errorf("%w: no score for %q", llm.ErrMalformed, d)
		}
		var f float64
		if err := json.Unmarshal(raw, &f); err != nil {
			return "", nil, fmt.Errorf("%w: score for %q: %v", llm.ErrMalformed, d, err)
		}
		scores[d] = clampScore(f)
	}
	return ans.Reason, scores, nil
}

// ParsePairAnswer reads a pairwise answer {"reason": ..., "winner": "1"|"2"|"tie"}.
func ParsePairAnswer(content []byte) (string, string, error) {
	var ans struct {
		Reason string `json:"reason"`
		Winner string `json:"winner"`
	}
	if err := json.Unmarshal(content, &ans); err != nil {
		return "", "", fmt.Errorf("%w: %v", llm.ErrMalformed, err)
	}
	switch ans.Winner {
	case "1", "2", "tie":
		return ans.Reason, ans.Winner, nil
	}
	return "", "", fmt.Errorf("%w: winner %q, want \"1\", \"2\" or \"tie\"", llm.ErrMalformed, ans.Winner)
}

func clampScore(f float64) float64 { return min(5, max(1, math.Round(f))) }

// aggregate combines samples per dimension.
func aggregate(samples []map[string]float64, dims []string, how string) map[string]float64 {
	out := make(map[string]float64, len(dims))
	for _, d := range dims {
		if how == AggregateMajority {
			var votes [6]int
			for _, s := range samples {
				votes[int(s[d])]++
			}
			best := 1
			// Ascending scan with a strict > keeps the lower score on a tie.
			for score := 2; score <= 5; score++ {
				if votes[score] > votes[best] {
					best = score
				}
			}
			out[d] = float64(best)
			continue
		}
		sum := 0.0
		for _, s := range samples {
			sum += s[d]
		}
		out[d] = sum / float64(len(samples))
	}
	return out
}
