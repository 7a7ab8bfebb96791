package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	g "github.com/anacrolix/generics"
	"github.com/anacrolix/torrent/metainfo"
	"github.com/anacrolix/torrent/storage"

	"github.com/hearth-media/hearth/engine/link"
)

// A torrent's files live at dataDir/root/path: root is the info's name (a
// folder for multi-file torrents, the file itself for single-file ones)
// and path each file's path inside it (empty for a single file). Renames
// (RenamePath) change root and paths on disk and are kept in the record;
// the library opens files through a path maker that applies them.

// dataDir is the folder that holds the torrent's root now.
func (tr *tor) dataDir() string {
	if tr.rec.IncompleteDir != "" {
		return tr.rec.IncompleteDir
	}
	return tr.rec.Dir
}

// root is the on-disk name of the torrent's top file or folder, "" when
// its files sit directly in the data folder. Needs the info.
func (tr *tor) root() string {
	if tr.rec.Root != "" {
		return tr.rec.Root
	}
	if n := tr.info.BestName(); n != metainfo.NoName {
		return n
	}
	return ""
}

// relPath is file i's path below the root, slash separated.
func (tr *tor) relPath(i int, f *metainfo.FileInfo) string {
	if i < len(tr.rec.Paths) && tr.rec.Paths[i] != "" {
		return tr.rec.Paths[i]
	}
	return strings.Join(f.BestPath(), "/")
}

// joinTorrentPath is a file's path as remote apps show it: root/path, or the
// root alone for a single-file torrent.
func joinTorrentPath(root, rel string) string {
	switch {
	case root == "":
		return rel
	case rel == "":
		return root
	}
	return root + "/" + rel
}

func (tr *tor) renamed() bool { return tr.rec.Root != "" || tr.rec.Paths != nil }

// storageFor opens the torrent's storage in its data folder, with
// renamed paths when it has any. Called with e.mu held.
func (e *Engine) storageFor(ctx context.Context, tr *tor) *torrentStorage {
	dir := tr.dataDir()
	if !tr.renamed() || tr.info == nil {
		return newTorrentStorage(ctx, dir, e.pc, tr.lim, validateInfo)
	}
	// The library asks for each file by its info entry; map the info's
	// path to the on-disk one.
	paths := map[string]string{}
	root := tr.root()
	for i, f := range tr.info.UpvertedFiles() {
		paths[strings.Join(f.BestPath(), "/")] = filepath.FromSlash(joinTorrentPath(root, tr.relPath(i, &f)))
	}
	inner := storage.NewFileOpts(storage.NewFileClientOpts{
		ClientBaseDir:   dir,
		PieceCompletion: nopCloseCompletion{e.pc},
		UsePartFiles:    g.Some(false),
		FilePathMaker: func(o storage.FilePathMakerOpts) string {
			if p, ok := paths[strings.Join(o.File.BestPath(), "/")]; ok {
				return p
			}
			return filepath.Join(append([]string{root}, o.File.BestPath()...)...)
		},
	})
	return &torrentStorage{inner: inner, lim: tr.lim, ctx: ctx, validate: validateInfo}
}

// RenamePath renames a file or folder of a torrent, on disk and in its file
// list, as Transmission's torrent-rename-path does: path is the current
// path as remote apps show it (starting with the torrent's name, e.g.
// "Album/CD1/01.flac", "Album/CD1" or "Album"), name the new last
// component. Renaming the top folder (or a single-file torrent's file)
// renames the torrent. The torrent stops for the rename and starts again.
func (e *Engine) RenamePath(id int64, path, name string) error {
	if err := link.SafePath([]string{name}); err != nil {
		return &InputError{Msg: "bad new name", Err: err}
	}
	parts := strings.Split(path, "/")
	if err := link.SafePath(parts); err != nil {
		return &InputError{Msg: "bad path", Err: err}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	tr, err := e.lookup(id)
	if err != nil {
		return err
	}
	if tr.info == nil {
		return inputErrorf("torrent %d has no metadata yet: its files are not known", id)
	}
	if tr.moving {
		return errMoving(id)
	}
	root := tr.root()
	files := tr.info.UpvertedFiles()
	full := make([]string, len(files))
	var hit []int
	for i := range files {
		full[i] = joinTorrentPath(root, tr.relPath(i, &files[i]))
		if full[i] == path || strings.HasPrefix(full[i], path+"/") {
			hit = append(hit, i)
		}
	}
	if len(hit) == 0 {
		return inputErrorf("torrent %d has no file or folder %q", id, path)
	}
	newPath := name
	if k := strings.LastIndexByte(path, '/'); k >= 0 {
		newPath = path[:k+1] + name
	}
	if newPath == path {
		return nil
	}
	for _, f := range full {
		if f == newPath || strings.HasPrefix(f, newPath+"/") {
			return inputErrorf("torrent %d already has %q", id, newPath)
		}
	}
	dir := tr.dataDir()
	src := filepath.Join(dir, filepath.FromSlash(path))
	dst := filepath.Join(dir, filepath.FromSlash(newPath))
	if _, err := os.Lstat(dst); err == nil {
		return inputErrorf("cannot rename %q: %s already exists on disk", path, dst)
	}
	wasActive := tr.t != nil
	if wasActive {
		if tr.checking {
			return inputErrorf("torrent %d is being verified; rename it when that is done", id)
		}
		e.deactivate(tr) // the library holds the old paths open
	}
	if err := os.Rename(src, dst); err != nil && !errors.Is(err, os.ErrNotExist) {
		e.schedule(e.now())
		return fmt.Errorf("rename %s: %w", src, err)
	}
	isRoot := root != "" && path == root
	if isRoot {
		tr.rec.Root, tr.rec.Name = name, name
	} else {
		if tr.rec.Paths == nil {
			tr.rec.Paths = make([]string, len(files))
			for i := range files {
				tr.rec.Paths[i] = tr.relPath(i, &files[i])
			}
		}
		for _, i := range hit {
			newFull := newPath + strings.TrimPrefix(full[i], path)
			if root != "" {
				newFull = strings.TrimPrefix(newFull, root+"/")
			}
			tr.rec.Paths[i] = newFull
		}
	}
	tr.edited()
	e.persist(tr)
	e.log.Info("torrent path renamed", "torrent", id, "from", path, "to", newPath)
	e.schedule(e.now())
	return nil
}

// removeTorrentData deletes a removed torrent's files and the folders it
// created, keeping anything else in them. Called with e.mu held.
func (e *Engine) removeTorrentData(tr *tor) error {
	if tr.info == nil {
		return nil
	}
	if !tr.renamed() {
		return removeData(tr.dataDir(), tr.info)
	}
	dir := tr.dataDir()
	root := tr.root()
	var errs []error
	dirs := map[string]bool{}
	files := tr.info.UpvertedFiles()
	for i := range files {
		p := filepath.Join(dir, filepath.FromSlash(joinTorrentPath(root, tr.relPath(i, &files[i]))))
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
		for d := filepath.Dir(p); len(d) > len(dir); d = filepath.Dir(d) {
			dirs[d] = true
		}
	}
	removeEmptyDirs(dirs)
	return errors.Join(errs...)
}

// removeEmptyDirs removes the given folders deepest first; os.Remove
// fails on non-empty folders, which keeps files we did not create.
func removeEmptyDirs(dirs map[string]bool) {
	for len(dirs) > 0 {
		deepest := ""
		for d := range dirs {
			if len(d) > len(deepest) {
				deepest = d
			}
		}
		delete(dirs, deepest)
		_ = os.Remove(deepest)
	}
}
