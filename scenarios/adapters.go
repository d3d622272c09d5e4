package scenarios

// The adapters for external recommenders register themselves; importing
// them here makes `http` and `exec` available to every scenario.
import (
	_ "github.com/recloop/recloop/recommenders/execrec"
	_ "github.com/recloop/recloop/recommenders/httprec"
)
