package sharepage

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	eshare "github.com/hearth-media/hearth/engine/share"
	"github.com/hearth-media/hearth/engine/store"
)

// FuzzPath: whatever follows a good token, the handler answers with a
// status of its own (never a panic) and never serves a file it was not
// asked for by index.
func FuzzPath(f *testing.F) {
	st, err := store.Open(store.Options{Backend: store.BackendMemory})
	if err != nil {
		f.Fatal(err)
	}
	defer st.Close()
	sm := eshare.New(st, nil)
	dir := f.TempDir()
	fc := folderChannels{"c": dir}
	s, _ := sm.Create(eshare.CreateRequest{Channel: "c"})
	h := NewHandler(Options{Shares: sm, Channels: fc, GuessLimit: 1 << 30})
	for _, seed := range []string{"", "/f/0", "/f/../x", "/f/%2e%2e%2f", "/t/0", "/all.zip", "/invite.hearth", "/f/0?dl=1", "//", "/f/99999999"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, rest string) {
		if strings.ContainsAny(rest, " \t\r\n#") {
			return
		}
		r, err := http.NewRequest("GET", "http://x/s/"+s.Token+rest, nil)
		if err != nil {
			return
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		switch w.Code {
		case 200, 404, 410:
		default:
			t.Fatalf("GET …%s = %d", rest, w.Code)
		}
	})
}
