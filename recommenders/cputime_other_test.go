//go:build !unix

package recommenders

import "time"

// processCPU is not measured on this platform; benchmarks then omit the
// CPU-time metrics.
func processCPU() time.Duration { return 0 }
