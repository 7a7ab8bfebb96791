package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// Moving data: a torrent stops (it is not runnable while tr.moving), its
// top file or folder is renamed into the new folder — or, across file
// systems, copied, synced and then deleted — and it starts again from
// there. Piece completion is kept: the same bytes are in the new place.
// A failure puts back what had moved, so the torrent stays where it was.

func errMoving(id int64) error {
	return inputErrorf("torrent %d is moving its data to another folder; try again when that is done", id)
}

// SetLocation changes a torrent's download folder. With move, its data
// moves there first; without, the engine looks for the data in dir and
// verifies it (Transmission's "set location" without moving). It returns
// when the data has moved, which across file systems takes as long as
// copying it. On failure the torrent keeps its old folder and the error
// says why; nothing is left half moved.
func (e *Engine) SetLocation(id int64, dir string, move bool) error {
	d, err := absDir(dir)
	if err != nil {
		return err
	}
	if d == "" {
		return inputErrorf("no folder given")
	}
	e.mu.Lock()
	tr, err := e.lookup(id)
	if err != nil {
		e.mu.Unlock()
		return err
	}
	if tr.moving {
		e.mu.Unlock()
		return errMoving(id)
	}
	if tr.checking {
		e.mu.Unlock()
		return inputErrorf("torrent %d is being verified; move it when that is done", id)
	}
	from := tr.dataDir()
	if from == d {
		// Already there (perhaps still in the incomplete folder, which now becomes its folder).
		tr.rec.Dir, tr.rec.IncompleteDir = d, ""
		tr.edited()
		e.persist(tr)
		e.mu.Unlock()
		return nil
	}
	items := tr.topItems()
	e.beginMove(tr)
	e.wg.Add(1)
	defer e.wg.Done()
	e.mu.Unlock()

	if move {
		err = moveData(e.ctx, from, d, items)
		if lo := (*leftoverError)(nil); errors.As(err, &lo) {
			e.log.Warn("data moved; originals left behind", "torrent", id, "err", err)
			err = nil
		}
	}

	e.mu.Lock()
	defer e.mu.Unlock()
	tr.moving = false
	if err != nil {
		e.kick()
		return fmt.Errorf("move data of torrent %d to %s (it stays in %s): %w", id, d, from, err)
	}
	tr.rec.Dir, tr.rec.IncompleteDir = d, ""
	tr.edited()
	e.persist(tr)
	e.log.Info("torrent location changed", "torrent", id, "dir", d, "moved", move)
	if !move && tr.info != nil && !e.closed {
		// The data there may be anything: hash it.
		if err := e.verify(tr); err != nil {
			e.log.Warn("verify after set location", "torrent", id, "err", err)
		}
	}
	e.kick()
	return nil
}

// beginMove stops a torrent for a move. Called with e.mu held.
func (e *Engine) beginMove(tr *tor) {
	tr.moving = true
	if tr.t != nil {
		e.deactivate(tr)
	}
}

// topItems are the names in the data folder that hold the torrent's files.
// Called with e.mu held.
func (tr *tor) topItems() []string {
	if tr.info == nil {
		return nil // nothing is written before the metadata is known
	}
	if r := tr.root(); r != "" {
		return []string{r}
	}
	seen := map[string]bool{}
	var out []string
	files := tr.info.UpvertedFiles()
	for i := range files {
		top, _, _ := strings.Cut(tr.relPath(i, &files[i]), "/")
		if !seen[top] {
			seen[top] = true
			out = append(out, top)
		}
	}
	return out
}

// placeIncomplete sends a new download to the incomplete folder when one
// is set: on its first start, with nothing downloaded, and no data of it
// already in its download folder (a torrent added to seed files that are
// there stays with them), unless it was added in place. Called with e.mu
// held.
func (e *Engine) placeIncomplete(tr *tor) {
	inc := e.settings.IncompleteDir
	if inc == "" || tr.rec.InPlace || tr.rec.IncompleteDir != "" || inc == tr.rec.Dir || tr.checking {
		return
	}
	if !tr.rec.DoneAt.IsZero() || tr.rec.Downloaded > 0 || tr.piecesDone > 0 {
		return
	}
	name := tr.rec.Name
	if tr.info != nil {
		if e.complete(tr) {
			return
		}
		name = tr.root()
	}
	if name != "" {
		if _, err := os.Lstat(filepath.Join(tr.rec.Dir, name)); err == nil {
			return
		}
	}
	tr.rec.IncompleteDir = inc
	e.persist(tr)
}

