// Package fidelity measures how far recloop's simulated users resemble real
// ones. It derives personas from an interaction log (tastes, dislikes,
// traits and a learned taste model by documented rules, a seed history and
// a held-out rest), then checks a behaviour model against the held-out
// part beside baselines scored on the same probes: discrimination between
// liked and untouched items under two negative samplers, rating error, and
// whether ranking recommenders by simulated CTR agrees with ranking them by
// offline accuracy. Fit tunes the utility model's coefficients by maximum
// likelihood on the seed part. docs/fidelity.md describes the protocol.
package fidelity

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/recloop/recloop/catalog"
	"github.com/recloop/recloop/internal/rng"
	"github.com/recloop/recloop/metrics"
	"github.com/recloop/recloop/personas"
)

// ErrNoUsers is returned when no user of the log has enough interactions
// with catalog items to be split into a seed history and a hold-out.
var ErrNoUsers = errors.New("fidelity: no usable users in the log")

// Split names.
const (
	// PerUser holds out each user's most recent interactions.
	PerUser = "per-user"
	// GlobalTime holds out every interaction from one moment on.
	GlobalTime = "global-time"
)

// DeriveOptions control how personas are derived from a log. The zero value
// of every field means its default.
type DeriveOptions struct {
	// Sample keeps a seeded sample of this many users; 0 keeps everyone.
	Sample int
	// Seed drives the sample and every later random draw.
	Seed uint64
	// Split is PerUser (default) or GlobalTime.
	Split string
	// HoldOut is the share held out for evaluation (default 0.2): of each
	// user's interactions, the most recent ones (PerUser), or of all
	// interactions, the latest ones (GlobalTime).
	HoldOut float64
	// MinInteractions skips users with fewer interactions with catalog
	// items (default 5).
	MinInteractions int
	// LikeAt is the lowest rating that counts as liked (default 4); an
	// interaction without a rating (0) counts as liked.
	LikeAt float64
	// DislikeAt is the highest rating that counts as disliked (default 2).
	DislikeAt float64
	// MaxInterests caps the categories and tags kept as stated interests
	// (default 8).
	MaxInterests int
	// TagWeight is the tag block's weight in the item vectors interests
	// are derived from (default: the utility model's tag_weight).
	TagWeight float64
	// Tags are the log's tag events (ml-latest's tags.csv). When given,
	// each item's tags are those applied in the seed period only.
	Tags []catalog.TagEvent
	// Taste sets the learned taste model (defaults: DefaultTaste).
	Taste TasteOptions
}

func (o DeriveOptions) withDefaults() DeriveOptions {
	if o.Split == "" {
		o.Split = PerUser
	}
	if o.HoldOut <= 0 || o.HoldOut >= 1 {
		o.HoldOut = 0.2
	}
	if o.MinInteractions <= 0 {
		o.MinInteractions = 5
	}
	if o.LikeAt == 0 {
		o.LikeAt = 4
	}
	if o.DislikeAt == 0 {
		o.DislikeAt = 2
	}
	if o.MaxInterests <= 0 {
		o.MaxInterests = 8
	}
	if o.TagWeight <= 0 {
		o.TagWeight = personas.DefaultTagWeight
	}
	o.Taste = o.Taste.withDefaults()
	return o
}

// ErrSplit is returned for an unknown split name.
var ErrSplit = errors.New("fidelity: unknown split")

// Stats are the raw numbers a user's traits are percentiles of.
type Stats struct {
	Interactions int `json:"interactions"`
	// RatingGap is the mean squared gap between the user's ratings and the
	// items' mean ratings (NaN without ratings).
	RatingGap metrics.Float `json:"rating_gap"`
	// Categories80 is how many categories make up 80% of the consumption.
	Categories80 int `json:"categories_80"`
	// LowShare is the share of ratings below LikeAt (NaN without ratings).
	LowShare metrics.Float `json:"low_share"`
	// Mainstream is the mean popularity of the items the user consumed,
	// ln(1 + c_i)/ln(1 + max_j c_j) with c the seed counts, in [0, 1].
	Mainstream float64 `json:"mainstream"`
}

