// Package metrics computes METRICS.md's metrics from trajectory events, with
// bootstrap confidence intervals over personas.
package metrics

import (
	"math"
	"strconv"
)

// Float is a float64 that encodes NaN and ±Inf as JSON null, since a metric
// can be undefined (for example acceptance for a persona that never clicked)
// and encoding/json refuses NaN.
type Float float64

func (f Float) MarshalJSON() ([]byte, error) {
	x := float64(f)
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, x, 'g', -1, 64), nil
}

func (f *Float) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*f = Float(math.NaN())
		return nil
	}
	x, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return err
	}
	*f = Float(x)
	return nil
}

// Defined reports whether the value is a finite number.
func (f Float) Defined() bool {
	x := float64(f)
	return !math.IsNaN(x) && !math.IsInf(x, 0)
}
