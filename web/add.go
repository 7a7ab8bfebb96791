package web

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/hearth-media/hearth/engine"
	"github.com/hearth-media/hearth/engine/channel"
	"github.com/hearth-media/hearth/engine/link"
)

// addBody is the JSON body of POST /api/v1/torrents. Exactly one of
// Magnet, URL, Path and Metainfo is set.
type addBody struct {
	Magnet   string   `json:"magnet"`
	URL      string   `json:"url"`      // http(s) address of a .torrent file, fetched by the daemon
	Path     string   `json:"path"`     // a .torrent file on the daemon's file system
	Metainfo []byte   `json:"metainfo"` // the .torrent file, base64
	Dir      string   `json:"dir"`
	Paused   bool     `json:"paused"`
	Files    []int    `json:"files"` // indices to download; absent = all
	Peers    []string `json:"peers"` // host:port peers to connect to at once
}

// addResponse is the torrent plus whether it was already there.
type addResponse struct {
	engine.Torrent
	Existed bool `json:"existed"`
}

func (a *api) addTorrent(w http.ResponseWriter, r *http.Request) error {
	mt, err := mediaType(r)
	if err != nil {
		return err
	}
	var body addBody
	switch mt {
	case "application/json":
		if err := readJSON(http.MaxBytesReader(w, r.Body, maxAddJSONBody), &body); err != nil {
			return err
		}
	case "application/x-bittorrent":
		if body, err = rawAdd(w, r); err != nil {
			return err
		}
	case "multipart/form-data":
		if body, err = multipartAdd(w, r); err != nil {
			return err
		}
	case "":
		return errorf(http.StatusUnsupportedMediaType, "missing Content-Type: send application/json, application/x-bittorrent or multipart/form-data")
	default:
		return errorf(http.StatusUnsupportedMediaType, "unsupported Content-Type %q: send application/json, application/x-bittorrent or multipart/form-data", mt)
	}
	req, err := a.addRequest(r, body)
	if err != nil {
		return err
	}
	if channel.IsLink(req.Magnet) {
		// A channel link (given, or an indexer's redirect) is accepted
		// wherever a magnet is: it subscribes.
		return a.subscribeFromAdd(w, r, req)
	}
	t, existed, err := a.eng.Add(r.Context(), req)
	if err != nil {
		return err
	}
	code := http.StatusCreated
	if existed {
		code = http.StatusOK
	} else {
		w.Header().Set("Location", fmt.Sprintf("/api/v1/torrents/%d", t.ID))
	}
	writeJSON(w, code, addResponse{Torrent: t, Existed: existed})
	return nil
}

// addRequest checks the body and turns it into an engine request,
// fetching a URL's .torrent.
func (a *api) addRequest(r *http.Request, b addBody) (engine.AddRequest, error) {
	n := 0
	for _, set := range []bool{b.Magnet != "", b.URL != "", b.Path != "", b.Metainfo != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		return engine.AddRequest{}, errorf(http.StatusBadRequest, "give exactly one of magnet, url, path and metainfo")
	}
	req := engine.AddRequest{
		Magnet:   b.Magnet,
		Metainfo: b.Metainfo,
		Path:     b.Path,
		Dir:      b.Dir,
		Paused:   b.Paused,
		Files:    b.Files,
		Peers:    b.Peers,
	}
	if b.Metainfo != nil && len(b.Metainfo) == 0 {
		return req, errorf(http.StatusBadRequest, "metainfo is empty")
	}
	if b.URL != "" {
		u, err := url.Parse(b.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			if strings.HasPrefix(strings.ToLower(b.URL), "magnet:") {
				return req, errorf(http.StatusBadRequest, "url is a magnet link: send it as \"magnet\"")
			}
			return req, errorf(http.StatusBadRequest, "url %q: want an http:// or https:// address of a .torrent file", b.URL)
		}
		data, err := a.fetch(r.Context(), b.URL)
		var le *link.Error
		var mr *link.MagnetRedirectError
		switch {
		case errors.As(err, &mr):
			// Indexers answer magnet-only results with a redirect.
			req.Magnet = mr.Magnet
			return req, nil
		case errors.As(err, &le):
			return req, &httpError{Code: http.StatusBadRequest, Msg: oneLine(le.Error()), Err: err}
		case err != nil:
			// The request was fine; the server it named was not.
			return req, &httpError{Code: http.StatusBadGateway, Msg: oneLine(fmt.Sprintf("cannot fetch the torrent from %s: %v", u.Redacted(), err)), Err: err}
		}
		req.Metainfo = data
	}
	return req, nil
}

