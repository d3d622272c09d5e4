package fidelity

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/recloop/recloop/catalog"
	"github.com/recloop/recloop/llm"
	"github.com/recloop/recloop/personas"
)

// Describe writes the persona's description from its numbers, for LLM
// play: its strongest interests, its dislikes, the titles that are its
// evidence, and one phrase per trait tier (below 1/3, above 2/3, or
// between).
func Describe(p *personas.Persona, cat *catalog.Catalog, st Stats) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s has %d interactions in the log", p.Name, st.Interactions)
	if likes := topNames(p.Interests, 3); len(likes) > 0 {
		fmt.Fprintf(&b, " and mostly likes %s", joinWords(likes))
	}
	b.WriteString(".")
	if dis := topNames(p.Dislikes, 3); len(dis) > 0 {
		fmt.Fprintf(&b, " They tend to dislike %s.", joinWords(dis))
	}
	if titles := titlesOf(cat, p.Evidence.Liked); len(titles) > 0 {
		fmt.Fprintf(&b, " Favourites include %s.", joinWords(titles))
	}
	if titles := titlesOf(cat, p.Evidence.Disliked); len(titles) > 0 {
		fmt.Fprintf(&b, " They rated %s poorly.", joinWords(titles))
	}
	t := p.Traits
	fmt.Fprintf(&b, " They are %s; they %s, %s, %s and are %s.",
		tier(t.Activity, "an occasional user", "a regular user", "a very active user"),
		tier(t.Conformity, "often rate against the crowd", "sometimes agree with the crowd", "usually agree with the crowd"),
		tier(t.Mainstreamness, "seek out little-known titles", "mix hits with lesser-known titles", "mostly watch popular titles"),
		tier(t.Curiosity, "stick to a few genres", "range over several genres", "range over many genres"),
		tier(t.Pickiness, "easy to please", "fairly demanding", "hard to please"))
	return b.String()
}

// titlesOf is the items' titles (ids for items without one), quoted.
func titlesOf(cat *catalog.Catalog, ids []string) []string {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		title := id
		if idx, ok := cat.Index(id); ok && cat.Item(idx).Title != "" {
			title = cat.Item(idx).Title
		}
		out = append(out, strconv.Quote(title))
	}
	return out
}

func tier(x float64, low, mid, high string) string {
	switch {
	case x < 1.0/3:
		return low
	case x > 2.0/3:
		return high
	}
	return mid
}

// topNames lists the n heaviest categories and tags of t, heaviest first
// (ties by name).
func topNames(t catalog.Taste, n int) []string {
	type named struct {
		name string
		w    float64
	}
	var all []named
	for _, m := range []map[string]float64{t.Categories, t.Tags} {
		for _, k := range slices.Sorted(maps.Keys(m)) {
			all = append(all, named{k, m[k]})
		}
	}
	slices.SortStableFunc(all, func(a, b named) int { return cmp.Compare(b.w, a.w) })
	out := make([]string, 0, n)
	for _, x := range all[:min(n, len(all))] {
		out = append(out, x.name)
	}
	return out
}

func joinWords(ws []string) string {
	if len(ws) <= 1 {
		return strings.Join(ws, "")
	}
	return strings.Join(ws[:len(ws)-1], ", ") + " and " + ws[len(ws)-1]
}

// summarySystem is the instruction for LLM-written taste summaries. It is
// part of every request, hence of the cache key: changing it re-asks.
const summarySystem = "You write short, concrete taste profiles of real users of a recommender system, " +
	"for an actor who will play the user. Use only the facts given. Two sentences, second person, no lists."

// maxSummaryTitles bounds the titles quoted to the model per user.
const maxSummaryTitles = 15

// Summarise asks client for a two-sentence taste summary of every user and
// appends it to the persona's description. Requests carry the persona as
// subject and role persona; the client's cache makes a rerun free. Users
// are summarised in order; the first error stops.
func Summarise(ctx context.Context, client llm.Client, ds *Dataset) error {
	for i := range ds.Users {
		u := &ds.Users[i]
		resp, err := client.Complete(ctx, llm.Request{
			Role:    llm.RolePersona,
			Subject: u.Persona.ID,
			Messages: []llm.Message{
				{Role: "system", Content: summarySystem},
				{Role: "user", Content: summaryPrompt(ds, u)},
			},
		})
		if err != nil {
			return fmt.Errorf("fidelity: summarising %s: %w", u.Persona.ID, err)
		}
		if s := strings.TrimSpace(resp.Content); s != "" {
			u.Persona.Description += " " + s
		}
	}
	return nil
}

func summaryPrompt(ds *Dataset, u *User) string {
	var b strings.Builder
	b.WriteString(u.Persona.Description)
	b.WriteString("\nItems they rated, most recent last (title: rating):\n")
	from := max(0, len(u.Seed)-maxSummaryTitles)
	for k, in := range u.Seed[from:] {
		it := ds.Catalog.Item(u.SeedIdx[from+k])
		title := it.Title
		if title == "" {
			title = it.ID
		}
		if in.Rating > 0 {
			fmt.Fprintf(&b, "- %s: %g\n", title, in.Rating)
		} else {
			fmt.Fprintf(&b, "- %s\n", title)
		}
	}
	b.WriteString("Write their taste profile.")
	return b.String()
}
