package personas

import (
	"encoding/json"
	"math"
	"slices"
	"strings"

	"github.com/recloop/recloop/catalog"
	"github.com/recloop/recloop/internal/rng"
	"github.com/recloop/recloop/llm"
	"github.com/recloop/recloop/trajectory"
)

// DefaultBounceBelow is the completion fraction under which a click counts
// as a bounce when the scenario does not say.
const DefaultBounceBelow = 0.1

// Engagement is what a scenario's product measures beyond the click. With
// no funnel it is off, and both behaviours act exactly as before.
type Engagement struct {
	// Funnel names the stages a clicked item can go through, the click
	// first: [click, add_to_cart, purchase] or [play, complete].
	Funnel []string
	// BounceBelow is the completion fraction under which a click is a
	// bounce; a bounce ends the funnel at the click.
	BounceBelow float64
	// Search lets a persona whose need the slate did not meet issue a query.
	Search bool
}

// On reports whether the scenario declares a funnel.
func (e Engagement) On() bool { return len(e.Funnel) > 0 }

// engagementParams are the utility model's stage, dwell and search
// coefficients; docs/user-model.md gives the equations.
type engagementParams struct {
	Engagement
	funnelBase, funnelAffinity, funnelPickiness float64
	dwellBase, dwellAffinity, dwellNoise        float64
	searchBase, searchCuriosity                 float64
}

func logistic(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

// dwell is c = clamp(d₀ + d₁·aff_true + δ·ξ, 0, 1), ξ ~ N(0,1) keyed by
// (persona, round, item).
func (e *engagementParams) dwell(st *State, round, idx int, affTrue float64) float64 {
	xi := rng.Normal(rng.Key(st.Key, uint64(round), rng.PurposeDwell, uint64(idx)))
	return min(1, max(0, e.dwellBase+e.dwellAffinity*affTrue+e.dwellNoise*xi))
}

// advanceProb is P(reach stage j+1 | reached stage j) =
// σ(f₀ + f₁·aff_true − f_k·pickiness), the same for every step down the funnel.
func (e *engagementParams) advanceProb(st *State, affTrue float64) float64 {
	return logistic(e.funnelBase + e.funnelAffinity*affTrue - e.funnelPickiness*st.traits.Pickiness)
}

// engage marks a clicked item's dwell, bounce and deepest funnel stage.
// Stage j+1 is reached when u_j < P(advance), u_j uniform keyed by
// (persona, round, item, j); a bounce stops at the click.
func (e *engagementParams) engage(st *State, round, idx int, affTrue float64, sh *trajectory.Shown) {
	sh.Dwell = e.dwell(st, round, idx, affTrue)
	sh.Bounced = sh.Dwell < e.BounceBelow
	sh.Stage = 1
	if sh.Bounced {
		return
	}
	p := e.advanceProb(st, affTrue)
	for sh.Stage < len(e.Funnel) {
		if rng.Uniform(rng.Key(st.Key, uint64(round), rng.PurposeFunnel, uint64(idx), uint64(sh.Stage))) >= p {
			return
		}
		sh.Stage++
	}
}

// searchProb is P(search | no satisfying item) = min(1, s₀ + s₁·curiosity).
func (e *engagementParams) searchProb(st *State) float64 {
	return min(1, max(0, e.searchBase+e.searchCuriosity*st.traits.Curiosity))
}

// search returns the query a persona issues after slate, or "": a slate
// meets the need when some clicked item was rated 4 or more and not bounced.
// The query is one stated interest, feature f drawn with probability
// ∝ max(0, I_f).
func (e *engagementParams) search(cat *catalog.Catalog, st *State, round int, slate []trajectory.Shown) string {
	if !e.Search {
		return ""
	}
	for k := range slate {
		if slate[k].Accepted() && !slate[k].Bounced {
			return ""
		}
	}
	if rng.Uniform(rng.Key(st.Key, uint64(round), rng.PurposeSearch)) >= e.searchProb(st) {
		return ""
	}
	return interestQuery(cat, st.Interests, rng.Uniform(rng.Key(st.Key, uint64(round), rng.PurposeSearch, 1)))
}

// interestQuery picks the feature at which the cumulative positive interest
// passes u·total and returns its bare name ("drama", not "category:drama").
func interestQuery(cat *catalog.Catalog, interests []float64, u float64) string {
	var total float64
	for _, w := range interests {
		total += max(0, w)
	}
	if total <= 0 {
		return ""
	}
	target, last := u*total, -1
	for f, w := range interests {
		if w <= 0 {
			continue
		}
		last = f
		if target -= w; target < 0 {
			break
		}
	}
	name := cat.FeatureName(last)
	if _, bare, ok := strings.Cut(name, ":"); ok {
		return bare
	}
	return name
}

// stated marks a clicked item from an LLM persona's own account: the stage
// it named (an unknown name counts as the click) and its completion
// (clamped to [0,1]; 1 when missing). A bounce ends the funnel at the
// click, as in the utility model.
func (e Engagement) stated(sh *trajectory.Shown, stage string, completion *float64) {
	sh.Dwell = 1
	if completion != nil && !math.IsNaN(*completion) {
		sh.Dwell = min(1, max(0, *completion))
	}
	sh.Bounced = sh.Dwell < e.BounceBelow
	sh.Stage = 1
	if k := slices.Index(e.Funnel, strings.TrimSpace(stage)); k > 0 && !sh.Bounced {
		sh.Stage = k + 1
	}
}

// funnelActionSchema is the slate answer's schema with a funnel: each item
// also names its stage (one of the funnel's) and completion, and the answer
// carries a search query ("" for none).
func funnelActionSchema(funnel []string) *llm.Schema {
	stages, _ := json.Marshal(funnel)
	return &llm.Schema{Name: "slate_action_funnel", JSON: json.RawMessage(`{` +
		`"type":"object","additionalProperties":false,"required":["items","exit","feedback","search"],"properties":{` +
		`"items":{"type":"array","items":{"type":"object","additionalProperties":false,` +
		`"required":["item_id","action","rating","stage","completion","reason"],"properties":{` +
		`"item_id":{"type":"string"},` +
		`"action":{"type":"string","enum":["click","skip"]},` +
		`"rating":{"type":"integer","description":"1 to 5 for a click, 0 for a skip"},` +
		`"stage":{"type":"string","enum":` + string(stages) + `,"description":"the last funnel step taken; the first is the click"},` +
		`"completion":{"type":"number","description":"0 (left at once) to 1 (all of it)"},` +
		`"reason":{"type":"string"}}}},` +
		`"exit":{"type":"boolean"},` +
		`"feedback":{"type":"string"},` +
		`"search":{"type":"string","description":"what you would search for instead, or empty"}}}`)}
}
