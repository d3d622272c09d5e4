package catalog
import "testing"
func TestV(t *testing.T){ t.Log(len(syntheticTagVocabulary())) }
