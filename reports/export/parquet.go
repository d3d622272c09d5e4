package export

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode"

	"github.com/parquet-go/parquet-go"
)

func init() {
	Register(Format{Name: "parquet", NewDir: NewParquet})
}

// TracksTable is the table that holds every event, as in the warehouse
// layout of Segment and RudderStack; each event name also has a table of
// its own, named by SnakeCase.
const TracksTable = "tracks"

// parquetRowGroup bounds the rows a table holds in memory before they are
// written out as a row group: with ten tables open, a larger group is what
// an export's memory grows with.
const parquetRowGroup = 16 << 10

// common are the columns every table has.
type common struct {
	ID               string    `parquet:"id"`
	UserID           string    `parquet:"user_id"`
	Event            string    `parquet:"event"`
	EventText        string    `parquet:"event_text"`
	Timestamp        time.Time `parquet:"timestamp,timestamp(millisecond)"`
	Synthetic        bool      `parquet:"synthetic"`
	RunID            string    `parquet:"run_id"`
	Scenario         string    `parquet:"scenario"`
	Variant          string    `parquet:"variant"`
	Cell             int64     `parquet:"cell"`
	Replicate        int64     `parquet:"replicate"`
	Round            int64     `parquet:"round"`
	Step             int64     `parquet:"step"`
	Segments         []string  `parquet:"segments,list"`
	RecommendationID string    `parquet:"recommendation_id"`
	ListID           string    `parquet:"list_id"`
}

type productColumns struct {
	ProductID   string  `parquet:"product_id"`
	Position    int64   `parquet:"position"`
	Name        string  `parquet:"name"`
	Category    string  `parquet:"category"`
	Score       float64 `parquet:"score"`
	Explanation string  `parquet:"explanation"`
}

// The rows of each kind of table.
type (
	trackRow struct{ common }
	listRow  struct {
		common
		Impressions []string         `parquet:"impressions,list"`
		Products    []productColumns `parquet:"products,list"`
	}
	productRow struct {
		common
		productColumns
		Stage  string  `parquet:"stage"`
		Rating float64 `parquet:"rating"`
	}
	searchRow struct {
		common
		Query string `parquet:"query"`
	}
	messageRow struct {
		common
		Text string `parquet:"text"`
		Act  string `parquet:"act"`
	}
	experimentRow struct {
		common
		ExperimentID  string `parquet:"experiment_id"`
		VariationID   string `parquet:"variation_id"`
		VariationName string `parquet:"variation_name"`
	}
)

// table is one Parquet file being written.
type table interface {
	add(e *Event, c common) error
	close() error
}

type typedTable[T any] struct {
	f    *os.File
	w    *parquet.GenericWriter[T]
	rows []T
	row  func(e *Event, c common) T
}

func openTable[T any](path string, row func(*Event, common) T) (*typedTable[T], error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	// A fixed creator keeps the same events' files byte for byte the same;
	// Snappy is what warehouses load fastest and DuckDB reads natively.
	w := parquet.NewGenericWriter[T](f, parquet.CreatedBy("recloop", "", ""), parquet.Compression(&parquet.Snappy))
	return &typedTable[T]{f: f, w: w, row: row, rows: make([]T, 0, 1024)}, nil
}

func (t *typedTable[T]) add(e *Event, c common) error {
	t.rows = append(t.rows, t.row(e, c))
	if len(t.rows) < cap(t.rows) {
		return nil
	}
	return t.flushRows()
}

// flushRows hands the buffered rows to the writer, which starts a new row
// group every parquetRowGroup rows.
func (t *typedTable[T]) flushRows() error {
	if _, err := t.w.Write(t.rows); err != nil {
		return err
	}
	t.rows = t.rows[:0]
	if t.w.File().NumRows() >= parquetRowGroup {
		return t.w.Flush()
	}
	return nil
}

func (t *typedTable[T]) close() error {
	err := t.flushRows()
	if cerr := t.w.Close(); err == nil {
		err = cerr
	}
	if cerr := t.f.Close(); err == nil {
		err = cerr
	}
	return err
}

