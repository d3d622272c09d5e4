package export

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
)

// Writer writes one format's events as they come, holding none of them
// beyond what the format buffers (a batch, a row group). Close flushes what
// is buffered and ends the format's framing; it does not close the
// underlying io.Writer.
type Writer interface {
	Write(e *Event) error
	Close() error
}

// Format is one output format of recloop export.
type Format struct {
	// Name is what --to takes.
	Name string
	// Ext is the extension of the default output file, dot included.
	Ext string
	// New starts a writer on w, for a format that is one file.
	New func(w io.Writer) (Writer, error)
	// NewDir starts a writer that fills the directory dir, for a format
	// that is several files (Parquet: one table per file); a format has
	// New or NewDir.
	NewDir func(dir string) (Writer, error)
	// CheckTimes refuses a run whose events span first..last when the
	// format's ingest API would reject those times, judged at now; nil
	// accepts any time.
	CheckTimes func(first, last, now time.Time) error
}

var formats = map[string]Format{}

// Register adds a format; each format's file registers itself in init. A
// second format of one name is a programming error.
func Register(f Format) {
	if _, dup := formats[f.Name]; dup {
		panic("export: format " + f.Name + " registered twice")
	}
	formats[f.Name] = f
}

// Lookup finds a format by name; the error lists the known ones.
func Lookup(name string) (Format, error) {
	f, ok := formats[name]
	if !ok {
		return Format{}, fmt.Errorf("export: unknown format %q (known: %s)", name, strings.Join(Names(), ", "))
	}
	return f, nil
}

// Names lists the registered formats in order.
func Names() []string {
	names := make([]string, 0, len(formats))
	for n := range formats {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// properties are an event's properties, named as Segment's ecommerce v2
// and A/B testing specs name them; the three JSON formats share them, so
// an event reads the same in every tool. Keys are sorted when encoded.
func properties(e *Event) map[string]any {
	p := map[string]any{
		"synthetic": true, "run_id": e.RunID, "scenario": e.Scenario, "variant": e.Variant,
		"cell": e.Cell, "replicate": e.Replicate, "round": e.Round, "step": e.Step,
	}
	if len(e.Segments) > 0 {
		p["segments"] = e.Segments
	}
	if e.RecommendationID != "" {
		p["recommendation_id"] = e.RecommendationID
	}
	if len(e.Impressions) > 0 {
		p["impressions"] = e.Impressions
	}
	if e.ListID != "" {
		p["list_id"] = e.ListID
	}
	switch e.Name {
	case ExperimentViewed:
		// The scenario is the experiment and the variant its arm.
		p["experiment_id"], p["experiment_name"] = e.Scenario, e.Scenario
		p["variation_id"], p["variation_name"] = e.Variant, e.Variant
	case ListViewed:
		products := make([]map[string]any, len(e.Products))
		for i := range e.Products {
			products[i] = productProperties(&e.Products[i], map[string]any{})
		}
		p["products"] = products
	case ProductsSearched:
		p["query"] = e.Query
	case ItemRated:
		p["rating"] = e.Rating
	case MessageSent, MessageReceived:
		p["text"] = e.Text
		if e.Act != "" {
			p["act"] = e.Act
		}
	}
	if e.Stage != "" {
		p["stage"] = e.Stage
	}
	if e.Product != nil {
		productProperties(e.Product, p)
	}
	return p
}

// productProperties adds a product's ecommerce fields to p; score and
// explanation are recloop's own additions, and fields recloop does not
// know (a name without the catalog, a chat acceptance's position) are
// left out rather than sent empty.
func productProperties(pr *Product, p map[string]any) map[string]any {
	p["product_id"] = pr.ProductID
	if pr.Position > 0 {
		p["position"] = pr.Position
	}
	if pr.Name != "" {
		p["name"] = pr.Name
	}
	if pr.Category != "" {
		p["category"] = pr.Category
	}
	if pr.Score != 0 {
		p["score"] = pr.Score
	}
	if pr.Explanation != "" {
		p["explanation"] = pr.Explanation
	}
	return p
}

// placeholderIDs are user ids Amplitude and Mixpanel refuse as the
// placeholders of a broken integration.
var placeholderIDs = map[string]bool{
	"anon": true, "anonymous": true, "nil": true, "none": true, "null": true, "n/a": true, "na": true,
	"undefined": true, "unknown": true, "0": true, "-1": true, "lmy47d": true,
	"00000000-0000-0000-0000-000000000000": true,
}

// UserPrefix is put before a persona id that an ingest API would refuse
// as a user id.
const UserPrefix = "recloop-"

// userID is the analytics user of an event: the persona id, prefixed when
// it is shorter than Amplitude's 5 characters or a placeholder. Every
// format uses the same id, so a user is one user in every tool.
func userID(e *Event) string {
	if len(e.UserID) < 5 || placeholderIDs[strings.ToLower(e.UserID)] {
		return UserPrefix + e.UserID
	}
	return e.UserID
}

// millis is an event's time as the milliseconds since the epoch that
// Amplitude and Mixpanel take.
func millis(t time.Time) int64 { return t.UnixMilli() }

// jsonLines writes one JSON document a line.
type jsonLines struct {
	enc *json.Encoder
}

func newJSONLines(w io.Writer) *jsonLines {
	enc := json.NewEncoder(w)
	// Explanations and titles are text people read in the tools: keep
	// them as written.
	enc.SetEscapeHTML(false)
	return &jsonLines{enc: enc}
}

func (j *jsonLines) line(v any) error { return j.enc.Encode(v) }

// checkWindow refuses events that span first..last when some fall before
// earliest or after latest, naming the API whose rule it is.
func checkWindow(api string, first, last, earliest, latest time.Time) error {
	const layout = time.RFC3339
	switch {
	case first.Before(earliest):
		return fmt.Errorf("export: %s refuses events before %s; this run's first event would be at %s (choose a later --start)",
			api, earliest.UTC().Format(layout), first.UTC().Format(layout))
	case last.After(latest):
		return fmt.Errorf("export: %s refuses events after %s; this run's last event would be at %s (choose an earlier --start or a shorter --round-every)",
			api, latest.UTC().Format(layout), last.UTC().Format(layout))
	}
	return nil
}
