package export

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/parquet-go/parquet-go"
)

// parquetExport writes testdata/run.jsonl as Parquet tables into a new
// directory and returns it.
func parquetExport(t *testing.T) string {
	t.Helper()
	f, err := Lookup("parquet")
	if err != nil {
		t.Fatal(err)
	}
	in, err := os.Open(filepath.Join("testdata", "run.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	dir := t.TempDir()
	w, err := f.NewDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := Convert(in, testOptions, w.Write); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

func readRows[T any](t *testing.T, path string) []T {
	t.Helper()
	rows, err := parquet.ReadFile[T](path)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return rows
}

// testEvents converts testdata/run.jsonl: every event in order, and each
// table's events.
func testEvents(t *testing.T) (events []*Event, byTable map[string][]*Event) {
	t.Helper()
	in, err := os.Open(filepath.Join("testdata", "run.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	byTable = map[string][]*Event{}
	if err := Convert(in, testOptions, func(e *Event) error {
		events = append(events, e)
		byTable[SnakeCase(e.Name)] = append(byTable[SnakeCase(e.Name)], e)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return events, byTable
}

// The Parquet tables hold the events the JSON formats hold: tracks has
// every one, each event table its own, with typed columns.
func TestParquetTablesHoldEveryEvent(t *testing.T) {
	dir := parquetExport(t)
	events, byTable := testEvents(t)
	tracks := readRows[trackRow](t, filepath.Join(dir, TracksTable+".parquet"))
	if len(tracks) != len(events) {
		t.Fatalf("tracks has %d rows for %d events", len(tracks), len(events))
	}
	for i, r := range tracks {
		e := events[i]
		if r.ID != e.ID || r.EventText != e.Name || !r.Timestamp.Equal(e.Time) || !r.Synthetic || r.Round != int64(e.Round) || !slices.Equal(r.Segments, e.Segments) {
			t.Fatalf("tracks row %d = %+v, event %+v", i, r, e)
		}
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.parquet"))
	if len(files) != len(byTable)+1 {
		t.Fatalf("%d files for %d event names and tracks", len(files), len(byTable))
	}
	for name, evs := range byTable {
		if got := readRows[trackRow](t, filepath.Join(dir, name+".parquet")); len(got) != len(evs) {
			t.Errorf("%s has %d rows, want %d", name, len(got), len(evs))
		}
	}
	lists := readRows[listRow](t, filepath.Join(dir, "product_list_viewed.parquet"))
	for _, l := range lists {
		if len(l.Products) == 0 || len(l.Products) != len(l.Impressions) || l.Products[0].Position != 1 || l.Products[0].ProductID != l.Impressions[0] {
			t.Fatalf("list %+v", l)
		}
	}
	clicks := readRows[productRow](t, filepath.Join(dir, "product_clicked.parquet"))
	if len(clicks) == 0 || clicks[0].ProductID == "" || clicks[0].Position < 1 {
		t.Fatalf("clicks %+v", clicks)
	}
}

// Each event table's own columns hold its events' fields: the product
// and its double score, the rating, the stage, the query, the message,
// the experiment.
func TestParquetEventColumns(t *testing.T) {
	dir := parquetExport(t)
	_, byTable := testEvents(t)
	file := func(table string) string { return filepath.Join(dir, table+".parquet") }
	for _, table := range []string{"product_clicked", "item_played", "item_completed", "item_rated"} {
		for i, r := range readRows[productRow](t, file(table)) {
			e := byTable[table][i]
			p := e.Product
			if r.ID != e.ID || r.ProductID != p.ProductID || r.Position != int64(p.Position) || r.Score != p.Score ||
				r.Name != p.Name || r.Category != p.Category || r.Explanation != p.Explanation || r.Stage != e.Stage ||
				r.Rating != e.Rating || r.RecommendationID != e.RecommendationID || r.ListID != e.ListID {
				t.Errorf("%s row %d = %+v, event %+v product %+v", table, i, r, e, p)
			}
		}
	}
	// The fixture has a rated, named product and both funnel stages: the
	// loop above compared real values, not zeroes.
	if r := readRows[productRow](t, file("item_rated")); r[0].Rating != 4 || r[0].Score != 0.9 || r[0].Name != "The First Film" {
		t.Errorf("item_rated = %+v", r[0])
	}
	if r := readRows[productRow](t, file("item_completed")); r[0].Stage != "complete" {
		t.Errorf("item_completed = %+v", r[0])
	}
	for i, r := range readRows[searchRow](t, file("products_searched")) {
		if e := byTable["products_searched"][i]; r.Query != e.Query || r.Query == "" {
			t.Errorf("products_searched row %d query %q, want %q", i, r.Query, e.Query)
		}
	}
	for _, table := range []string{"chat_message_sent", "chat_message_received"} {
		for i, r := range readRows[messageRow](t, file(table)) {
			if e := byTable[table][i]; r.Text != e.Text || r.Act != e.Act || r.Step != int64(e.Step) {
				t.Errorf("%s row %d = %+v, event %+v", table, i, r, e)
			}
		}
	}
	for i, r := range readRows[experimentRow](t, file("experiment_viewed")) {
		if e := byTable["experiment_viewed"][i]; r.ExperimentID != e.Scenario || r.VariationID != e.Variant || r.VariationName != e.Variant {
			t.Errorf("experiment_viewed row %d = %+v, event %+v", i, r, e)
		}
	}
	for i, r := range readRows[listRow](t, file("product_list_viewed")) {
		e := byTable["product_list_viewed"][i]
		if len(r.Products) != len(e.Products) {
			t.Fatalf("list %d has %d products, want %d", i, len(r.Products), len(e.Products))
		}
		for k, p := range e.Products {
			if r.Products[k] != productOf(&p) {
				t.Errorf("list %d product %d = %+v, want %+v", i, k, r.Products[k], p)
			}
		}
	}
}

func TestParquetIsDeterministic(t *testing.T) {
	a, b := parquetExport(t), parquetExport(t)
	files, _ := filepath.Glob(filepath.Join(a, "*.parquet"))
	for _, f := range files {
		x, _ := os.ReadFile(f)
		y, err := os.ReadFile(filepath.Join(b, filepath.Base(f)))
		if err != nil || !bytes.Equal(x, y) {
			t.Errorf("%s differs between two exports of the same run", filepath.Base(f))
		}
	}
}

func TestSnakeCase(t *testing.T) {
	for in, want := range map[string]string{
		"Product List Viewed": "product_list_viewed", "Add To Cart Reached": "add_to_cart_reached",
		"Chat Message Sent": "chat_message_sent", " Odd--Name! ": "odd_name",
	} {
		if got := SnakeCase(in); got != want {
			t.Errorf("SnakeCase(%q) = %q, want %q", in, got, want)
		}
	}
}
