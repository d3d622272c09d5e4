package protocol

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/recloop/recloop/catalog"
	"github.com/recloop/recloop/config"
	"github.com/recloop/recloop/recommenders"
)

// Transport carries messages to one external recommender and back.
type Transport interface {
	// Recommend sends the request and returns the decoded answer.
	Recommend(ctx context.Context, req *RecommendRequest) (*RecommendResponse, error)
	// Send delivers feedback or a reset and waits for its acknowledgement.
	Send(ctx context.Context, id string, msg any) error
	Close() error
}

// ViolationReporter is implemented by recommenders that count what went
// wrong with an external recommender's answers, per kind (see Kind).
type ViolationReporter interface {
	Violations() map[string]int64
}

// FallbackReporter is implemented by recommenders that answer some calls
// from a fallback recommender.
type FallbackReporter interface {
	Fallbacks() int64
}

// Kind is one way an external recommender's answer can go wrong.
type Kind int

// The kinds of violation. Slate kinds are found by validating a decoded
// answer; the others are failures of the call itself.
const (
	KindUnknownID Kind = iota
	KindDuplicate
	KindShort
	KindTooMany
	KindConsumed
	KindUnreleased
	KindNonFinite
	KindMalformed
	KindOversized
	KindStatus
	KindTimeout
	KindRemoteError
	KindCrash
	KindTransport
	numKinds
)

var kindNames = [numKinds]string{
	"unknown_id", "duplicate", "short", "too_many", "consumed", "unreleased", "non_finite",
	"malformed", "oversized", "status", "timeout", "remote_error", "crash", "transport",
}

func (k Kind) String() string { return kindNames[k] }

// Policy names what happens when a call fails or its answer is invalid.
type Policy struct {
	// Action is skip, fail or fallback.
	Action string
	// Fallback is the built-in recommender that answers instead (fallback only).
	Fallback string
}

const (
	ActionSkip     = "skip"
	ActionFail     = "fail"
	ActionFallback = "fallback"
)

// ParsePolicy reads on_error: skip, fail or fallback:<recommender>.
func ParsePolicy(s string) (Policy, error) {
	switch {
	case s == ActionSkip || s == ActionFail:
		return Policy{Action: s}, nil
	case strings.HasPrefix(s, ActionFallback+":"):
		name := strings.TrimPrefix(s, ActionFallback+":")
		if _, ok := recommenders.Lookup(name); !ok || slices.Contains(externalNames, name) {
			return Policy{}, fmt.Errorf("%w: on_error: fallback needs a built-in recommender, got %q (known: %s)",
				recommenders.ErrUnknown, name, strings.Join(builtinNames(), ", "))
		}
		return Policy{Action: ActionFallback, Fallback: name}, nil
	}
	return Policy{}, fmt.Errorf("protocol: on_error must be skip, fail or fallback:<recommender>, got %q", s)
}

// externalNames are the recommenders that cannot be a fallback: a fallback
// is there for when the outside world fails.
var externalNames = []string{"http", "exec"}

func builtinNames() []string {
	return slices.DeleteFunc(recommenders.Names(), func(n string) bool { return slices.Contains(externalNames, n) })
}

// CommonParams are the parameters of both adapters, after their own.
var CommonParams = []config.Param{
	{Name: "on_error", Kind: config.String, Default: ActionSkip,
		Doc: "What a failed call or an invalid slate does: `skip` records the step as a recommender error and goes on; " +
			"`fail` does that and fails every later call of this world too, so the variant stops cleanly while the others " +
			"complete; `fallback:<recommender>` answers the call with that built-in (default parameters), which sees all feedback."},
	{Name: "feedback_timeout", Kind: config.Duration, Default: 30 * time.Second, Min: config.AtLeast(0.001),
		Doc: "Longest wait for a feedback or reset message to be acknowledged; both carry a whole round or the whole catalog."},
	{Name: "send_catalog", Kind: config.Bool, Default: true,
		Doc: "Send the catalog (id, title, categories, tags, release round, popularity) with each reset."},
	{Name: "candidates", Kind: config.Bool, Default: false,
		Doc: "Send with each request the ids of every eligible item (released, not consumed)."},
}

// common are the values of CommonParams the adapter itself uses
// (feedback_timeout is the transport's).
type common struct {
	policy                  Policy
	candidates, sendCatalog bool
}

func readCommon(p config.Params) (common, error) {
	r := p.Reader("protocol adapter")
	onError := r.String("on_error")
	c := common{candidates: r.Bool("candidates"), sendCatalog: r.Bool("send_catalog")}
	if err := r.Err(); err != nil {
		return common{}, err
	}
	var err error
	c.policy, err = ParsePolicy(onError)
	return c, err
}

