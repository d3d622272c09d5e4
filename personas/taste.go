package personas

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sync"

	"github.com/recloop/recloop/catalog"
	"github.com/recloop/recloop/config"
	"github.com/recloop/recloop/internal/linalg"
)

// TasteModelVersion is the version of the taste model file format.
const TasteModelVersion = 1

// ErrTasteModel is matched by every problem with a taste model file.
var ErrTasteModel = errors.New("personas: invalid taste model")

// TasteModel is taste learned from an interaction log, which no cosine
// over categories and tags reproduces: a vector per item from implicit
// alternating least squares over who consumed what (Hu, Koren & Volinsky
// 2008), and a quality per item (its rating above or below the mean, shrunk
// towards 0). A persona's own vector is solved from its history against
// the item vectors when it is built and again as it consumes, so any
// persona with a history has one; docs/user-model.md has the equations.
// recloop personas from-logs and recloop fidelity --fit write it.
type TasteModel struct {
	Version int    `json:"version"`
	Source  string `json:"source,omitempty"`
	// Factors is the dimension of the vectors.
	Factors int `json:"factors"`
	// Regularization (λ) and Alpha (α) are the least-squares penalty and
	// the weight of a consumed pair, as the vectors were fitted.
	Regularization float64 `json:"regularization"`
	Alpha          float64 `json:"alpha"`
	// Recency is the half-life, in items, of a history item's weight when a
	// persona is solved: the k-th most recent item weighs 2^(−k/Recency).
	// 0 weighs the whole history alike.
	Recency float64 `json:"recency"`
	// MeanRating is the log's mean rating, which quality is measured from.
	MeanRating float64     `json:"mean_rating,omitempty"`
	Items      []TasteItem `json:"items"`
}

// TasteItem is one item's learned vector and quality.
type TasteItem struct {
	ID      string    `json:"id"`
	Vector  []float64 `json:"vector"`
	Quality float64   `json:"quality,omitempty"`
}

// ReadTasteModel decodes and checks a taste model file.
func ReadTasteModel(path string) (*TasteModel, error) {
	f, err := config.OpenFile(path, config.MaxDataBytes)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var m TasteModel
	dec := json.NewDecoder(f)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrTasteModel, path, err)
	}
	if err := m.check(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &m, nil
}

// WriteJSON writes the model as ReadTasteModel reads it.
func (m *TasteModel) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	return enc.Encode(m)
}

func (m *TasteModel) check() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrTasteModel}, args...)...))
	}
	if m.Version != TasteModelVersion {
		bad("version %d, want %d", m.Version, TasteModelVersion)
	}
	if m.Factors < 1 || m.Factors > 1024 {
		bad("factors %d, want 1 to 1024", m.Factors)
	}
	finite := func(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
	if !finite(m.Regularization) || m.Regularization <= 0 {
		bad("regularization %g, want a finite number above 0", m.Regularization)
	}
	if !finite(m.Alpha) || m.Alpha < 0 {
		bad("alpha %g, want a finite number of at least 0", m.Alpha)
	}
	if !finite(m.Recency) || m.Recency < 0 {
		bad("recency %g, want a finite number of at least 0", m.Recency)
	}
	seen := make(map[string]int, len(m.Items))
	for k, it := range m.Items {
		if first, dup := seen[it.ID]; dup {
			bad("items[%d]: id %q repeats items[%d]", k, it.ID, first)
		}
		seen[it.ID] = k
		if len(it.Vector) != m.Factors {
			bad("items[%d] (%s): vector has %d values, want %d", k, it.ID, len(it.Vector), m.Factors)
		}
		for _, x := range it.Vector {
			if !finite(x) {
				bad("items[%d] (%s): vector has a value that is not a finite number", k, it.ID)
				break
			}
		}
		if !finite(it.Quality) {
			bad("items[%d] (%s): quality is not a finite number", k, it.ID)
		}
		if len(errs) >= 20 {
			break
		}
	}
	return errors.Join(errs...)
}

// boundTaste is a taste model laid out by catalog index. Items the model
// lacks have a zero vector and quality 0.
type boundTaste struct {
	f       int
	vectors []float64 // catalog.Len() × f
	quality []float64
	gram    []float64 // VᵀV + λI
	alpha   float64
	recency float64
	solvers sync.Pool
}

// bind lays the model out over cat. Model items the catalog lacks are
// ignored; the number of catalog items the model covers is returned.
func (m *TasteModel) bind(cat *catalog.Catalog) (*boundTaste, int, error) {
	if err := m.check(); err != nil {
		return nil, 0, err
	}
	f := m.Factors
	b := &boundTaste{
		f: f, vectors: make([]float64, cat.Len()*f), quality: make([]float64, cat.Len()),
		alpha: m.Alpha, recency: m.Recency,
	}
	covered := 0
	for _, it := range m.Items {
		idx, ok := cat.Index(it.ID)
		if !ok {
			continue
		}
		copy(b.vectors[idx*f:(idx+1)*f], it.Vector)
		b.quality[idx] = it.Quality
		covered++
	}
	b.gram = linalg.Gram(b.vectors, f, m.Regularization)
	b.solvers.New = func() any { return &foldWork{Solver: linalg.NewSolver(f)} }
	return b, covered, nil
}

type foldWork struct {
	*linalg.Solver
	entries []linalg.Entry
}

// foldIn solves a persona's vector from its history, the k-th most recent
// item weighted 2^(−k/recency): the least-squares step of the fit with the
// item vectors held fixed. An empty history gives the zero vector.
func (b *boundTaste) foldIn(history []Consumed, out []float64) {
	if len(history) == 0 {
		clear(out)
		return
	}
	w := b.solvers.Get().(*foldWork)
	defer b.solvers.Put(w)
	w.entries = w.entries[:0]
	for k, c := range history {
		r := 1.0
		if b.recency > 0 {
			r = math.Exp2(-float64(len(history)-1-k) / b.recency)
		}
		w.entries = append(w.entries, linalg.Entry{ID: c.Item, R: float32(r)})
	}
	w.Solve(b.gram, b.vectors, w.entries, b.alpha, out)
}

// score is x·y_i.
func (b *boundTaste) score(x []float64, item int) float64 {
	return linalg.Dot(x, b.vectors[item*b.f:(item+1)*b.f])
}
