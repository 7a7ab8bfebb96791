package engine

import "github.com/anacrolix/torrent"

// seqWindow is the run of pieces sequential mode raised, [first, end), in
// the activation t.
type seqWindow struct {
	t          *torrent.Torrent
	first, end int
}

// Window size bounds, in pieces.
const (
	seqMinPieces = 4
	seqMaxPieces = 32
)

// sequential keeps a window of the first missing wanted pieces at priority
// "next" (above file priorities and a player's read-ahead, below the
// pieces a player is blocked on), so wanted data arrive roughly in order.
// Pieces behind the window are complete; turning the mode off gives the
// window back to the file priorities. Called with e.mu held, every tick
// and when the option changes.
func (e *Engine) sequential(tr *tor) {
	t := tr.t
	w := &tr.seq
	if t == nil || tr.info == nil || t.Info() == nil {
		*w = seqWindow{}
		return
	}
	if w.t != t {
		*w = seqWindow{t: t}
	}
	if !tr.rec.Options.Sequential {
		for i := w.first; i < w.end; i++ {
			t.Piece(i).SetPriority(torrent.PiecePriorityNone)
		}
		w.first, w.end = 0, 0
		return
	}
	// Wanted files may change at any time: work it out again each time
	// (O(files + pieces), once a second).
	n := t.NumPieces()
	wanted := wantedPieces(tr, n)
	first := 0
	for first < n && (!wanted[first] || t.Piece(first).State().Complete) {
		first++
	}
	size := seqMinPieces
	if pl := tr.info.PieceLength; pl > 0 {
		size = max(size, min(seqMaxPieces, int(int64(e.cfg.Torrent.ReadAheadKiB)<<10/pl)))
	}
	end := min(n, first+size)
	for i := first; i < end; i++ {
		if wanted[i] {
			t.Piece(i).SetPriority(torrent.PiecePriorityNext)
		}
	}
	w.first, w.end = min(first, w.first), max(end, w.end)
}

// wantedPieces marks the pieces that hold data of a wanted file.
func wantedPieces(tr *tor, n int) []bool {
	out := make([]bool, n)
	pl := tr.info.PieceLength
	var off int64
	for i, f := range tr.info.UpvertedFiles() {
		if i < len(tr.rec.Wanted) && tr.rec.Wanted[i] && f.Length > 0 && pl > 0 {
			for p := off / pl; p <= (off+f.Length-1)/pl && p < int64(n); p++ {
				out[p] = true
			}
		}
		off += f.Length
	}
	return out
}