// User is one user of the log, split and turned into a persona.
type User struct {
	ID      string
	Persona personas.Persona
	// Seed is the chronologically first part of the user's log, HeldOut
	// the rest; each oldest first, one interaction per item.
	Seed, HeldOut []catalog.Interaction
	// SeedIdx and HeldIdx are the catalog indexes of Seed and HeldOut.
	SeedIdx, HeldIdx []int
	Stats            Stats
}

// LastSeed is the time of the user's last seed interaction.
func (u *User) LastSeed() int64 { return u.Seed[len(u.Seed)-1].Timestamp }

// Liked reports whether a rating counts as liked (0 = unrated counts).
func (d *Dataset) Liked(rating float64) bool { return rating == 0 || rating >= d.Options.LikeAt }

// Dataset is a log split into seed and hold-out parts, with a persona per
// kept user.
type Dataset struct {
	// Catalog is the input catalog with every item's popularity prior
	// replaced by its number of interactions in the seed period, and (with
	// tag events) its tags by those applied in the seed period, so that
	// nothing held out leaks into either.
	Catalog *catalog.Catalog
	Users   []User
	// SeedLog is every interaction of the seed period (the eligible
	// users' seed parts, or everything before the cut-off), sorted as
	// catalog.LoadInteractions sorts: what recommenders and the taste
	// model train on.
	SeedLog []catalog.Interaction
	// FirstSeen is, per catalog index, the time of the item's first
	// interaction anywhere in the log (math.MaxInt64 for none): a
	// negative is never an item that had not appeared by then.
	FirstSeen []int64
	// Cutoff is the global-time split's moment (0 for PerUser).
	Cutoff int64
	// Taste is the taste model learned from SeedLog.
	Taste   *personas.TasteModel
	Options DeriveOptions
	// Given is set when the personas came from a file (Use), not from
	// derivation.
	Given bool
	// Skipped counts users with too few interactions (or none on one side
	// of a global-time split), Unknown the log rows whose item the catalog
	// lacks, Repeats the repeated (user, item) rows dropped (the first
	// interaction is kept).
	Skipped, Unknown, Repeats int
}

// Personas returns the users' personas.
func (d *Dataset) Personas() []personas.Persona {
	out := make([]personas.Persona, len(d.Users))
	for i := range d.Users {
		out[i] = d.Users[i].Persona
	}
	return out
}

// userLog is one user's usable interactions, oldest first.
type userLog struct {
	id    string
	rows  []catalog.Interaction
	items []int
	split int // rows[:split] is the seed part
	stats Stats
}

func (u *userLog) lastSeed() int64 { return u.rows[u.split-1].Timestamp }

