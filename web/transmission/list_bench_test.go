package transmission

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hearth-media/hearth/config"
	"github.com/hearth-media/hearth/engine/enginetest"
	"github.com/hearth-media/hearth/engine/store"
	"github.com/hearth-media/hearth/web/internal/webtest"
)

// listFields are what a remote asks for to refresh its list (the fields
// of TestReliabilityLoad's torrent-get).
var listFields = `["id","name","status","percentDone","rateDownload","rateUpload","totalSize","sizeWhenDone",` +
	`"leftUntilDone","eta","uploadRatio","peersConnected","error","errorString","queuePosition","isFinished"]`

// benchRPC is a handler over a real engine holding n torrents with the
// router profile's queue limits (2 downloads, 5 seeds: the rest wait). Its
// store is in memory (lists do not read the store; adding 1,000 torrents
// to a store on disk took 20 s).
func benchRPC(b *testing.B, n int) (http.Handler, string) {
	b.Helper()
	node := enginetest.StartNode(b, enginetest.NodeOptions{Backend: store.BackendMemory, Config: func(c *config.Config) {
		c.Queue.MaxDownloads, c.Queue.MaxSeeds = 2, 5
	}})
	enginetest.AddMany(b, node.Engine, n)
	h := NewHandler(Options{Engine: node.Engine, Config: node.Config, Version: "bench"})
	w := &webtest.Discard{}
	h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, Path, strings.NewReader(`{}`)))
	return h, w.Header().Get(HeaderSessionID)
}

func benchGet(b *testing.B, h http.Handler, sid, body string) {
	webtest.BenchServe(b, h, func() *http.Request {
		req := httptest.NewRequest(http.MethodPost, Path, strings.NewReader(body))
		req.Header.Set(HeaderSessionID, sid)
		return req
	})
}

// BenchmarkTorrentGetAll is a remote's refresh of 1,000 torrents: the
// allocations of building and encoding the whole list (bytes/op is what
// the garbage collector of a 64 MB router has to take back per refresh).
func BenchmarkTorrentGetAll(b *testing.B) {
	h, sid := benchRPC(b, 1000)
	benchGet(b, h, sid, `{"method":"torrent-get","arguments":{"fields":`+listFields+`}}`)
}

// BenchmarkTorrentGetFew is a remote's poll of 3 torrents (its details
// window) on a box with 1,000: it must not cost a whole list.
func BenchmarkTorrentGetFew(b *testing.B) {
	h, sid := benchRPC(b, 1000)
	benchGet(b, h, sid, `{"method":"torrent-get","arguments":{"ids":[7,500,999],"fields":`+listFields+`}}`)
}
