package recommenders

import (
	"math"
	"slices"
	"strings"
	"testing"
)

func TestClarifyReadsSlotsClauseByClause(t *testing.T) {
	v := newChatVocabulary(tinyCatalog(t))
	s := v.read([]ChatMessage{
		{Role: SpeakerUser, Content: "I'm looking for sci-fi, nothing drama. I usually love space."},
		{Role: SpeakerRecommender, Content: clarifyQuestions["year"]},
		{Role: SpeakerUser, Content: "Something from 1990 to 2009."},
	})
	switch {
	case !slices.Equal(s.categories, []string{"sci-fi"}):
		t.Errorf("wanted categories %v, want [sci-fi]", s.categories)
	case !slices.Equal(s.notCategories, []string{"drama"}):
		t.Errorf("excluded categories %v, want [drama]", s.notCategories)
	case len(s.tags) != 0 || !slices.Equal(s.likes, []string{"space"}):
		t.Errorf("tags %v, likes %v: a liked tag is a soft preference, not a constraint", s.tags, s.likes)
	case s.yearMin != 1990 || s.yearMax != 2009:
		t.Errorf("years %g–%g, want 1990–2009", s.yearMin, s.yearMax)
	case !s.asked["year"] || s.asked["genre"]:
		t.Errorf("asked %v, want year only", s.asked)
	}
	for _, c := range []struct {
		text     string
		min, max float64
	}{
		{"the 1980s please", 1980, 1989},
		{"after 1999", 2000, math.Inf(1)},
		{"before 1970", math.Inf(-1), 1969},
	} {
		s := v.read([]ChatMessage{{Role: SpeakerUser, Content: c.text}})
		if s.yearMin != c.min || s.yearMax != c.max {
			t.Errorf("%q: years %g–%g, want %g–%g", c.text, s.yearMin, s.yearMax, c.min, c.max)
		}
	}
}

// On the tiny catalog every released item at round 0 (a–d, f) has a
// distinct primary category count: sci-fi 2, drama 2, comedy 1, so the
// genre entropy is −(2·0.4·log2 0.4 + 0.2·log2 0.2) ≈ 1.52 bits; there are
// no years and the tags split 2 space, 2 time-travel, 1 wedding
// (≈ 1.52 bits too). Genre wins the tie by its order.
func TestClarifyAsksTheMostInformativeTopicThenProposes(t *testing.T) {
	cat := tinyCatalog(t)
	r := build(t, "clarify", Env{Catalog: cat}, map[string]any{"max_questions": 1})
	chat := r.(Conversational)
	req := ChatRequest{Conversation: "c", K: 2, Messages: []ChatMessage{{Role: SpeakerUser, Content: "Hi, what should I watch?"}}}
	reply, err := chat.Respond(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if reply.Message != clarifyQuestions["genre"] || len(reply.Items) != 0 {
		t.Fatalf("first reply %+v, want the genre question", reply)
	}
	req.Messages = append(req.Messages, ChatMessage{Role: SpeakerRecommender, Content: reply.Message},
		ChatMessage{Role: SpeakerUser, Content: "Drama, please."})
	reply, err = chat.Respond(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, it := range reply.Items {
		ids = append(ids, it.Item)
		if !strings.HasPrefix(it.Explanation, "A drama") {
			t.Errorf("explanation %q does not say what the item is", it.Explanation)
		}
	}
	// c (40) before d (30): the most popular dramas.
	if !slices.Equal(ids, []string{"c", "d"}) {
		t.Fatalf("proposed %v, want [c d]", ids)
	}
}

func TestChatPopularIgnoresTheUserAndLearns(t *testing.T) {
	cat := tinyCatalog(t)
	r := build(t, "chatpopular", Env{Catalog: cat}, nil)
	req := ChatRequest{Conversation: "c", K: 1, Messages: []ChatMessage{{Role: SpeakerUser, Content: "I want comedy."}}}
	first := func() string {
		reply, err := r.(Conversational).Respond(t.Context(), req)
		if err != nil {
			t.Fatal(err)
		}
		return reply.Items[0].Item
	}
	if got := first(); got != "a" {
		t.Fatalf("proposed %s, want a (the most popular, comedy or not)", got)
	}
	// b's score becomes p(b)·(1 + 1·3/4) = 50/210·1.75 ≈ 0.417 > p(a) ≈ 0.286.
	if err := r.Observe(t.Context(), []Feedback{{Item: "b", Clicked: true}, {Item: "b", Clicked: true}, {Item: "b", Clicked: true}}); err != nil {
		t.Fatal(err)
	}
	if got := first(); got != "b" {
		t.Fatalf("after three acceptances of b it proposed %s", got)
	}
}