// Derive splits log (sorted by timestamp, as the catalog loaders return it)
// and derives a persona for every eligible user, or for a seeded sample of
// them. Traits are percentiles over every eligible user, so they do not
// depend on the sample.
func Derive(cat *catalog.Catalog, log []catalog.Interaction, opt DeriveOptions) (*Dataset, error) {
	opt = opt.withDefaults()
	if opt.Split != PerUser && opt.Split != GlobalTime {
		return nil, fmt.Errorf("%w %q (want %s or %s)", ErrSplit, opt.Split, PerUser, GlobalTime)
	}
	ds := &Dataset{Options: opt}
	users := groupByUser(cat, log, ds)
	ds.FirstSeen = firstSeen(cat, users)
	var eligible []*userLog
	if opt.Split == PerUser {
		eligible = splitPerUser(users, ds)
	} else {
		eligible = splitGlobalTime(users, ds)
	}
	if len(eligible) == 0 {
		return nil, fmt.Errorf("%w: %d users have fewer than %d interactions with catalog items (or none on one side of the split), %d rows name unknown items",
			ErrNoUsers, ds.Skipped, opt.MinInteractions, ds.Unknown)
	}
	counts := make([]float64, cat.Len())
	for _, in := range ds.SeedLog {
		idx, _ := cat.Index(in.Item)
		counts[idx]++
	}
	seedCat, err := seedPeriodCatalog(cat, counts, seedTags(opt, eligible, ds.Cutoff))
	if err != nil {
		return nil, err
	}
	ds.Catalog = seedCat
	taste, userBias, err := trainTaste(seedCat, ds.SeedLog, opt.Taste, opt.Seed)
	if err != nil {
		return nil, err
	}
	ds.Taste = taste
	vecs := seedCat.BlockFeatures(opt.TagWeight)
	traits := deriveTraits(seedCat, eligible, opt)
	keep := sample(eligible, opt)
	ids := make(map[string]string, len(keep))
	for _, k := range keep {
		u := eligible[k]
		p := derivePersona(seedCat, vecs, u, opt)
		if p.Interests.IsZero() {
			// None of the user's seed items has a category or tag.
			ds.Skipped++
			continue
		}
		p.ID = uniqueID(ids, u.id)
		p.Traits = traits[k]
		p.RatingBias = round3(userBias[u.id])
		p.Description = Describe(&p, seedCat, u.stats)
		ds.Users = append(ds.Users, User{
			ID: u.id, Persona: p,
			Seed: u.rows[:u.split], HeldOut: u.rows[u.split:],
			SeedIdx: u.items[:u.split], HeldIdx: u.items[u.split:],
			Stats: u.stats,
		})
	}
	return ds, nil
}

// splitPerUser holds out the most recent ⌊n·h⌋ (at least one) of each
// user's n interactions; users with fewer than MinInteractions are skipped.
// The seed log is the eligible users' seed parts.
func splitPerUser(users []*userLog, ds *Dataset) []*userLog {
	opt := ds.Options
	var eligible []*userLog
	for _, u := range users {
		if len(u.rows) < opt.MinInteractions {
			ds.Skipped++
			continue
		}
		held := max(1, int(math.Floor(float64(len(u.rows))*opt.HoldOut)))
		u.split = len(u.rows) - held
		eligible = append(eligible, u)
		ds.SeedLog = append(ds.SeedLog, u.rows[:u.split]...)
	}
	sortLog(ds.SeedLog)
	return eligible
}

// splitGlobalTime cuts the whole log at the moment T before which the
// share 1 − h of the interactions happened: everything before T is the
// seed period, the rest is held out. Users with at least MinInteractions
// interactions, some on each side, are evaluated; every interaction before
// T, whoever made it, is in the seed log.
func splitGlobalTime(users []*userLog, ds *Dataset) []*userLog {
	opt := ds.Options
	var times []int64
	for _, u := range users {
		for _, in := range u.rows {
			times = append(times, in.Timestamp)
		}
	}
	slices.Sort(times)
	ds.Cutoff = times[min(len(times)-1, int(math.Floor(float64(len(times))*(1-opt.HoldOut))))]
	var eligible []*userLog
	for _, u := range users {
		u.split, _ = slices.BinarySearchFunc(u.rows, ds.Cutoff, func(in catalog.Interaction, t int64) int { return cmp.Compare(in.Timestamp, t) })
		ds.SeedLog = append(ds.SeedLog, u.rows[:u.split]...)
		if len(u.rows) < opt.MinInteractions || u.split == 0 || u.split == len(u.rows) {
			ds.Skipped++
			continue
		}
		eligible = append(eligible, u)
	}
	sortLog(ds.SeedLog)
	return eligible
}

// groupByUser collects each user's interactions with catalog items, oldest
// first, keeping the first interaction with an item. Users come out sorted
// by id.
func groupByUser(cat *catalog.Catalog, log []catalog.Interaction, ds *Dataset) []*userLog {
	byID := map[string]*userLog{}
	seen := map[[2]string]bool{}
	for _, in := range log {
		idx, ok := cat.Index(in.Item)
		if !ok {
			ds.Unknown++
			continue
		}
		if key := [2]string{in.User, in.Item}; seen[key] {
			ds.Repeats++
			continue
		} else {
			seen[key] = true
		}
		u := byID[in.User]
		if u == nil {
			u = &userLog{id: in.User}
			byID[in.User] = u
		}
		u.rows = append(u.rows, in)
		u.items = append(u.items, idx)
	}
	users := make([]*userLog, 0, len(byID))
	for _, u := range byID {
		users = append(users, u)
	}
	slices.SortFunc(users, func(a, b *userLog) int { return strings.Compare(a.id, b.id) })
	return users
}