// Adapter is a recommenders.Recommender backed by an external recommender
// through a Transport. One Adapter serves one world. Recommend is safe for
// concurrent use.
type Adapter struct {
	t        Transport
	cat      *catalog.Catalog
	variant  string
	world    string
	seed     uint64
	wireCat  []CatalogItem
	releases []int // every item's release round, sorted
	policy   Policy
	fallback recommenders.Recommender
	withCand bool

	resets    atomic.Int64
	failure   atomic.Pointer[error] // the error that failed the world (on_error: fail)
	counts    [numKinds]atomic.Int64
	fallbacks atomic.Int64
	closeOnce sync.Once
	closeErr  error
}

var (
	_ recommenders.Recommender = (*Adapter)(nil)
	_ recommenders.Resetter    = (*Adapter)(nil)
	_ recommenders.Closer      = (*Adapter)(nil)
	_ ViolationReporter        = (*Adapter)(nil)
	_ FallbackReporter         = (*Adapter)(nil)
)

// Open builds an adapter for one world: it checks the shared parameters
// (so that a bad policy is reported before anything is started or
// contacted), lets connect open the transport (closing it itself if it
// fails), and starts the world with NewAdapter. ctx bounds all of it; the
// adapter does not keep it.
func Open(ctx context.Context, env recommenders.Env, p config.Params, connect func(context.Context) (Transport, error)) (*Adapter, error) {
	if _, err := readCommon(p); err != nil {
		return nil, err
	}
	t, err := connect(ctx)
	if err != nil {
		return nil, err
	}
	return NewAdapter(ctx, env, p, t)
}

// NewAdapter starts a world on the transport: it builds the fallback the
// policy names and sends the first reset. On error it closes t.
func NewAdapter(ctx context.Context, env recommenders.Env, p config.Params, t Transport) (*Adapter, error) {
	a, err := newAdapter(ctx, env, p, t)
	if err == nil {
		err = a.Reset(ctx)
	}
	if err != nil {
		if a != nil {
			return nil, errors.Join(err, a.Close())
		}
		return nil, errors.Join(err, t.Close())
	}
	return a, nil
}

func newAdapter(ctx context.Context, env recommenders.Env, p config.Params, t Transport) (*Adapter, error) {
	c, err := readCommon(p)
	if err != nil {
		return nil, err
	}
	policy := c.policy
	a := &Adapter{t: t, cat: env.Catalog, variant: env.Variant, seed: env.Seed >> 11, policy: policy,
		withCand: c.candidates, world: WorldID(env.Variant, env.Seed)}
	n := env.Catalog.Len()
	a.releases = make([]int, n)
	for i := range n {
		a.releases[i] = env.Catalog.Item(i).ReleaseRound
	}
	sort.Ints(a.releases)
	if c.sendCatalog {
		a.wireCat = CatalogOf(env.Catalog)
	}
	if policy.Action == ActionFallback {
		spec, _ := recommenders.Lookup(policy.Fallback)
		if a.fallback, err = recommenders.New(ctx, policy.Fallback, env, spec.Defaults()); err != nil {
			return a, fmt.Errorf("protocol: building fallback %q: %w", policy.Fallback, err)
		}
	}
	return a, nil
}

// WorldID names a world on the wire: the variant and the world's seed.
func WorldID(variant string, seed uint64) string {
	return variant + "-" + strconv.FormatUint(seed, 16)
}

// CatalogOf is the catalog as a reset carries it. Popularity is the item's
// share of the catalog's popularity prior (the shares sum to 1), whatever
// scale the catalog file used.
func CatalogOf(cat *catalog.Catalog) []CatalogItem {
	out := make([]CatalogItem, cat.Len())
	for i := range out {
		it := cat.Item(i)
		out[i] = CatalogItem{ID: it.ID, Title: it.Title, Categories: it.Categories, Tags: it.Tags,
			ReleaseRound: it.ReleaseRound, Popularity: cat.PopularityShare(i), Attributes: it.Attributes}
	}
	return out
}

// World is the world id this adapter sends.
func (a *Adapter) World() string { return a.world }

// Policy is the adapter's on_error policy.
func (a *Adapter) Policy() Policy { return a.policy }

// Violations counts the failed calls and invalid answers so far, by kind
// name; kinds that never happened are left out.
func (a *Adapter) Violations() map[string]int64 {
	out := map[string]int64{}
	for k := range numKinds {
		if n := a.counts[k].Load(); n > 0 {
			out[k.String()] = n
		}
	}
	return out
}

