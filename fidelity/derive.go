// Package fidelity measures how far recloop's simulated users resemble real
// ones. It derives personas from an interaction log (tastes, dislikes and
// traits by documented rules, a chronological seed history and a held-out
// rest), then checks a behaviour model against the held-out part:
// discrimination between liked and untouched items, rating error, and
// whether ranking recommenders by simulated CTR agrees with ranking them by
// offline accuracy. Fit tunes the utility model's global coefficients on the
// seed part. docs/fidelity.md describes the protocol.
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

// DeriveOptions control how personas are derived from a log. The zero value
// of every field means its default.
type DeriveOptions struct {
	// Sample keeps a seeded sample of this many users; 0 keeps everyone.
	Sample int
	// Seed drives the sample and every later random draw.
	Seed uint64
	// HoldOut is the share of each user's interactions, the most recent
	// ones, held out for evaluation (default 0.2).
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
}

func (o DeriveOptions) withDefaults() DeriveOptions {
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
	return o
}

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

// Liked reports whether a rating counts as liked (0 = unrated counts).
func (d *Dataset) Liked(rating float64) bool { return rating == 0 || rating >= d.Options.LikeAt }

// Dataset is a log split into seed and hold-out parts, with a persona per
// kept user.
type Dataset struct {
	// Catalog is the input catalog with every item's popularity prior
	// replaced by its number of interactions in the seed parts, so that
	// nothing held out leaks into popularity.
	Catalog *catalog.Catalog
	Users   []User
	// SeedLog is every eligible user's seed part (not only the sample's),
	// sorted as catalog.LoadInteractions sorts: what recommenders train on.
	SeedLog []catalog.Interaction
	Options DeriveOptions
	// Skipped counts users with too few interactions, Unknown the log rows
	// whose item the catalog lacks, Repeats the repeated (user, item) rows
	// dropped (the first interaction is kept).
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

// Derive splits log (sorted by timestamp, as the catalog loaders return it)
// per user and derives a persona for every user with at least
// MinInteractions interactions with items of cat, or for a seeded sample of
// them. Traits are percentiles over every eligible user, so they do not
// depend on the sample.
func Derive(cat *catalog.Catalog, log []catalog.Interaction, opt DeriveOptions) (*Dataset, error) {
	opt = opt.withDefaults()
	ds := &Dataset{Options: opt}
	users := groupByUser(cat, log, ds)
	eligible := users[:0]
	for _, u := range users {
		if len(u.rows) < opt.MinInteractions {
			ds.Skipped++
			continue
		}
		held := max(1, int(math.Floor(float64(len(u.rows))*opt.HoldOut)))
		u.split = len(u.rows) - held
		eligible = append(eligible, u)
	}
	if len(eligible) == 0 {
		return nil, fmt.Errorf("%w: %d users have fewer than %d interactions with catalog items, %d rows name unknown items",
			ErrNoUsers, ds.Skipped, opt.MinInteractions, ds.Unknown)
	}
	counts := make([]float64, cat.Len())
	for _, u := range eligible {
		for _, idx := range u.items[:u.split] {
			counts[idx]++
		}
		ds.SeedLog = append(ds.SeedLog, u.rows[:u.split]...)
	}
	sortLog(ds.SeedLog)
	seedCat, err := withPopularity(cat, counts)
	if err != nil {
		return nil, err
	}
	ds.Catalog = seedCat
	traits := deriveTraits(seedCat, eligible, opt)
	keep := sample(eligible, opt)
	ids := make(map[string]string, len(keep))
	for _, k := range keep {
		u := eligible[k]
		p := derivePersona(seedCat, u, opt)
		if p.Interests.IsZero() {
			// None of the user's seed items has a category or tag.
			ds.Skipped++
			continue
		}
		p.ID = uniqueID(ids, u.id)
		p.Traits = traits[k]
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

func sortLog(xs []catalog.Interaction) {
	slices.SortStableFunc(xs, func(a, b catalog.Interaction) int {
		return cmp.Or(cmp.Compare(a.Timestamp, b.Timestamp), strings.Compare(a.User, b.User), strings.Compare(a.Item, b.Item))
	})
}

// withPopularity copies cat with each item's popularity prior set to counts.
func withPopularity(cat *catalog.Catalog, counts []float64) (*catalog.Catalog, error) {
	items := slices.Clone(cat.Items())
	for i := range items {
		items[i].Popularity = counts[i]
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

// derivePersona fills the persona's tastes and seed history from the seed
// part of the user's log (traits and description are set by the caller).
//
// Interests: the mean feature vector x̄⁺ of the liked seed items (each
// item's L2-normalised multi-hot vector over categories and tags; every
// seed item when no liked item has features), its MaxInterests largest entries scaled
// so that the largest is 1. Dislikes: d_f = x̄⁻_f − x̄⁺_f over the disliked
// seed items (at least two), entries of at least 0.1, the three largest,
// scaled likewise: a feature is disliked only when it is more common among
// the user's low ratings than among its high ones.
func derivePersona(cat *catalog.Catalog, u *userLog, opt DeriveOptions) personas.Persona {
	nf := cat.NumFeatures()
	liked, disliked, all := make([]float64, nf), make([]float64, nf), make([]float64, nf)
	var nLiked, nDisliked int
	p := personas.Persona{Name: "User " + u.id, Segments: []string{"from-logs"}}
	for k, in := range u.rows[:u.split] {
		x := cat.Features(u.items[k])
		addVec(all, x)
		if in.Rating == 0 || in.Rating >= opt.LikeAt {
			addVec(liked, x)
			nLiked++
		}
		if in.Rating > 0 && in.Rating <= opt.DislikeAt {
			addVec(disliked, x)
			nDisliked++
		}
		p.History = append(p.History, in.Item)
	}
	scale(liked, 1/float64(max(1, nLiked)))
	p.Interests = cat.TasteFromVector(topFeatures(liked, opt.MaxInterests, 0))
	if p.Interests.IsZero() {
		scale(all, 1/float64(u.split))
		p.Interests = cat.TasteFromVector(topFeatures(all, opt.MaxInterests, 0))
	}
	if nDisliked >= 2 {
		scale(disliked, 1/float64(nDisliked))
		for f := range disliked {
			disliked[f] -= liked[f]
		}
		p.Dislikes = cat.TasteFromVector(topFeatures(disliked, 3, 0.1))
	}
	return p
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
	if len(byID) > 0 {
		missing := slices.Sorted(maps.Keys(byID))
		return fmt.Errorf("%w: %s (derive with the same --seed, --holdout and --min-interactions, without --sample)",
			ErrUnknownPersona, strings.Join(missing[:min(5, len(missing))], ", "))
	}
	return nil
}
