package personas

import (
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/recloop/recloop/catalog"
	"github.com/recloop/recloop/config"
)

// Validate runs the checks that need the catalog and the scenario: history
// and evidence items and taste names must exist, a persona must join before the last round
// (rounds ≤ 0 skips that check), and ids must be unique across files. Each
// problem is located at the persona's own file:line:field.
func Validate(ps []Persona, cat *catalog.Catalog, rounds int) config.Errors {
	var errs config.Errors
	seedable := seedableItems(cat)
	firstByID := make(map[string]*Persona, len(ps))
	for i := range ps {
		p := &ps[i]
		if first, dup := firstByID[p.ID]; dup {
			errs = append(errs, p.Errorf("id", "duplicate persona id %q (first defined at %s)", p.ID, first.where()))
		} else {
			firstByID[p.ID] = p
		}
		for _, list := range []struct {
			field string
			ids   []string
		}{{"history", p.History}, {"evidence.liked", p.Evidence.Liked}, {"evidence.disliked", p.Evidence.Disliked}} {
			for j, id := range list.ids {
				if _, ok := cat.Index(id); !ok && id != "" {
					errs = append(errs, p.Errorf(config.Index(list.field, j), "unknown item id %q: the catalog has no such item", id))
				}
			}
		}
		if p.HistorySize > seedable {
			errs = append(errs, p.Errorf("history_size", "asks for %d seed items but the catalog has only %d items available at round 0", p.HistorySize, seedable))
		}
		errs = append(errs, validateTaste(p, "interests", p.Interests, cat)...)
		errs = append(errs, validateTaste(p, "latent_interests", p.LatentInterests, cat)...)
		errs = append(errs, validateTaste(p, "dislikes", p.Dislikes, cat)...)
		errs = append(errs, validateNeed(p, cat)...)
		if rounds > 0 && p.JoinRound >= rounds {
			errs = append(errs, p.Errorf("join_round", "the persona joins at round %d but the scenario runs rounds 0 to %d", p.JoinRound, rounds-1))
		}
	}
	errs.Sort()
	return errs
}

func validateTaste(p *Persona, field string, t catalog.Taste, cat *catalog.Catalog) config.Errors {
	var errs config.Errors
	for _, name := range slices.Sorted(maps.Keys(t.Categories)) {
		if _, ok := cat.CategoryIndex(name); !ok {
			errs = append(errs, p.Errorf(field+".categories."+name, "unknown category %q: the catalog has no such category%s", name, suggest(name, cat.Categories())))
		}
	}
	for _, name := range slices.Sorted(maps.Keys(t.Tags)) {
		if _, ok := cat.TagIndex(name); !ok {
			errs = append(errs, p.Errorf(field+".tags."+name, "unknown tag %q: the catalog has no such tag%s", name, suggest(name, cat.Tags())))
		}
	}
	return errs
}

// seedableItems counts the items a history_size draw may pick: those that
// are neither released later nor marked new.
func seedableItems(cat *catalog.Catalog) int {
	n := 0
	for i := range cat.Len() {
		if !cat.Item(i).IsNew() {
			n++
		}
	}
	return n
}

// suggest names the closest known names (edit distance at most a third of
// the name's length, at least 2, at most 3), for "did you mean" hints.
func suggest(name string, known []string) string {
	norm := catalog.NormaliseName(name)
	limit := min(3, max(2, len(norm)/3))
	best, bestD := []string(nil), limit+1
	for _, k := range known {
		d := editDistance(norm, k)
		switch {
		case d > limit:
		case d < bestD:
			best, bestD = []string{k}, d
		case d == bestD:
			best = append(best, k)
		}
	}
	if len(best) == 0 || len(best) > 3 {
		return ""
	}
	quoted := make([]string, len(best))
	for i, b := range best {
		quoted[i] = strconv.Quote(b)
	}
	return " (did you mean " + strings.Join(quoted, " or ") + "?)"
}

// editDistance is the Levenshtein distance between two byte strings.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