// Fallbacks counts the calls the fallback recommender answered.
func (a *Adapter) Fallbacks() int64 { return a.fallbacks.Load() }

// Request maps a recommenders.Request to its wire message.
func (a *Adapter) Request(req recommenders.Request) *RecommendRequest {
	w := &RecommendRequest{Type: TypeRecommend, Protocol: Version, ID: "r" + strconv.Itoa(req.Round) + "-" + req.User,
		Variant: a.variant, World: a.world, User: req.User, Round: req.Round, K: req.K,
		History: make([]HistoryEntry, len(req.History)), Context: req.Context}
	for i, h := range req.History {
		w.History[i] = HistoryEntry{Item: h.Item, Round: h.Round, Rating: h.Rating}
	}
	if a.withCand {
		consumed := consumedSet(req.History)
		for i := range a.cat.Len() {
			it := a.cat.Item(i)
			if _, done := consumed[it.ID]; !done && it.ReleaseRound <= req.Round {
				w.Candidates = append(w.Candidates, it.ID)
			}
		}
	}
	return w
}

// FeedbackMessage maps one round of feedback to its wire message.
func (a *Adapter) FeedbackMessage(feedback []recommenders.Feedback) *Feedback {
	m := &Feedback{Type: TypeFeedback, Protocol: Version, Variant: a.variant, World: a.world,
		Events: make([]FeedbackEvent, len(feedback))}
	if len(feedback) > 0 {
		m.Round = feedback[0].Round
	}
	m.ID = "f" + strconv.Itoa(m.Round)
	for i, f := range feedback {
		m.Events[i] = FeedbackEvent{User: f.User, Item: f.Item, Rank: f.Rank, Clicked: f.Clicked, Rating: f.Rating}
	}
	return m
}

// ResetMessage is the n-th reset of this world (n counts from 1).
func (a *Adapter) ResetMessage(n int64) *Reset {
	return &Reset{Type: TypeReset, Protocol: Version, ID: "reset-" + strconv.FormatInt(n, 10),
		Variant: a.variant, World: a.world, Seed: a.seed, Catalog: a.wireCat}
}

// Recommend asks the external recommender, validates its slate, and on any
// failure applies the policy.
func (a *Adapter) Recommend(ctx context.Context, req recommenders.Request) (recommenders.Slate, error) {
	if err := a.failed(); err != nil {
		return recommenders.Slate{}, err
	}
	resp, err := a.t.Recommend(ctx, a.Request(req))
	var slate recommenders.Slate
	if err == nil {
		slate, err = a.Check(req, resp)
	} else {
		a.count(err)
	}
	if err == nil {
		return slate, nil
	}
	if ctx.Err() != nil {
		return recommenders.Slate{}, err
	}
	switch a.policy.Action {
	case ActionFail:
		a.fail(err)
		return recommenders.Slate{}, fmt.Errorf("%w: %w", ErrFailed, err)
	case ActionFallback:
		a.fallbacks.Add(1)
		return a.fallback.Recommend(ctx, req)
	}
	return recommenders.Slate{}, err
}

// fail marks the world failed by err, unless it already failed.
func (a *Adapter) fail(err error) { a.failure.CompareAndSwap(nil, &err) }

// failed returns the error for every call of a failed world, naming the
// failure that started it; nil while the world is healthy.
func (a *Adapter) failed() error {
	if p := a.failure.Load(); p != nil {
		return fmt.Errorf("%w: since: %v", ErrFailed, *p)
	}
	return nil
}

// count records a failed call by its kind.
func (a *Adapter) count(err error) {
	kind := KindTransport
	switch {
	case errors.Is(err, ErrOversized):
		kind = KindOversized
	case errors.Is(err, ErrMalformed):
		kind = KindMalformed
	case errors.Is(err, ErrStatus):
		kind = KindStatus
	case errors.Is(err, ErrRemote):
		kind = KindRemoteError
	case errors.Is(err, ErrCrashed), errors.Is(err, ErrVersion):
		kind = KindCrash
	case errors.Is(err, context.DeadlineExceeded):
		kind = KindTimeout
	case errors.Is(err, context.Canceled):
		return
	}
	a.counts[kind].Add(1)
}

