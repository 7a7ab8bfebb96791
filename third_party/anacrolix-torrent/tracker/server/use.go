package trackerServer

import "github.com/anacrolix/torrent/tracker"

type (
	AnnounceRequest = tracker.AnnounceRequest
	Client          = tracker.Client
	Peer            = tracker.Peer
)
