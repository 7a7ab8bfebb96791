package engine_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"

	"github.com/anacrolix/torrent/bencode"

	"github.com/hearth-media/hearth/config"
	"github.com/hearth-media/hearth/engine"
	"github.com/hearth-media/hearth/engine/enginetest"
)

// TestHostileMetadataPeer: a peer answers a magnet's metadata request with
// bytes that do not match the infohash and nest 4 million lists deep. The
// library decoded metadata before checking its hash, recursively, and the
// stack overflow killed the whole process (Go cannot recover from it). If
// this test binary survives, the check works.
func TestHostileMetadataPeer(t *testing.T) {
	meta := append([]byte("d1:a"), bytes.Repeat([]byte("l"), 4_000_000)...)
	ih := bytes.Repeat([]byte{0xab}, 20)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	served := make(chan int, 16)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { served <- serveHostileMetadata(c, ih, meta) }()
		}
	}()

	n := enginetest.StartNode(t, enginetest.NodeOptions{Config: func(c *config.Config) { c.Torrent.Encryption = "tolerate" }})
	got, _, err := n.Engine.Add(context.Background(), engine.AddRequest{
		Magnet: "magnet:?xt=urn:btih:abababababababababababababababababababab",
		Peers:  []string{ln.Addr().String()},
	})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case pieces := <-served:
		if pieces == 0 {
			t.Fatalf("the hostile peer served no metadata: the test did not exercise the decoder")
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("the engine never asked the hostile peer for metadata")
	}
	time.Sleep(time.Second) // give a decode the time to run
	x, err := n.Engine.Get(got.InfoHash)
	if err != nil {
		t.Fatal(err)
	}
	if x.HasMetadata {
		t.Fatalf("metadata that does not match the infohash was accepted")
	}
}

// serveHostileMetadata speaks just enough BitTorrent (handshake, BEP 10,
// BEP 9) to hand out meta, and returns how many metadata pieces it sent.
func serveHostileMetadata(c net.Conn, ih, meta []byte) int {
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	hs := make([]byte, 68)
	if _, err := io.ReadFull(c, hs); err != nil {
		return 0
	}
	out := []byte("\x13BitTorrent protocol")
	out = append(out, 0, 0, 0, 0, 0, 0x10, 0, 0)
	out = append(out, ih...)
	out = append(out, []byte("-XX0001-hostilepeer!")...)
	c.Write(out)
	send := func(id byte, payload []byte) {
		var l [4]byte
		binary.BigEndian.PutUint32(l[:], uint32(len(payload)+1))
		c.Write(append(append(l[:], id), payload...))
	}
	ext, _ := bencode.Marshal(map[string]any{"m": map[string]any{"ut_metadata": 3}, "metadata_size": len(meta)})
	send(20, append([]byte{0}, ext...))
	theirID := byte(0)
	sent := 0
	for sent*16384 < len(meta) {
		var l [4]byte
		if _, err := io.ReadFull(c, l[:]); err != nil {
			return sent
		}
		msg := make([]byte, binary.BigEndian.Uint32(l[:]))
		if _, err := io.ReadFull(c, msg); err != nil || len(msg) < 2 || msg[0] != 20 {
			continue
		}
		if msg[1] == 0 {
			var h struct {
				M map[string]int `bencode:"m"`
			}
			_ = bencode.Unmarshal(msg[2:], &h)
			theirID = byte(h.M["ut_metadata"])
			continue
		}
		var req struct {
			Type  int `bencode:"msg_type"`
			Piece int `bencode:"piece"`
		}
		_ = bencode.Unmarshal(msg[2:], &req)
		if req.Type != 0 {
			continue
		}
		start := req.Piece * 16384
		end := min(start+16384, len(meta))
		hdr, _ := bencode.Marshal(map[string]any{"msg_type": 1, "piece": req.Piece, "total_size": len(meta)})
		send(20, append(append([]byte{theirID}, hdr...), meta[start:end]...))
		sent++
	}
	time.Sleep(2 * time.Second)
	return sent
}