// Check validates a decoded answer against what the simulator will accept
// and what the request allows, counts every kind of violation it holds
// once, and turns a valid answer into a slate.
func (a *Adapter) Check(req recommenders.Request, resp *RecommendResponse) (recommenders.Slate, error) {
	consumed := consumedSet(req.History)
	seen := make(map[string]struct{}, len(resp.Items))
	var found [numKinds]bool
	first := ""
	flag := func(k Kind, format string, args ...any) {
		if first == "" {
			first = fmt.Sprintf(format, args...)
		}
		found[k] = true
	}
	for i, it := range resp.Items {
		idx, known := a.cat.Index(it.ID)
		_, isConsumed := consumed[it.ID]
		_, dup := seen[it.ID]
		seen[it.ID] = struct{}{}
		switch {
		case !known:
			flag(KindUnknownID, "unknown item id %q at rank %d", it.ID, i+1)
		case a.cat.Item(idx).ReleaseRound > req.Round:
			flag(KindUnreleased, "item %q at rank %d is not released until round %d", it.ID, i+1, a.cat.Item(idx).ReleaseRound)
		case isConsumed:
			flag(KindConsumed, "item %q at rank %d was already consumed by the user", it.ID, i+1)
		}
		if dup {
			flag(KindDuplicate, "item %q appears twice", it.ID)
		}
		if f := float64(it.Score); math.IsNaN(f) || math.IsInf(f, 0) {
			flag(KindNonFinite, "item %q at rank %d has a non-finite score", it.ID, i+1)
		}
	}
	if len(resp.Items) > req.K {
		flag(KindTooMany, "%d items for a slate of %d", len(resp.Items), req.K)
	}
	if len(resp.Items) < req.K && len(resp.Items) < a.eligible(req.Round, consumed) {
		flag(KindShort, "%d items for a slate of %d while %d items were eligible", len(resp.Items), req.K, a.eligible(req.Round, consumed))
	}
	if first != "" {
		var kinds []string
		for k := range numKinds {
			if found[k] {
				a.counts[k].Add(1)
				kinds = append(kinds, k.String())
			}
		}
		return recommenders.Slate{}, fmt.Errorf("%w (%s): %s", ErrInvalid, strings.Join(kinds, ", "), first)
	}
	slate := recommenders.Slate{Items: make([]recommenders.Scored, len(resp.Items))}
	for i, it := range resp.Items {
		slate.Items[i] = recommenders.Scored{Item: it.ID, Score: float64(it.Score), Explanation: it.Explanation}
	}
	return slate, nil
}

// eligible counts the items released by round that the user has not consumed.
func (a *Adapter) eligible(round int, consumed map[string]struct{}) int {
	n := sort.SearchInts(a.releases, round+1)
	for id := range consumed {
		if i, ok := a.cat.Index(id); ok && a.cat.Item(i).ReleaseRound <= round {
			n--
		}
	}
	return n
}

func consumedSet(history []recommenders.HistoryItem) map[string]struct{} {
	set := make(map[string]struct{}, len(history))
	for _, h := range history {
		set[h.Item] = struct{}{}
	}
	return set
}

// Observe forwards the round's feedback to the external recommender and to
// the fallback, which learns all along so that it is ready when needed.
func (a *Adapter) Observe(ctx context.Context, feedback []recommenders.Feedback) error {
	var errs []error
	if a.fallback != nil {
		errs = append(errs, a.fallback.Observe(ctx, feedback))
	}
	if err := a.failed(); err != nil {
		return errors.Join(append(errs, err)...)
	}
	msg := a.FeedbackMessage(feedback)
	if err := a.t.Send(ctx, msg.ID, msg); err != nil {
		a.count(err)
		if a.policy.Action == ActionFail {
			a.fail(err)
		}
		errs = append(errs, fmt.Errorf("protocol: feedback for round %d: %w", msg.Round, err))
	}
	return errors.Join(errs...)
}

// Reset starts the world afresh: the external recommender and the fallback
// forget what they learned, and a failed world may try again.
func (a *Adapter) Reset(ctx context.Context) error {
	msg := a.ResetMessage(a.resets.Add(1))
	if err := a.t.Send(ctx, msg.ID, msg); err != nil {
		a.count(err)
		return fmt.Errorf("protocol: reset of world %s: %w", a.world, err)
	}
	a.failure.Store(nil)
	if r, ok := a.fallback.(recommenders.Resetter); ok {
		return r.Reset(ctx)
	}
	return nil
}

// Close closes the transport and the fallback. It is idempotent.
func (a *Adapter) Close() error {
	a.closeOnce.Do(func() {
		errs := []error{a.t.Close()}
		if c, ok := a.fallback.(recommenders.Closer); ok {
			errs = append(errs, c.Close())
		}
		a.closeErr = errors.Join(errs...)
	})
	return a.closeErr
}

// Sleep waits d or until ctx ends, whichever comes first.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

// Clip shortens what a recommender wrote for an error message: whitespace
// collapsed, at most 200 bytes.
func Clip(data []byte) string {
	s := strings.Join(strings.Fields(string(data)), " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