// finishIncomplete moves a completed download from the incomplete folder
// to its download folder in the background. If that fails the torrent
// stops with the reason; resuming it tries again. Called with e.mu held.
func (e *Engine) finishIncomplete(tr *tor) {
	if tr.moving || e.closed {
		return
	}
	from, to, id := tr.rec.IncompleteDir, tr.rec.Dir, tr.rec.ID
	items := tr.topItems()
	e.beginMove(tr)
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		err := moveData(e.ctx, from, to, items)
		if lo := (*leftoverError)(nil); errors.As(err, &lo) {
			e.log.Warn("data moved; originals left behind", "torrent", id, "err", err)
			err = nil
		}
		e.mu.Lock()
		defer e.mu.Unlock()
		tr.moving = false
		switch {
		case err == nil:
			tr.rec.IncompleteDir = ""
			e.log.Info("finished download moved", "torrent", id, "dir", to)
		case errors.Is(err, context.Canceled):
			// Shutting down: the move starts again on the next run.
		default:
			tr.rec.Error = fmt.Sprintf("move the finished download to %s: %v (it is still in %s)", to, err, from)
			tr.rec.ErrorKind = errKindIO
			e.log.Error("move finished download", "torrent", id, "err", err)
		}
		e.persist(tr)
		e.kick()
	}()
}

// rename is os.Rename; tests replace it to force the copy path.
var rename = os.Rename

// moveData moves the named items (files or folders) from one folder to
// another: a rename when both are on one file system, else a copy that is
// synced before the originals are deleted. An item missing at the source is
// skipped; one already at the destination stops the move, which never
// overwrites. On failure everything moved so far is put back.
func moveData(ctx context.Context, from, to string, items []string) error {
	if err := os.MkdirAll(to, 0o755); err != nil {
		return fmt.Errorf("create folder: %w", err)
	}
	var present []string
	for _, it := range items {
		if _, err := os.Lstat(filepath.Join(from, it)); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return err
		}
		if _, err := os.Lstat(filepath.Join(to, it)); err == nil {
			return fmt.Errorf("%s already exists", filepath.Join(to, it))
		}
		present = append(present, it)
	}
	var renamed, copied []string
	undo := func() {
		for _, it := range renamed {
			_ = rename(filepath.Join(to, it), filepath.Join(from, it))
		}
		for _, it := range copied {
			_ = os.RemoveAll(filepath.Join(to, it))
		}
	}
	for _, it := range present {
		if err := ctx.Err(); err != nil {
			undo()
			return err
		}
		src, dst := filepath.Join(from, it), filepath.Join(to, it)
		err := rename(src, dst)
		if err == nil {
			renamed = append(renamed, it)
			continue
		}
		if !errors.Is(err, syscall.EXDEV) {
			undo()
			return err
		}
		copied = append(copied, it) // undo removes a partial copy too
		if err := copyTree(ctx, src, dst); err != nil {
			undo()
			return err
		}
	}
	var errs []error
	for _, it := range copied {
		if err := os.RemoveAll(filepath.Join(from, it)); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		// Everything is at the destination; only the old copy is left over.
		return &leftoverError{errors.Join(errs...)}
	}
	return nil
}

// leftoverError: the data moved but the originals could not all be deleted.
type leftoverError struct{ err error }

func (e *leftoverError) Error() string {
	return "data moved, but delete the originals: " + e.err.Error()
}
func (e *leftoverError) Unwrap() error { return e.err }

// copyTree copies a file or folder tree: regular files, folders and
// symbolic links, with their permission bits. Files are synced.
func copyTree(ctx context.Context, src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return os.MkdirAll(target, info.Mode().Perm()|0o700)
		case info.Mode()&fs.ModeSymlink != 0:
			l, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(l, target)
		case info.Mode().IsRegular():
			return copyFile(ctx, p, target, info.Mode().Perm())
		}
		return nil // sockets, devices: not torrent data
	})
}

func copyFile(ctx context.Context, src, dst string, perm fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, ctxReader{ctx, in})
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}

// ctxReader stops a copy when ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (r ctxReader) Read(b []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return r.r.Read(b)
}
