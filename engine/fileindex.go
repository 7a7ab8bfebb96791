package engine

import (
	"fmt"
	"strconv"
	"strings"
)

// ParseFileIndexes parses a comma-separated list of file indexes ("0,2,5",
// blanks ignored) as the API's and the command line's file selections
// take it. "" is an empty list; callers that need a file say so.
func ParseFileIndexes(s string) ([]int, error) {
	out := []int{}
	for f := range strings.SplitSeq(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		i, err := strconv.Atoi(f)
		if err != nil || i < 0 {
			return nil, fmt.Errorf("%q is not a file index (want numbers like 0,2,5)", f)
		}
		out = append(out, i)
	}
	return out, nil
}
