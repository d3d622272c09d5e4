package reports

import (
	"encoding/xml"
	"fmt"
	"io"
	"strconv"

	"github.com/recloop/recloop/metrics"
)

type junitSuite struct {
	XMLName    xml.Name        `xml:"testsuite"`
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Properties []junitProperty `xml:"properties>property"`
	Cases      []junitCase     `xml:"testcase"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Classname string        `xml:"classname,attr"`
	Name      string        `xml:"name,attr"`
	Failure   *junitOutcome `xml:"failure"`
	Skipped   *junitOutcome `xml:"skipped"`
}

type junitOutcome struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Body    string `xml:",chardata"`
}

// JUnit writes the run's gates as a JUnit XML test suite, one test case per
// gate, so that CI systems show them like tests. A failed gate is a failure;
// an inconclusive one is skipped, except when the run failed without any
// gate failing outright: then inconclusiveness is what failed it, and the
// suite must not look green. The output carries no timestamps, so the same
// results give the same bytes.
func JUnit(w io.Writer, r *metrics.Results) error {
	overall := overallVerdict(r)
	inconclusiveFails := overall == metrics.GateFail && tallyGates(r.Gates).fail == 0
	suite := junitSuite{
		Name:  "recloop: " + r.Scenario,
		Tests: len(r.Gates),
		Properties: []junitProperty{
			{"scenario", r.Scenario},
			{"seed", strconv.FormatUint(r.Seed, 10)},
			{"baseline", r.Baseline},
			{"verdict", overall},
		},
		Cases: make([]junitCase, 0, len(r.Gates)),
	}
	if r.Partial {
		suite.Properties = append(suite.Properties, junitProperty{"partial", r.Reason})
	}
	for _, g := range r.Gates {
		c := junitCase{Classname: "recloop.gates", Name: g.Name}
		outcome := &junitOutcome{Message: junitMessage(g), Type: g.Verdict, Body: junitBody(g)}
		switch {
		case g.Verdict == metrics.GatePass:
		case g.Verdict == metrics.GateInconclusive && !inconclusiveFails:
			c.Skipped = outcome
			suite.Skipped++
		default:
			c.Failure = outcome
			suite.Failures++
		}
		suite.Cases = append(suite.Cases, c)
	}

	if _, err := io.WriteString(w, xml.Header); err != nil {
		return fmt.Errorf("reports: write junit: %w", err)
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(suite); err != nil {
		return fmt.Errorf("reports: write junit: %w", err)
	}
	if _, err := io.WriteString(w, "\n"); err != nil {
		return fmt.Errorf("reports: write junit: %w", err)
	}
	return nil
}

func junitMessage(g metrics.GateResult) string {
	msg := gateFigures(g)
	if own := oneLine(g.Message); own != "" {
		msg = own + " (" + msg + ")"
	}
	return msg
}

func junitBody(g metrics.GateResult) string {
	observed, threshold := gateNumbers(g.Observed, g.Threshold)
	return fmt.Sprintf("verdict: %s\ncheck: %s\nobserved: %s\nthreshold: %s\nmessage: %s\n",
		g.Verdict, g.Check, observed, threshold, g.Message)
}
