package judges

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/recloop/recloop/trajectory"
)

// A dialogue's explanations are judged like a slate's: every proposed item
// with an explanation is a case, ranked by its place among everything the
// dialogue proposed, and the accepted item joins the visible history of
// the next round.
func TestRunJudgesTheExplanationsOfDialogues(t *testing.T) {
	cat := runnerCatalog(t)
	path := filepath.Join(t.TempDir(), "trajectories.jsonl")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := trajectory.NewWriter(f)
	emit := func(ev trajectory.Event) {
		ev.V = trajectory.SchemaVersion
		if err := w.Write(&ev); err != nil {
			t.Fatal(err)
		}
	}
	emit(trajectory.Event{Kind: trajectory.KindRun, Run: &trajectory.RunInfo{Variants: []trajectory.VariantInfo{{Name: "A"}}, Rounds: 2,
		Conversation: &trajectory.ConversationInfo{MaxTurns: 4}}})
	emit(trajectory.Event{Kind: trajectory.KindPersona, Persona: "p0", Profile: &trajectory.Profile{Name: "P"}})
	for r := range 2 {
		turns := []trajectory.Turn{
			{Index: 0, Role: trajectory.RoleUser, Text: "drama please", Act: trajectory.ActInform},
			{Index: 1, Role: trajectory.RoleRecommender, Items: []trajectory.Proposed{{Item: "i01", Explanation: "a drama"}, {Item: "i02"}}},
			{Index: 2, Role: trajectory.RoleUser, Act: trajectory.ActReject},
			{Index: 3, Role: trajectory.RoleRecommender, Items: []trajectory.Proposed{{Item: "i03", Explanation: "another drama"}}},
			{Index: 4, Role: trajectory.RoleUser, Act: trajectory.ActAccept, Accepted: "i03", End: &trajectory.DialogueEnd{Success: true, Item: "i03", Turns: 2}},
		}
		for k := range turns {
			emit(trajectory.Event{Kind: trajectory.KindTurn, Variant: "A", Round: r, Persona: "p0", Turn: &turns[k]})
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	judge := &recordingJudge{}
	var out collect
	if _, err := Run(context.Background(), cat, path, []Panelist{{Name: "all", Judge: judge}}, RunConfig{Concurrency: 1}, &out); err != nil {
		t.Fatal(err)
	}
	// Two explained items per dialogue: i01 (rank 1) and i03 (rank 3: i02
	// was the second item proposed).
	if len(judge.cases) != 4 {
		t.Fatalf("%d cases, want 4", len(judge.cases))
	}
	for k, c := range judge.cases {
		wantRank, wantItem := 1, "i01"
		if k%2 == 1 {
			wantRank, wantItem = 3, "i03"
		}
		if c.Rank != wantRank || c.Item.ID != wantItem {
			t.Errorf("case %d: rank %d item %s, want %d %s", k, c.Rank, c.Item.ID, wantRank, wantItem)
		}
		if wantHistory := c.Round; len(c.History) != wantHistory {
			t.Errorf("round %d case sees a history of %d, want %d (the accepted item of round 0)", c.Round, len(c.History), wantHistory)
		}
	}
	if v := out.events[1].Verdict; v.Rank != 3 || v.Item != "i03" {
		t.Errorf("second verdict %+v", v)
	}
}
