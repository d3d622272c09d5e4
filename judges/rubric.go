package judges

// Rubric is what an LLM judge grades against: dimensions, each with
// anchored descriptions of the scores 1 to 5.
type Rubric struct {
	Name       string      `yaml:"name" json:"name"`
	Dimensions []Dimension `yaml:"dimensions" json:"dimensions"`
}

// Dimension is one graded aspect of an explanation.
type Dimension struct {
	Name        string `yaml:"name" json:"name"`
	Description string `yaml:"description" json:"description"`
	// Anchors describe scores 1–5 (keys 1..5).
	Anchors map[int]string `yaml:"anchors" json:"anchors"`
}

// Default dimension names.
const (
	Relevance    = "relevance"
	Specificity  = "specificity"
	Faithfulness = "faithfulness"
	Helpfulness  = "helpfulness"
)
