package engine

import (
	"slices"
	"testing"
)

func TestParseFileIndexes(t *testing.T) {
	for _, tt := range []struct {
		in      string
		want    []int
		wantErr string
	}{
		{"0,2,5", []int{0, 2, 5}, ""},
		{" 3 , ,7,", []int{3, 7}, ""},
		{"", []int{}, ""},
		{"1,-2", nil, `"-2" is not a file index (want numbers like 0,2,5)`},
		{"1,x", nil, `"x" is not a file index (want numbers like 0,2,5)`},
		{"99999999999999999999", nil, `"99999999999999999999" is not a file index (want numbers like 0,2,5)`},
	} {
		got, err := ParseFileIndexes(tt.in)
		if tt.wantErr != "" {
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("ParseFileIndexes(%q) = %v, %v; want error %q", tt.in, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tt.want) || got == nil {
			t.Errorf("ParseFileIndexes(%q) = %#v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}
