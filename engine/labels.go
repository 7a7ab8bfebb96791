package engine

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Label limits: labels are short tags a user gives torrents ("tv",
// "linux"), shown in lists; a remote app must not be able to store
// megabytes in a torrent's record.
const (
	MaxLabels   = 32
	MaxLabelLen = 128 // bytes
)

// SetLabels replaces a torrent's labels. Labels are trimmed; empty ones
// and repeats are dropped, order is kept. A label may not contain a comma
// (Transmission's remotes join labels with commas) or a control character.
func (e *Engine) SetLabels(id int64, labels []string) error {
	clean, err := CleanLabels(labels)
	if err != nil {
		return err
	}
	return e.change(id, func(tr *tor) error {
		tr.rec.Labels = clean
		return nil
	})
}

// CleanLabels returns labels as SetLabels stores them, or the *InputError
// SetLabels would return.
func CleanLabels(labels []string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, l := range labels {
		l = strings.TrimSpace(l)
		if l == "" || seen[l] {
			continue
		}
		switch {
		case !utf8.ValidString(l):
			return nil, inputErrorf("label %q is not valid UTF-8", l)
		case len(l) > MaxLabelLen:
			return nil, inputErrorf("label %.20q… is longer than %d bytes", l, MaxLabelLen)
		case strings.Contains(l, ","):
			return nil, inputErrorf("label %q contains a comma", l)
		case strings.IndexFunc(l, unicode.IsControl) >= 0:
			return nil, inputErrorf("label %q contains a control character", l)
		}
		seen[l] = true
		out = append(out, l)
	}
	if len(out) > MaxLabels {
		return nil, inputErrorf("%d labels: at most %d", len(out), MaxLabels)
	}
	return out, nil
}

// edited marks a user change. Called with e.mu held.
func (tr *tor) edited() { tr.rec.EditedAt = time.Now().UTC() }