// rawAdd reads an application/x-bittorrent body; options come from the
// query string (dir, paused, files, peer).
func rawAdd(w http.ResponseWriter, r *http.Request) (addBody, error) {
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxTorrentBody))
	if err != nil {
		return addBody{}, err
	}
	if len(data) == 0 {
		return addBody{}, errorf(http.StatusBadRequest, "request body is empty: want the .torrent file")
	}
	b := addBody{Metainfo: data}
	q := r.URL.Query()
	for k, vs := range q {
		if err := b.setField(k, vs, false); err != nil {
			return addBody{}, err
		}
	}
	return b, nil
}

// multipartAdd reads a form: a "torrent" file part and the fields magnet,
// url, path, dir, paused, files, peers (or peer).
func multipartAdd(w http.ResponseWriter, r *http.Request) (addBody, error) {
	r.Body = http.MaxBytesReader(w, r.Body, maxTorrentBody+maxJSONBody)
	mr, err := r.MultipartReader()
	if err != nil {
		return addBody{}, errorf(http.StatusBadRequest, "bad multipart body: %v", err)
	}
	var b addBody
	seen := map[string]bool{}
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return addBody{}, multipartError(err)
		}
		name := p.FormName()
		if name == "torrent" {
			if seen[name] {
				return addBody{}, errorf(http.StatusBadRequest, "more than one torrent part")
			}
			seen[name] = true
			data, err := io.ReadAll(io.LimitReader(p, maxTorrentBody+1))
			if err != nil {
				return addBody{}, multipartError(err)
			}
			if len(data) > maxTorrentBody {
				return addBody{}, errorf(http.StatusRequestEntityTooLarge, "torrent file is larger than %s", sizeString(maxTorrentBody))
			}
			if len(data) == 0 {
				return addBody{}, errorf(http.StatusBadRequest, "torrent part is empty")
			}
			b.Metainfo = data
			continue
		}
		v, err := io.ReadAll(io.LimitReader(p, maxJSONBody+1))
		if err != nil {
			return addBody{}, multipartError(err)
		}
		if len(v) > maxJSONBody {
			return addBody{}, errorf(http.StatusRequestEntityTooLarge, "form field %q is larger than %s", name, sizeString(maxJSONBody))
		}
		if err := b.setField(name, []string{string(v)}, seen[name]); err != nil {
			return addBody{}, err
		}
		seen[name] = true
	}
	return b, nil
}

func multipartError(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return err
	}
	return errorf(http.StatusBadRequest, "bad multipart body: %v", err)
}

// setField sets an add option given as a query parameter or form field.
// again says the field was already given once.
func (b *addBody) setField(name string, vs []string, again bool) error {
	single := func() (string, error) {
		if len(vs) != 1 || again {
			return "", errorf(http.StatusBadRequest, "%s given more than once", name)
		}
		return vs[0], nil
	}
	var err error
	switch name {
	case "magnet":
		b.Magnet, err = single()
	case "url":
		b.URL, err = single()
	case "path":
		b.Path, err = single()
	case "dir":
		b.Dir, err = single()
	case "paused":
		var v string
		if v, err = single(); err == nil {
			if b.Paused, err = strconv.ParseBool(v); err != nil {
				err = errorf(http.StatusBadRequest, "paused=%q: want true or false", v)
			}
		}
	case "files":
		var v string
		if v, err = single(); err == nil {
			b.Files, err = parseIndexList(v)
		}
	case "peer", "peers":
		for _, v := range vs {
			for _, p := range strings.Split(v, ",") {
				if p = strings.TrimSpace(p); p != "" {
					b.Peers = append(b.Peers, p)
				}
			}
		}
	default:
		err = errorf(http.StatusBadRequest, "unknown field %q (want torrent, magnet, url, path, dir, paused, files or peers)", name)
	}
	return err
}

// parseIndexList parses "0,2,5" into file indices; "" is an empty
// selection (no file wanted).
func parseIndexList(s string) ([]int, error) {
	out, err := engine.ParseFileIndexes(s)
	if err != nil {
		return nil, errorf(http.StatusBadRequest, "files: %v", err)
	}
	return out, nil
}
