package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/anacrolix/torrent"
	"github.com/anacrolix/torrent/bencode"
	"github.com/anacrolix/torrent/metainfo"

	"github.com/hearth-media/hearth/engine/link"
	"github.com/hearth-media/hearth/engine/store"
)

// maxTorrentFile bounds a .torrent read from the daemon's file system.
const maxTorrentFile = 16 << 20

// Add adds a torrent. A duplicate returns the existing torrent and existed=true.
// Bad input returns an *InputError and writes nothing.
func (e *Engine) Add(ctx context.Context, req AddRequest) (t Torrent, existed bool, err error) {
	n := 0
	for _, set := range []bool{req.Magnet != "", req.Metainfo != nil, req.Path != ""} {
		if set {
			n++
		}
	}
	if n != 1 {
		return Torrent{}, false, inputErrorf("give exactly one of a magnet link, a .torrent file or a path")
	}
	var (
		ih        string
		name      string
		infoBytes []byte
		trackers  []string
		webSeeds  []string
		numPieces int
		peers     = append([]string(nil), req.Peers...)
	)
	switch {
	case req.Magnet != "":
		m, err := link.ParseMagnet(req.Magnet)
		if err != nil {
			return Torrent{}, false, &InputError{Msg: "bad magnet link", Err: err}
		}
		ih = metainfo.Hash(m.InfoHash).HexString()
		name, trackers = m.Name, m.Trackers
		peers = append(peers, m.Peers...)
	default:
		b := req.Metainfo
		if req.Path != "" {
			b, err = readTorrentFile(req.Path)
			if err != nil {
				return Torrent{}, false, err
			}
		}
		pt, err := link.ParseTorrent(b)
		if err != nil {
			return Torrent{}, false, &InputError{Msg: "bad torrent file", Err: err}
		}
		ih = metainfo.Hash(pt.InfoHash).HexString()
		infoBytes = pt.InfoBytes
		name = pt.Info.BestName()
		numPieces = pt.Info.NumPieces()
		trackers = pt.Trackers
		webSeeds = cleanWebSeeds(pt.MetaInfo.UrlList)
	}
	for _, p := range peers {
		if _, _, err := net.SplitHostPort(p); err != nil {
			return Torrent{}, false, inputErrorf("bad peer address %q: want host:port", p)
		}
	}
	dir, err := absDir(req.Dir)
	if err != nil {
		return Torrent{}, false, err
	}
	for _, i := range req.Files {
		if i < 0 {
			return Torrent{}, false, inputErrorf("file index %d is negative", i)
		}
	}
	if req.Name != "" {
		name = displayName(req.Name)
	}
	if len(req.VerifiedPieces) > 0 && infoBytes == nil {
		return Torrent{}, false, inputErrorf("verified pieces need the torrent's metadata (a .torrent, not a magnet link)")
	}
	for _, p := range req.VerifiedPieces {
		if p < 0 || p >= numPieces {
			return Torrent{}, false, inputErrorf("verified piece %d out of range: the torrent has %d pieces", p, numPieces)
		}
	}

	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return Torrent{}, false, ErrClosed
	}
	if dir == "" {
		dir = e.settings.DownloadDir
	}
	if e.fetchBusy(ih) {
		return Torrent{}, false, &InputError{Msg: "this torrent's metadata is being checked for a channel; try again in a minute", Err: ErrFetching}
	}
	if tr := e.byHash[ih]; tr != nil {
		// A .torrent for a magnet still waiting for metadata completes it.
		if tr.info == nil && infoBytes != nil && tr.t == nil {
			if err := tr.setInfo(infoBytes); err == nil {
				if err := e.st.Update(func(tx store.Txn) error {
					if err := tx.Set(infoKey(ih), infoBytes); err != nil {
						return err
					}
					return putRecord(tx, &tr.rec)
				}); err != nil {
					// The engine keeps no copy of the bytes: without them
					// saved, the torrent stays a magnet.
					tr.info, tr.numPieces = nil, 0
					return Torrent{}, false, fmt.Errorf("save torrent metadata: %w", err)
				}
				e.refreshDone(tr)
			}
		}
		if len(peers) > 0 && tr.t != nil {
			tr.t.AddPeers(peerInfos(peers))
		}
		e.mergeWebSeeds(tr, webSeeds)
		return e.snapshot(tr, true), true, nil
	}
	tr := &tor{lim: newLimits(), rec: record{
		InfoHash:     ih,
		Name:         name,
		Trackers:     trackers,
		WebSeeds:     webSeeds,
		Dir:          dir,
		InPlace:      req.InPlace,
		Paused:       req.Paused,
		InitialFiles: req.Files,
		PickFiles:    req.Files != nil,
		Options:      TorrentOptions{SeedRatio: -1, SeedIdle: -1},
		QueuePos:     len(e.byID),
		AddedAt:      time.Now().UTC(),
	}}
	if infoBytes != nil {
		// After the record: setInfo applies its file selection.
		if err := tr.setInfo(infoBytes); err != nil {
			return Torrent{}, false, &InputError{Msg: "bad torrent file", Err: err}
		}
		nf := len(tr.rec.Wanted)
		for _, i := range req.Files {
			if i >= nf {
				return Torrent{}, false, inputErrorf("file index %d out of range: the torrent has %d files", i, nf)
			}
		}
	}
	if tr.rec.Name == "" {
		tr.rec.Name = ih
	}
	err = e.st.Update(func(tx store.Txn) error {
		id, err := nextID(tx)
		if err != nil {
			return err
		}
		tr.rec.ID = id
		if infoBytes != nil {
			if err := tx.Set(infoKey(ih), infoBytes); err != nil {
				return err
			}
		}
		return putRecord(tx, &tr.rec)
	})
	if err == nil {
		err = e.st.Sync()
	}
	if err != nil {
		return Torrent{}, false, fmt.Errorf("save torrent: %w", err)
	}
	if err := e.markVerified(ih, req.VerifiedPieces); err != nil {
		e.log.Warn("mark verified pieces", "torrent", tr.rec.ID, "err", err) // they are hashed instead
	}
	e.refreshDone(tr)
	e.byID[tr.rec.ID] = tr
	e.byHash[ih] = tr
	e.log.Info("torrent added", "torrent", tr.rec.ID, "name", tr.rec.Name, "infoHash", ih, "paused", req.Paused)
	e.schedule(time.Now())
	if len(peers) > 0 && tr.t != nil {
		tr.t.AddPeers(peerInfos(peers))
	}
	return e.snapshot(tr, true), false, nil
}

