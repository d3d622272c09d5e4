package judges

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/recloop/recloop/catalog"
	"github.com/recloop/recloop/config"
)

// ErrLabels: a labels file is malformed.
var ErrLabels = errors.New("judges: bad labels")

// Label is one explanation scored by a human: a line of a labels file.
type Label struct {
	Persona        string         `json:"persona"`
	Item           string         `json:"item"`
	Explanation    string         `json:"explanation"`
	PersonaSummary string         `json:"persona_summary,omitempty"`
	History        []string       `json:"history,omitempty"`
	ItemTitle      string         `json:"item_title,omitempty"`
	ItemCategories []string       `json:"item_categories,omitempty"`
	ItemTags       []string       `json:"item_tags,omitempty"`
	ItemAttributes map[string]any `json:"item_attributes,omitempty"`
	ItemDesc       string         `json:"item_description,omitempty"`
	// Scores are the human's 1–5 scores by rubric dimension; a dimension the
	// human left out is not calibrated on this label.
	Scores map[string]int `json:"scores"`
	// Note is the labeller's comment; judges never see it.
	Note string `json:"note,omitempty"`
}

// Case is the label as a judge sees it.
func (l Label) Case() Case {
	c := Case{
		Variant: "labels", Persona: l.Persona, PersonaSummary: l.PersonaSummary, Explanation: l.Explanation,
		Item: &catalog.Item{ID: l.Item, Title: l.ItemTitle, Categories: l.ItemCategories, Tags: l.ItemTags,
			Attributes: l.ItemAttributes, Description: l.ItemDesc},
		ItemIndex: -1,
	}
	for _, title := range l.History {
		c.History = append(c.History, HistoryItem{Title: title})
	}
	return c
}

// maxLabelLine bounds one JSONL line.
const maxLabelLine = 1 << 20

// LoadLabels reads a JSONL labels file; errors name the file and line.
func LoadLabels(path string) ([]Label, error) {
	f, err := config.OpenFile(path, config.MaxDataBytes)
	if err != nil {
		return nil, fmt.Errorf("judges: labels: %w", err)
	}
	defer f.Close()
	return ParseLabels(path, f)
}

// ParseLabels reads labels from r, one JSON object a line; blank lines and
// lines starting with # are skipped. file names the source in errors.
func ParseLabels(file string, r io.Reader) ([]Label, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), maxLabelLine)
	var labels []Label
	for line := 1; sc.Scan(); line++ {
		text := bytes.TrimSpace(sc.Bytes())
		if len(text) == 0 || text[0] == '#' {
			continue
		}
		dec := json.NewDecoder(bytes.NewReader(text))
		dec.DisallowUnknownFields()
		var l Label
		if err := dec.Decode(&l); err != nil {
			return nil, fmt.Errorf("%w: %s:%d: %v", ErrLabels, file, line, err)
		}
		if dec.More() {
			return nil, fmt.Errorf("%w: %s:%d: more than one JSON value on the line", ErrLabels, file, line)
		}
		if err := l.check(); err != nil {
			return nil, fmt.Errorf("%w: %s:%d: %v", ErrLabels, file, line, err)
		}
		labels = append(labels, l)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrLabels, file, err)
	}
	if len(labels) == 0 {
		return nil, fmt.Errorf("%w: %s: no labels", ErrLabels, file)
	}
	return labels, nil
}

func (l Label) check() error {
	switch {
	case l.Item == "":
		return errors.New("item is required")
	case l.Explanation == "":
		return errors.New("explanation is required")
	case len(l.Scores) == 0:
		return errors.New("scores are required")
	}
	for _, dim := range sortedKeys(l.Scores) {
		if s := l.Scores[dim]; s < 1 || s > 5 {
			return fmt.Errorf("scores.%s: %d is outside 1–5", dim, s)
		}
	}
	return nil
}

// CalibrationResult is how well a judge agrees with human labels.
type CalibrationResult struct {
	Labels     int                  `json:"labels"`
	Dimensions []DimensionAgreement `json:"dimensions"`
}

// DimensionAgreement compares judge and human scores on one dimension. Alpha
// and Kappa are NaN when undefined (see KrippendorffAlphaOrdinal and
// QuadraticKappa).
type DimensionAgreement struct {
	Dimension string `json:"dimension"`
	// N is how many labels scored the dimension.
	N int `json:"n"`
	// Alpha is Krippendorff's ordinal α with judge and human as two coders.
	Alpha float64 `json:"alpha"`
	// Kappa is quadratic-weighted Cohen's κ on the 1–5 scale, the judge's
	// (possibly averaged) scores rounded.
	Kappa float64 `json:"kappa"`
	// MAD is the mean absolute difference, judge − human, in score points.
	MAD float64 `json:"mad"`
	// Bias is the mean signed difference, judge − human: > 0 means lenient.
	Bias float64 `json:"bias"`
}

// Calibrate runs j on every label and compares its scores with the human
// ones, per rubric dimension (the default rubric when it has none).
func Calibrate(ctx context.Context, j Judge, labels []Label, rubric Rubric) (CalibrationResult, error) {
	if len(rubric.Dimensions) == 0 {
		rubric = DefaultRubric()
	}
	verdicts := make([]Verdict, len(labels))
	for i, l := range labels {
		v, err := j.Judge(ctx, l.Case())
		if err != nil {
			return CalibrationResult{}, fmt.Errorf("judges: calibrate, label %d (%s/%s): %w", i+1, l.Persona, l.Item, err)
		}
		verdicts[i] = v
	}
	res := CalibrationResult{Labels: len(labels)}
	for _, dim := range rubric.Dimensions {
		agg := DimensionAgreement{Dimension: dim.Name}
		var units [][]float64
		var human, judged []int
		for i, l := range labels {
			h, ok := l.Scores[dim.Name]
			s, scored := verdicts[i].Scores[dim.Name]
			if !ok || !scored {
				continue
			}
			units = append(units, []float64{float64(h), s})
			human = append(human, h)
			judged = append(judged, int(clampScore(s)))
			agg.MAD += math.Abs(s - float64(h))
			agg.Bias += s - float64(h)
		}
		agg.N = len(human)
		agg.Alpha = KrippendorffAlphaOrdinal(units)
		agg.Kappa = QuadraticKappa(human, judged, 1, 5)
		if agg.N > 0 {
			agg.MAD /= float64(agg.N)
			agg.Bias /= float64(agg.N)
		} else {
			agg.MAD, agg.Bias = math.NaN(), math.NaN()
		}
		res.Dimensions = append(res.Dimensions, agg)
	}
	return res, nil
}