// firstSeen is each item's first interaction time over the whole log.
func firstSeen(cat *catalog.Catalog, users []*userLog) []int64 {
	out := make([]int64, cat.Len())
	for i := range out {
		out[i] = math.MaxInt64
	}
	for _, u := range users {
		for k, in := range u.rows {
			out[u.items[k]] = min(out[u.items[k]], in.Timestamp)
		}
	}
	return out
}

func sortLog(xs []catalog.Interaction) {
	slices.SortStableFunc(xs, func(a, b catalog.Interaction) int {
		return cmp.Or(cmp.Compare(a.Timestamp, b.Timestamp), strings.Compare(a.User, b.User), strings.Compare(a.Item, b.Item))
	})
}

// seedTags returns, per item id, the distinct tags applied in the seed
// period: by an eligible user no later than its last seed interaction
// (PerUser), or before the cut-off (GlobalTime). nil keeps the catalog's
// tags (no tag events given).
func seedTags(opt DeriveOptions, eligible []*userLog, cutoff int64) map[string][]string {
	if opt.Tags == nil {
		return nil
	}
	lastSeed := make(map[string]int64, len(eligible))
	for _, u := range eligible {
		lastSeed[u.id] = u.lastSeed()
	}
	out := map[string][]string{}
	for _, ev := range opt.Tags {
		var keep bool
		if opt.Split == GlobalTime {
			keep = ev.Timestamp < cutoff
		} else {
			last, ok := lastSeed[ev.User]
			keep = ok && ev.Timestamp <= last
		}
		if tag := catalog.NormaliseName(ev.Tag); keep && tag != "" && !slices.Contains(out[ev.Item], tag) {
			out[ev.Item] = append(out[ev.Item], tag)
		}
	}
	return out
}

// seedPeriodCatalog copies cat with each item's popularity prior set to
// counts and, when tags is not nil, its tags set to tags[id].
func seedPeriodCatalog(cat *catalog.Catalog, counts []float64, tags map[string][]string) (*catalog.Catalog, error) {
	items := slices.Clone(cat.Items())
	for i := range items {
		items[i].Popularity = counts[i]
		if tags != nil {
			items[i].Tags = tags[items[i].ID]
		}
	}
	c, err := catalog.New(items)
	if err != nil {
		return nil, fmt.Errorf("fidelity: rebuilding the catalog: %w", err)
	}
	return c, nil
}

// sample returns the indexes of the users to keep, ascending: all of them,
// or the Sample users with the smallest hash of (seed, user id).
func sample(users []*userLog, opt DeriveOptions) []int {
	keep := make([]int, len(users))
	for i := range keep {
		keep[i] = i
	}
	if opt.Sample <= 0 || opt.Sample >= len(users) {
		return keep
	}
	hash := func(i int) uint64 { return rng.Key(opt.Seed, rng.PurposeSample, rng.StringKey(users[i].id)) }
	slices.SortFunc(keep, func(a, b int) int { return cmp.Or(cmp.Compare(hash(a), hash(b)), cmp.Compare(a, b)) })
	keep = keep[:opt.Sample]
	slices.Sort(keep)
	return keep
}

// uniqueID turns a user id into a persona id ("u-" + the id in lower case,
// other characters than [a-z0-9._-] replaced by '-'), adding "-2", "-3"…
// when two users would collide.
func uniqueID(taken map[string]string, user string) string {
	var b strings.Builder
	b.WriteString("u-")
	for _, c := range strings.ToLower(user) {
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-' {
			b.WriteRune(c)
		} else {
			b.WriteByte('-')
		}
	}
	id := b.String()
	if len(id) > 100 {
		id = id[:100]
	}
	for k, base := 2, id; ; k++ {
		if _, dup := taken[id]; !dup {
			taken[id] = user
			return id
		}
		id = fmt.Sprintf("%s-%d", base, k)
	}
}

