package fidelity

import (
	"math"
	"strings"
	"testing"

	"github.com/recloop/recloop/catalog"
	"github.com/recloop/recloop/personas"
)

func handCatalog(t *testing.T) *catalog.Catalog {
	t.Helper()
	cat, err := catalog.New([]catalog.Item{
		{ID: "a", Categories: []string{"comedy"}},
		{ID: "b", Categories: []string{"drama"}},
		{ID: "c", Categories: []string{"comedy"}, Tags: []string{"funny"}},
		{ID: "d", Categories: []string{"horror"}},
		{ID: "e", Categories: []string{"horror"}},
		{ID: "f", Categories: []string{"drama"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

func row(user, item string, rating float64, ts int64) catalog.Interaction {
	return catalog.Interaction{User: user, Item: item, Rating: rating, Timestamp: ts}
}

// handLog: user "U 1" rates a 5, d 1, b 4, e 2, c 5, f 3 (then a again and
// an unknown item); w rates a, b, c, d, f all 3; v has too few rows.
func handLog() []catalog.Interaction {
	log := []catalog.Interaction{
		row("U 1", "a", 5, 1), row("U 1", "d", 1, 2), row("U 1", "b", 4, 3), row("U 1", "e", 2, 4),
		row("U 1", "c", 5, 5), row("U 1", "f", 3, 6), row("U 1", "a", 1, 7), row("U 1", "zz", 5, 8),
		row("w", "a", 3, 1), row("w", "b", 3, 2), row("w", "c", 3, 3), row("w", "d", 3, 4), row("w", "f", 3, 5),
		row("v", "a", 5, 1), row("v", "b", 5, 2),
	}
	sortLog(log)
	return log
}

// Every rule of Derive on a log small enough to follow by hand.
//
// Split (hold-out 0.2): U has 6 usable rows → ⌊1.2⌋ = 1 held out (f), seed
// a, d, b, e, c; w has 5 → 1 held out (f), seed a, b, c, d; v (2 rows) is
// skipped. The repeated (U, a) and the unknown zz are dropped.
//
// U's interests come from the block vectors (tag weight ½) of its liked
// seed items a (comedy), b (drama) and c: c's one category and one tag
// (idf-normalised to 1) make (comedy 1, funny ½)/√1.25 = (0.894, 0.447).
// The mean over a, b, c is (comedy 1.894/3, drama 1/3, funny 0.447/3),
// scaled by its largest: comedy 1, drama 1/1.894 = 0.528, funny
// 0.447/1.894 = 0.236. Dislikes: its two low ratings (d, e) are both horror,
// but a dislike needs at least three low-rated items with the feature:
// none. Evidence: liked c (5, latest), a (5), b (4); disliked d (1), e (2).
//
// Traits (two users, percentiles 0.25 and 0.75):
//
//	activity: seed sizes U 5 > w 4                         → U 0.75, w 0.25
//	conformity: item means over the seeds a 4, b 3.5, c 4, d 2, e 2;
//	  gap U = (1 + 1 + 0.25 + 0 + 1)/5 = 0.65, w = (1 + 0.25 + 1 + 1)/4 = 0.8125
//	  → pct(gap) U 0.25, w 0.75                            → U 0.75, w 0.25
//	curiosity: U comedy 2, horror 2, drama 1 → 80% of 5 = 4 needs 2;
//	  w comedy 2, drama 1, horror 1 → 80% of 4 = 3.2 needs 3 → U 0.25, w 0.75
//	pickiness: ratings below 4: U 2/5, w 4/4               → U 0.25, w 0.75
//	mainstreamness: seed counts a, b, c, d 2, e 1 → ln(1 + c)/ln 3 is 1 for
//	  a–d and ln 2/ln 3 = 0.631 for e; U's mean (4 + 0.631)/5 = 0.926 < w's 1
//	                                                       → U 0.25, w 0.75
func TestDeriveByHand(t *testing.T) {
	ds, err := Derive(handCatalog(t), handLog(), DeriveOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ds.Users) != 2 || ds.Skipped != 1 || ds.Unknown != 1 || ds.Repeats != 1 {
		t.Fatalf("%d users, skipped %d, unknown %d, repeats %d", len(ds.Users), ds.Skipped, ds.Unknown, ds.Repeats)
	}
	u, w := &ds.Users[0], &ds.Users[1]
	if u.ID != "U 1" || u.Persona.ID != "u-u-1" || w.Persona.ID != "u-w" {
		t.Errorf("ids %q→%q, %q→%q", u.ID, u.Persona.ID, w.ID, w.Persona.ID)
	}
	if got := strings.Join(u.Persona.History, ","); got != "a,d,b,e,c" {
		t.Errorf("U's history %s", got)
	}
	if len(u.HeldOut) != 1 || u.HeldOut[0].Item != "f" || len(w.HeldOut) != 1 || w.HeldOut[0].Item != "f" {
		t.Errorf("held out %v / %v", u.HeldOut, w.HeldOut)
	}
	in := u.Persona.Interests
	if in.Categories["comedy"] != 1 || in.Categories["drama"] != 0.528 || in.Tags["funny"] != 0.236 {
		t.Errorf("U's interests %v", in)
	}
	if !u.Persona.Dislikes.IsZero() || !w.Persona.Dislikes.IsZero() {
		t.Errorf("dislikes without support: U %v, w %v", u.Persona.Dislikes, w.Persona.Dislikes)
	}
	if got := strings.Join(u.Persona.Evidence.Liked, ","); got != "c,a,b" {
		t.Errorf("U's liked evidence %s, want c,a,b", got)
	}
	if got := strings.Join(u.Persona.Evidence.Disliked, ","); got != "d,e" {
		t.Errorf("U's disliked evidence %s, want d,e", got)
	}
	wantU := personas.Traits{Activity: 0.75, Conformity: 0.75, Curiosity: 0.25, Pickiness: 0.25, Mainstreamness: 0.25}
	wantW := personas.Traits{Activity: 0.25, Conformity: 0.25, Curiosity: 0.75, Pickiness: 0.75, Mainstreamness: 0.75}
	if u.Persona.Traits != wantU || w.Persona.Traits != wantW {
		t.Errorf("traits U %+v, w %+v", u.Persona.Traits, w.Persona.Traits)
	}
	if !near(float64(u.Stats.RatingGap), 0.65, 1e-12) || u.Stats.Categories80 != 2 || !near(float64(u.Stats.LowShare), 0.4, 1e-12) ||
		!near(u.Stats.Mainstream, (4+math.Log(2)/math.Log(3))/5, 1e-12) {
		t.Errorf("U's stats %+v", u.Stats)
	}
	// Popularity comes from the seed parts only: f (held out by both) has none.
	f, _ := ds.Catalog.Index("f")
	a, _ := ds.Catalog.Index("a")
	if ds.Catalog.Item(f).Popularity != 0 || ds.Catalog.Item(a).Popularity != 2 {
		t.Errorf("popularity a %g, f %g", ds.Catalog.Item(a).Popularity, ds.Catalog.Item(f).Popularity)
	}
	if len(ds.SeedLog) != 9 {
		t.Errorf("seed log has %d rows, want 5 + 4", len(ds.SeedLog))
	}
	desc := u.Persona.Description
	for _, want := range []string{"User U 1 has 5 interactions", "mostly likes comedy, drama and funny", `Favourites include "c", "a" and "b"`,
		`They rated "d" and "e" poorly`, "a very active user", "seek out little-known titles"} {
		if !strings.Contains(desc, want) {
			t.Errorf("description lacks %q: %s", want, desc)
		}
	}
}

func TestDeriveSample(t *testing.T) {
	var log []catalog.Interaction
	for u := range 30 {
		for k, item := range []string{"a", "b", "c", "d", "e", "f"} {
			log = append(log, row(string(rune('A'+u)), item, float64(1+(u+k)%5), int64(k)))
		}
	}
	sortLog(log)
	cat := handCatalog(t)
	one, err := Derive(cat, log, DeriveOptions{Sample: 7, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	two, _ := Derive(cat, log, DeriveOptions{Sample: 7, Seed: 3})
	other, _ := Derive(cat, log, DeriveOptions{Sample: 7, Seed: 4})
	ids := func(ds *Dataset) string {
		var s []string
		for _, u := range ds.Users {
			s = append(s, u.ID)
		}
		return strings.Join(s, ",")
	}
	if len(one.Users) != 7 || ids(one) != ids(two) || ids(one) == ids(other) {
		t.Errorf("samples %s / %s / %s", ids(one), ids(two), ids(other))
	}
	// Traits are percentiles over all 30 users, not the sample: a sampled
	// user's traits equal its traits in the full derivation.
	all, _ := Derive(cat, log, DeriveOptions{})
	byID := map[string]personas.Traits{}
	for _, u := range all.Users {
		byID[u.ID] = u.Persona.Traits
	}
	for _, u := range one.Users {
		if byID[u.ID] != u.Persona.Traits {
			t.Errorf("%s: sampled traits %+v, full %+v", u.ID, u.Persona.Traits, byID[u.ID])
		}
	}
}

func TestDeriveNoUsers(t *testing.T) {
	_, err := Derive(handCatalog(t), []catalog.Interaction{row("x", "a", 5, 1)}, DeriveOptions{})
	if err == nil || !strings.Contains(err.Error(), "no usable users") {
		t.Errorf("err = %v", err)
	}
}

func TestUnratedLogsCountAsLiked(t *testing.T) {
	var log []catalog.Interaction
	for k, item := range []string{"a", "c", "b", "d", "e"} {
		log = append(log, row("x", item, 0, int64(k)))
	}
	ds, err := Derive(handCatalog(t), log, DeriveOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p := ds.Users[0].Persona
	if p.Interests.Categories["comedy"] != 1 || !p.Dislikes.IsZero() || p.Traits.Pickiness != 0.5 || p.Traits.Conformity != 0.5 || p.RatingBias != 0 {
		t.Errorf("implicit log: %+v", p)
	}
	if !math.IsNaN(float64(ds.Users[0].Stats.RatingGap)) {
		t.Errorf("gap %v without ratings", ds.Users[0].Stats.RatingGap)
	}
}
