package reports

import (
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"strings"
)

// The checksum make echarts recorded; only the test reads it.
//
//go:embed assets/echarts.sha256
var echartsSHA256File string

// echartsChecksum is the hex SHA-256 the checksum file records.
func echartsChecksum() string {
	fields := strings.Fields(echartsSHA256File)
	if len(fields) == 0 {
		return ""
	}
	return fields[0]
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