// Evidence sizes: the liked and disliked seed items a persona names.
const (
	maxEvidenceLiked    = 5
	maxEvidenceDisliked = 3
)

// derivePersona fills the persona's tastes, evidence and seed history from
// the seed part of the user's log (traits, rating bias and description are
// set by the caller).
//
// Interests: the mean x̄⁺ of the block vectors (categories, and tags
// weighted by rarity, as the utility model matches them) of the liked seed
// items (every seed item when no liked item has features), its
// MaxInterests largest entries scaled so that the largest is 1. Dislikes:
// see deriveDislikes. Evidence: the liked seed items rated highest, most
// recent first, and the disliked ones rated lowest, most recent first.
func derivePersona(cat *catalog.Catalog, vecs []catalog.SparseVec, u *userLog, opt DeriveOptions) personas.Persona {
	nf := cat.NumFeatures()
	liked, all := make([]float64, nf), make([]float64, nf)
	var nLiked int
	p := personas.Persona{Name: "User " + u.id, Segments: []string{"from-logs"}}
	var likedRows, dislikedRows []int
	for k, in := range u.rows[:u.split] {
		x := vecs[u.items[k]]
		addVec(all, x)
		if in.Rating == 0 || in.Rating >= opt.LikeAt {
			addVec(liked, x)
			nLiked++
			likedRows = append(likedRows, k)
		}
		if in.Rating > 0 && in.Rating <= opt.DislikeAt {
			dislikedRows = append(dislikedRows, k)
		}
		p.History = append(p.History, in.Item)
	}
	scale(liked, 1/float64(max(1, nLiked)))
	p.Interests = cat.TasteFromVector(topFeatures(liked, opt.MaxInterests, 0))
	if p.Interests.IsZero() {
		scale(all, 1/float64(u.split))
		p.Interests = cat.TasteFromVector(topFeatures(all, opt.MaxInterests, 0))
	}
	p.Dislikes = cat.TasteFromVector(deriveDislikes(cat, u, opt, p.Interests))
	p.Evidence.Liked = evidence(u, likedRows, maxEvidenceLiked, func(a, b float64) int { return cmp.Compare(b, a) })
	p.Evidence.Disliked = evidence(u, dislikedRows, maxEvidenceDisliked, cmp.Compare[float64])
	return p
}

// evidence orders rows by rating (byRating) then recency, most recent
// first, and returns the first n items.
func evidence(u *userLog, rows []int, n int, byRating func(a, b float64) int) []string {
	rows = slices.Clone(rows)
	slices.SortStableFunc(rows, func(a, b int) int {
		return cmp.Or(byRating(u.rows[a].Rating, u.rows[b].Rating), cmp.Compare(b, a))
	})
	out := make([]string, 0, min(n, len(rows)))
	for _, k := range rows[:min(n, len(rows))] {
		out = append(out, u.rows[k].Item)
	}
	return out
}

// dislikeLevel is the significance a disliked feature needs, after Holm's
// correction over the features tested for the user.
const dislikeLevel = 0.05

// minDisliked is the fewest low-rated items with a feature that can make
// it a dislike.
const minDisliked = 3