// markVerified records pieces the caller vouches for as complete, before
// the torrent first opens, so the library does not hash them. A piece
// left unmarked after an error is hashed as usual.
func (e *Engine) markVerified(ih string, pieces []int) error {
	h := metainfo.NewHashFromHex(ih)
	for _, p := range pieces {
		if err := e.pc.Set(metainfo.PieceKey{InfoHash: h, Index: p}, true); err != nil {
			return err
		}
	}
	return nil
}

// displayName keeps a caller's display name to one line of at most 255
// bytes of valid UTF-8.
func displayName(s string) string {
	s = strings.ToValidUTF8(s, "")
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
	for len(s) > 255 {
		_, n := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-n]
	}
	return strings.TrimSpace(s)
}

func readTorrentFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &InputError{Msg: "open torrent file", Err: err}
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxTorrentFile+1))
	if err != nil {
		return nil, &InputError{Msg: "read torrent file", Err: err}
	}
	if len(b) > maxTorrentFile {
		return nil, inputErrorf("torrent file %s is larger than %d MiB", path, maxTorrentFile>>20)
	}
	return b, nil
}

// peerInfos turns host:port strings into library peer records; bad ones are skipped
// (callers validate first).
func peerInfos(addrs []string) []torrent.PeerInfo {
	var out []torrent.PeerInfo
	for _, a := range addrs {
		ta, err := net.ResolveTCPAddr("tcp", a)
		if err != nil {
			continue
		}
		// Not Trusted: a peer named in a link must still be banned if it sends bad data.
		out = append(out, torrent.PeerInfo{Addr: ta, Source: torrent.PeerSourceDirect})
	}
	return out
}

// validateInfo checks an info dictionary the way link does for .torrent
// files; storage calls it before creating any file.
func validateInfo(info *metainfo.Info) error {
	b, err := bencode.Marshal(info)
	if err != nil {
		return fmt.Errorf("encode info: %w", err)
	}
	_, err = validateInfoBytes(b)
	return err
}

func validateInfoBytes(b []byte) (*link.Torrent, error) {
	return link.ValidateInfo(b)
}

func isNoSpace(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) ||
		strings.Contains(err.Error(), "no space left on device")
}

// removeData deletes a torrent's files and the folders it created.
func removeData(dir string, info *metainfo.Info) error {
	if info == nil {
		return nil
	}
	root := dir
	if name := info.BestName(); name != metainfo.NoName {
		root = joinSafe(dir, name)
	}
	var errs []error
	files := info.UpvertedFiles()
	if len(info.Files) == 0 {
		if err := os.Remove(root); err != nil && !os.IsNotExist(err) {
			errs = append(errs, err)
		}
		return errors.Join(errs...)
	}
	dirs := map[string]bool{}
	for _, f := range files {
		p := joinSafe(root, f.BestPath()...)
		if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
			errs = append(errs, err)
		}
		for d := filepath.Dir(p); len(d) > len(root); d = filepath.Dir(d) {
			dirs[d] = true
		}
	}
	// Deepest first; os.Remove fails on non-empty folders, which keeps files we did not create.
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
	_ = os.Remove(root)
	return errors.Join(errs...)
}