// ParquetWriter writes a run's events as Parquet tables in a directory:
// tracks.parquet with every event, and one file per event name with that
// event's own columns. It holds at most a batch of rows per table.
type ParquetWriter struct {
	dir    string
	tables map[string]table
	tracks *typedTable[trackRow]
}

// NewParquet starts the tables in dir, which must exist.
func NewParquet(dir string) (Writer, error) {
	tracks, err := openTable(filepath.Join(dir, TracksTable+".parquet"), func(_ *Event, c common) trackRow { return trackRow{c} })
	if err != nil {
		return nil, err
	}
	return &ParquetWriter{dir: dir, tables: map[string]table{}, tracks: tracks}, nil
}

// Write adds e to the tracks table and to its event's table.
func (p *ParquetWriter) Write(e *Event) error {
	c := commonOf(e)
	if err := p.tracks.add(e, c); err != nil {
		return err
	}
	t, ok := p.tables[e.Name]
	if !ok {
		var err error
		if t, err = p.open(e.Name); err != nil {
			return err
		}
		p.tables[e.Name] = t
	}
	return t.add(e, c)
}

// open starts the table of one event name, with the columns its events
// carry.
func (p *ParquetWriter) open(name string) (table, error) {
	path := filepath.Join(p.dir, SnakeCase(name)+".parquet")
	if path == filepath.Join(p.dir, TracksTable+".parquet") {
		return nil, fmt.Errorf("export: event %q would overwrite the tracks table", name)
	}
	switch name {
	case ListViewed:
		return openTable(path, func(e *Event, c common) listRow {
			r := listRow{common: c, Impressions: e.Impressions, Products: make([]productColumns, len(e.Products))}
			for i := range e.Products {
				r.Products[i] = productOf(&e.Products[i])
			}
			return r
		})
	case ProductsSearched:
		return openTable(path, func(e *Event, c common) searchRow { return searchRow{common: c, Query: e.Query} })
	case MessageSent, MessageReceived:
		return openTable(path, func(e *Event, c common) messageRow { return messageRow{common: c, Text: e.Text, Act: e.Act} })
	case ExperimentViewed:
		return openTable(path, func(e *Event, c common) experimentRow {
			return experimentRow{common: c, ExperimentID: e.Scenario, VariationID: e.Variant, VariationName: e.Variant}
		})
	case SessionExited, UserReturned:
		return openTable(path, func(_ *Event, c common) trackRow { return trackRow{c} })
	}
	// Clicks, ratings and funnel stages are about one product.
	return openTable(path, func(e *Event, c common) productRow {
		r := productRow{common: c, Stage: e.Stage, Rating: e.Rating}
		if e.Product != nil {
			r.productColumns = productOf(e.Product)
		}
		return r
	})
}

// Close writes every table's last rows and footer.
func (p *ParquetWriter) Close() error {
	err := p.tracks.close()
	for _, t := range p.tables {
		if cerr := t.close(); err == nil {
			err = cerr
		}
	}
	return err
}

func commonOf(e *Event) common {
	return common{
		ID: e.ID, UserID: e.UserID, Event: SnakeCase(e.Name), EventText: e.Name, Timestamp: e.Time.UTC(), Synthetic: true,
		RunID: e.RunID, Scenario: e.Scenario, Variant: e.Variant, Cell: int64(e.Cell), Replicate: int64(e.Replicate),
		Round: int64(e.Round), Step: int64(e.Step), Segments: e.Segments, RecommendationID: e.RecommendationID, ListID: e.ListID,
	}
}

func productOf(p *Product) productColumns {
	return productColumns{ProductID: p.ProductID, Position: int64(p.Position), Name: p.Name, Category: p.Category,
		Score: p.Score, Explanation: p.Explanation}
}

// SnakeCase names an event's table as Segment's warehouses do: "Product
// List Viewed" is product_list_viewed.
func SnakeCase(name string) string {
	var b strings.Builder
	for _, r := range strings.TrimSpace(name) {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(unicode.ToLower(r))
		case b.Len() > 0 && !strings.HasSuffix(b.String(), "_"):
			b.WriteByte('_')
		}
	}
	return strings.TrimSuffix(b.String(), "_")
}