// deriveDislikes keeps a category or tag as disliked only when the
// evidence supports it against the user's own base rate: with p₀ the share
// of the user's rated seed items rated at most DislikeAt, and n_f, k_f the
// rated seed items with feature f and the low-rated ones among them, f is
// tested when k_f ≥ 3, by the binomial tail P(X ≥ k_f | n_f, p₀), and kept
// when it is significant at 5% after Holm's correction over the user's
// tested features and f is not among the user's interests. Weights are the
// excess rate k_f/n_f − p₀, the three largest, scaled so the largest is 1.
func deriveDislikes(cat *catalog.Catalog, u *userLog, opt DeriveOptions, interests catalog.Taste) []float64 {
	nf := cat.NumFeatures()
	n, k := make([]float64, nf), make([]float64, nf)
	var rated, low float64
	for j, in := range u.rows[:u.split] {
		if in.Rating <= 0 {
			continue
		}
		rated++
		isLow := in.Rating <= opt.DislikeAt
		if isLow {
			low++
		}
		for _, f := range cat.Features(u.items[j]).Idx {
			n[f]++
			if isLow {
				k[f]++
			}
		}
	}
	out := make([]float64, nf)
	if rated == 0 || low == 0 || low == rated {
		return out
	}
	p0 := low / rated
	interest, _ := cat.TasteVector(interests)
	var tested []int
	var ps []float64
	for f := range nf {
		if k[f] >= minDisliked && interest[f] == 0 {
			tested = append(tested, f)
			ps = append(ps, binomialTail(int(k[f]), int(n[f]), p0))
		}
	}
	excess := make([]float64, nf)
	for j, p := range metrics.Holm(ps) {
		if f := tested[j]; p < dislikeLevel {
			excess[f] = k[f]/n[f] - p0
		}
	}
	return topFeatures(excess, 3, 0)
}

// binomialTail is P(X ≥ k) for X ~ Binomial(n, p), summed exactly.
func binomialTail(k, n int, p float64) float64 {
	if k <= 0 {
		return 1
	}
	var tail float64
	for x := k; x <= n; x++ {
		lg, _ := math.Lgamma(float64(n + 1))
		lx, _ := math.Lgamma(float64(x + 1))
		lnx, _ := math.Lgamma(float64(n - x + 1))
		tail += math.Exp(lg - lx - lnx + float64(x)*math.Log(p) + float64(n-x)*math.Log1p(-p))
	}
	return min(1, tail)
}

func addVec(dst []float64, x catalog.SparseVec) {
	for k, f := range x.Idx {
		dst[f] += x.Val[k]
	}
}

func scale(v []float64, s float64) {
	for i := range v {
		v[i] *= s
	}
}

// topFeatures keeps the n largest entries of v that are ≥ floor and > 0,
// scaled so the largest is 1 and rounded to 3 decimals; ties go to the
// lower feature index.
func topFeatures(v []float64, n int, floor float64) []float64 {
	order := make([]int, 0, len(v))
	for f, w := range v {
		if w > 0 && w >= floor {
			order = append(order, f)
		}
	}
	slices.SortFunc(order, func(a, b int) int { return cmp.Or(cmp.Compare(v[b], v[a]), cmp.Compare(a, b)) })
	out := make([]float64, len(v))
	if len(order) == 0 {
		return out
	}
	top := v[order[0]]
	for _, f := range order[:min(n, len(order))] {
		out[f] = max(0.001, math.Round(v[f]/top*1000)/1000)
	}
	return out
}

// ErrUnknownPersona is returned by Use for a persona no user of the log
// was derived into.
var ErrUnknownPersona = errors.New("fidelity: persona matches no user of the log")

// Use replaces the derived personas by ps (a from-logs file, perhaps
// edited or with LLM-written descriptions) matched by id, and keeps only
// the users ps names; the split, and the seed log recommenders train on,
// stay as derived.
func (d *Dataset) Use(ps []personas.Persona) error {
	byID := make(map[string]*personas.Persona, len(ps))
	for i := range ps {
		byID[ps[i].ID] = &ps[i]
	}
	kept := d.Users[:0]
	for _, u := range d.Users {
		if p, ok := byID[u.Persona.ID]; ok {
			u.Persona = *p
			delete(byID, p.ID)
			kept = append(kept, u)
		}
	}
	d.Users = kept
	d.Given = true
	if len(byID) > 0 {
		missing := slices.Sorted(maps.Keys(byID))
		return fmt.Errorf("%w: %s (derive with the same --seed, --split, --holdout and --min-interactions, without --sample)",
			ErrUnknownPersona, strings.Join(missing[:min(5, len(missing))], ", "))
	}
	return nil
}
