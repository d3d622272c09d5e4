package trajectory

import (
	"bytes"
	"strconv"
	"unicode/utf8"
)

// decodeStep parses a step line laid out exactly as Writer writes one, into
// ev. Step lines are nearly all of a file, and encoding/json spends most of
// a reader's time on them. Anything else (another kind, another field
// order, an escaped string, a number in another form) returns false, and
// the caller decodes the line with encoding/json. Whatever decodeStep
// accepts, encoding/json decodes to the same event (a fuzz test holds it
// to that).
func decodeStep(line []byte, ev *Event) bool {
	d := stepDecoder{b: line}
	ev.V = d.intAfter(`{"v":`)
	if !d.lit(`,"kind":"step"`) {
		return false
	}
	ev.Kind = KindStep
	if d.lit(`,"variant":`) {
		ev.Variant = d.str()
	}
	ev.Round = d.intAfter(`,"round":`)
	if d.lit(`,"persona":`) {
		ev.Persona = d.str()
	}
	s := &Step{}
	ev.Step = s
	if !d.lit(`,"step":{"slate":`) {
		return false
	}
	if !d.lit("null") {
		if !d.lit("[") {
			return false
		}
		s.Slate = make([]Shown, 0, 16)
		for !d.lit("]") {
			if len(s.Slate) > 0 && !d.lit(",") {
				return false
			}
			var sh Shown
			d.shown(&sh)
			if d.bad {
				return false
			}
			s.Slate = append(s.Slate, sh)
		}
	}
	s.Utility = d.floatAfter(`,"utility":`)
	s.Exited = d.lit(`,"exited":true`)
	if d.lit(`,"feedback":`) {
		s.Feedback = d.str()
	}
	if d.lit(`,"hallucinations":`) {
		s.Hallucinations = d.int()
	}
	if d.lit(`,"query":`) {
		s.Query = d.str()
	}
	if d.lit(`,"error":{"kind":`) {
		s.Error = &StepError{Kind: d.str()}
		s.Error.Message = d.strAfter(`,"message":`)
		d.expect("}")
	}
	s.WallLatencyUS = int64(d.intAfter(`,"wall_latency_us":`))
	d.expect("}}")
	return !d.bad && len(d.b) == 0
}

func (d *stepDecoder) shown(sh *Shown) {
	sh.Item = d.strAfter(`{"item":`)
	sh.Score = d.floatAfter(`,"score":`)
	if d.lit(`,"explanation":`) {
		sh.Explanation = d.str()
	}
	sh.Examined = d.lit(`,"examined":true`)
	sh.Clicked = d.lit(`,"clicked":true`)
	if d.lit(`,"rating":`) {
		sh.Rating = d.float()
	}
	if d.lit(`,"reason":`) {
		sh.Reason = d.str()
	}
	if d.lit(`,"stage":`) {
		sh.Stage = d.int()
	}
	if d.lit(`,"dwell":`) {
		sh.Dwell = d.float()
	}
	sh.Bounced = d.lit(`,"bounced":true`)
	d.expect("}")
}

// stepDecoder consumes b from the front; bad sticks once anything is off.
type stepDecoder struct {
	b   []byte
	bad bool
}

func (d *stepDecoder) lit(s string) bool {
	if d.bad || len(d.b) < len(s) || string(d.b[:len(s)]) != s {
		return false
	}
	d.b = d.b[len(s):]
	return true
}

func (d *stepDecoder) expect(s string) {
	if !d.lit(s) {
		d.bad = true
	}
}

// str reads a string without escapes, control bytes or invalid UTF-8, the
// only kind it can take as is.
func (d *stepDecoder) str() string {
	if d.bad || len(d.b) == 0 || d.b[0] != '"' {
		d.bad = true
		return ""
	}
	end := bytes.IndexByte(d.b[1:], '"')
	if end < 0 {
		d.bad = true
		return ""
	}
	raw := d.b[1 : 1+end]
	for _, c := range raw {
		if c == '\\' || c < 0x20 {
			d.bad = true
			return ""
		}
	}
	if !utf8.Valid(raw) {
		d.bad = true
		return ""
	}
	d.b = d.b[2+end:]
	return string(raw)
}

func (d *stepDecoder) strAfter(prefix string) string {
	d.expect(prefix)
	return d.str()
}

// token is the run of bytes a JSON number can be made of.
func (d *stepDecoder) token() []byte {
	n := 0
	for n < len(d.b) {
		c := d.b[n]
		if (c < '0' || c > '9') && c != '-' && c != '+' && c != '.' && c != 'e' && c != 'E' {
			break
		}
		n++
	}
	tok := d.b[:n]
	d.b = d.b[n:]
	return tok
}

// int reads an integer in the form encoding/json writes it: no sign but
// '-', no leading zeros, no fraction.
func (d *stepDecoder) int() int {
	if d.bad {
		return 0
	}
	tok := d.token()
	digits := bytes.TrimPrefix(tok, []byte("-"))
	if len(digits) == 0 || (len(digits) > 1 && digits[0] == '0') || bytes.ContainsAny(digits, "-+.eE") {
		d.bad = true
		return 0
	}
	n, err := strconv.Atoi(string(tok))
	if err != nil {
		d.bad = true
	}
	return n
}

func (d *stepDecoder) intAfter(prefix string) int {
	d.expect(prefix)
	return d.int()
}

// float reads a number in a form both strconv and JSON accept.
func (d *stepDecoder) float() float64 {
	if d.bad {
		return 0
	}
	tok := d.token()
	if !validJSONNumber(tok) {
		d.bad = true
		return 0
	}
	f, err := strconv.ParseFloat(string(tok), 64)
	if err != nil {
		d.bad = true
	}
	return f
}

func (d *stepDecoder) floatAfter(prefix string) float64 {
	d.expect(prefix)
	return d.float()
}

// validJSONNumber is JSON's number grammar:
// -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?
func validJSONNumber(b []byte) bool {
	i := 0
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	default:
		return false
	}
	if i < len(b) && b[i] == '.' {
		i++
		start := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == start {
			return false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		start := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == start {
			return false
		}
	}
	return i == len(b)
}
