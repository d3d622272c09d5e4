package personas

import (
	"slices"
	"strings"
	"testing"

	"github.com/recloop/recloop/catalog"
	"github.com/recloop/recloop/trajectory"
)

// likesOnly judges an item relevant when it meets the need and is in the
// set: taste by fiat, so that the agenda's rules are what is tested.
type likesOnly map[string]bool

func (l likesOnly) Relevant(st *State, item int) (bool, bool) {
	it := agendaCatalog.Item(item)
	ok := st.Need.Satisfies(it)
	return ok, ok && l[it.ID]
}

var agendaCatalog *catalog.Catalog

func agendaState(t *testing.T, need Need) *State {
	t.Helper()
	cat, err := catalog.New([]catalog.Item{
		{ID: "a", Title: "Alpha", Categories: []string{"comedy"}, Attributes: map[string]any{"year": 1995}},
		{ID: "b", Title: "Bravo", Categories: []string{"comedy"}, Attributes: map[string]any{"year": 2015}},
		{ID: "c", Title: "Charlie", Categories: []string{"drama"}, Attributes: map[string]any{"year": 1995}},
		{ID: "d", Title: "Delta", Categories: []string{"documentary"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	agendaCatalog = cat
	p := tinyPersona("p")
	p.Need = &need
	return mustBuild(t, []Persona{p}, cat, 1)[0]
}

func say(t *testing.T, u *AgendaUser, st *State, d *Dialogue) Utterance {
	t.Helper()
	got, err := u.Say(t.Context(), st, d)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range got.Reveals {
		d.Revealed[k] = true
	}
	d.Turns = append(d.Turns, DialogueTurn{User: true, Text: got.Text, Act: got.Act})
	return got
}

func TestAgendaOpensByStyle(t *testing.T) {
	lo, hi := 1990.0, 1999.0
	cons := []Constraint{{Category: "comedy", Reveal: RevealVolunteer}, {Attribute: "year", Min: &lo, Max: &hi, Reveal: RevealVolunteer},
		{Category: "drama", Exclude: true, Reveal: RevealHidden}}
	for _, c := range []struct {
		style, text string
		reveals     []int
	}{
		{StyleDirect, "I'm looking for comedy, something from 1990 to 1999.", []int{0, 1}},
		{StyleTerse, "I'm looking for comedy.", []int{0}},
		{StyleChatty, "I'm looking for comedy, something from 1990 to 1999. I usually love drama and comedy.", []int{0, 1}},
		{StyleVague, "I'm not sure what I want. Something good?", nil},
	} {
		st := agendaState(t, Need{Constraints: cons, Style: c.style}.WithDefaults())
		u := NewAgendaUser(agendaCatalog, likesOnly{})
		d := &Dialogue{Need: st.Need, Revealed: make([]bool, 3), Catalog: agendaCatalog}
		got := say(t, u, st, d)
		if got.Act != trajectory.ActInform || got.Text != c.text || !slices.Equal(got.Reveals, c.reveals) {
			t.Errorf("%s: %q %v (%s), want %q %v", c.style, got.Text, got.Reveals, got.Act, c.text, c.reveals)
		}
	}
}

func TestAgendaAnswersRejectsAcceptsAndRunsOutOfPatience(t *testing.T) {
	lo := 1990.0
	one := 1.0
	need := Need{Constraints: []Constraint{{Category: "comedy", Reveal: RevealVolunteer}, {Attribute: "year", Max: &[]float64{1999}[0], Min: &lo, Reveal: RevealOnAsk}},
		Patience: 3, Cooperativeness: &one}.WithDefaults()
	st := agendaState(t, need)
	u := NewAgendaUser(agendaCatalog, likesOnly{"a": true})
	d := &Dialogue{Need: st.Need, Revealed: make([]bool, 2), Catalog: agendaCatalog}
	say(t, u, st, d)
	// A question about the era reveals the on_ask constraint (fully
	// cooperative, so the draw always allows it).
	d.Turns = append(d.Turns, DialogueTurn{Text: "Any particular era, say a decade?"})
	if got := say(t, u, st, d); got.Act != trajectory.ActAnswer || !slices.Equal(got.Reveals, []int{1}) || !strings.Contains(got.Text, "from 1990 to 1999") {
		t.Fatalf("answer %+v", got)
	}
	// b is a comedy from 2015: it breaks the revealed era, and the user says so.
	d.Turns = append(d.Turns, DialogueTurn{Items: []int{1}})
	if got := say(t, u, st, d); got.Act != trajectory.ActReject || !strings.Contains(got.Text, "I said something from 1990 to 1999") {
		t.Fatalf("rejection %+v", got)
	}
	// Third recommender turn = patience 3: a miss ends the dialogue...
	d2 := *d
	d2.Turns = append(slices.Clone(d.Turns), DialogueTurn{Items: []int{2}})
	if got := say(t, u, st, &d2); got.Act != trajectory.ActQuit || got.Reason != "out of patience" {
		t.Fatalf("at patience: %+v", got)
	}
	// ...but a hit is still taken, and satisfaction is 1 − 0.5·(3−1)/3.
	d.Turns = append(d.Turns, DialogueTurn{Items: []int{2, 0}})
	got := say(t, u, st, d)
	if got.Act != trajectory.ActAccept || got.Accepted != 0 || !near(got.Satisfaction, 1-0.5*2.0/3) || strings.Contains(got.Text, "Bravo") {
		t.Fatalf("accept %+v", got)
	}
}

func TestHiddenConstraintsAreNeverSaid(t *testing.T) {
	one := 1.0
	need := Need{Constraints: []Constraint{{Category: "comedy", Reveal: RevealVolunteer}, {Category: "drama", Exclude: true, Reveal: RevealHidden}},
		Patience: 9, Cooperativeness: &one}.WithDefaults()
	st := agendaState(t, need)
	u := NewAgendaUser(agendaCatalog, likesOnly{})
	d := &Dialogue{Need: st.Need, Revealed: make([]bool, 2), Catalog: agendaCatalog}
	say(t, u, st, d)
	for _, turn := range []DialogueTurn{{Text: "What genre would you enjoy?"}, {Items: []int{2}}, {Text: "Any particular mood?"}, {Items: []int{0, 1}}} {
		d.Turns = append(d.Turns, turn)
		got := say(t, u, st, d)
		if slices.Contains(got.Reveals, 1) || strings.Contains(got.Text, "not drama") || strings.Contains(got.Text, "nothing drama") {
			t.Fatalf("the hidden constraint came out: %+v", got)
		}
	}
}

func TestDerivedNeedsAreValidAndStable(t *testing.T) {
	cat := vocabCatalog(t, 400)
	lib, err := Library()
	if err != nil {
		t.Fatal(err)
	}
	Adapt(lib, cat)
	for i := range lib {
		a, b := DeriveNeed(&lib[i], cat, 3), DeriveNeed(&lib[i], cat, 3)
		if len(a.Constraints) == 0 {
			t.Fatalf("%s: empty need", lib[i].ID)
		}
		p := lib[i]
		p.Need = a
		if errs := validateNeed(&p, cat); len(errs) > 0 {
			t.Fatalf("%s: derived need does not validate: %v", p.ID, errs)
		}
		if a.Describe() != b.Describe() || a.Style != b.Style || a.Patience != b.Patience {
			t.Fatalf("%s: two derivations differ", p.ID)
		}
	}
}
