package mutable

import (
	"crypto/sha1"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/anacrolix/dht/v2/bep44"
	"github.com/anacrolix/dht/v2/krpc"
	"github.com/anacrolix/torrent/bencode"
)

// fakeClock is a settable clock for the store's expiry.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time      { return c.t }
func (c *fakeClock) add(d time.Duration) { c.t = c.t.Add(d) }
func newTestStore(max int) (*Store, *fakeClock) {
	c := &fakeClock{t: time.Unix(1_800_000_000, 0)}
	s := NewStore(max, time.Hour)
	s.now = c.now
	return s, c
}

// bepItem is it as the DHT server hands it to the store: the value
// decoded into plain Go values, as it arrives in a put.
func bepItem(t testing.TB, it Item, cas int64) *bep44.Item {
	t.Helper()
	var v any
	if err := bencode.Unmarshal(it.Value, &v); err != nil {
		t.Fatal(err)
	}
	return &bep44.Item{V: v, K: it.Key, Salt: it.Salt, Sig: it.Sig, Seq: it.Seq, Cas: cas}
}

func signed(t testing.TB, seed byte, seq int64, ih byte) Item {
	t.Helper()
	it, err := Sign(testKey(t, seed), nil, seq, InfohashValue([20]byte{ih}))
	if err != nil {
		t.Fatal(err)
	}
	return it
}

func krpcCode(err error) int {
	var k krpc.Error
	if errors.As(err, &k) {
		return k.Code
	}
	return 0
}

func TestStoreChecks(t *testing.T) {
	good := signed(t, 1, 5, 1)
	bigV := make([]byte, 1001)
	tests := []struct {
		name string
		item func() *bep44.Item
		code int
	}{
		{"bad signature", func() *bep44.Item { i := bepItem(t, good, 0); i.Sig[0] ^= 1; return i }, krpc.ErrorCodeInvalidSignature},
		{"forged key", func() *bep44.Item { i := bepItem(t, good, 0); i.K = signed(t, 2, 5, 1).Key; return i }, krpc.ErrorCodeInvalidSignature},
		{"tampered value", func() *bep44.Item { i := bepItem(t, good, 0); i.V = "other"; return i }, krpc.ErrorCodeInvalidSignature},
		{"replayed with another seq", func() *bep44.Item { i := bepItem(t, good, 0); i.Seq = 6; return i }, krpc.ErrorCodeInvalidSignature},
		{"value too big", func() *bep44.Item { i := bepItem(t, good, 0); i.V = bigV; return i }, krpc.ErrorCodeMessageValueFieldTooBig},
		{"salt too big", func() *bep44.Item { i := bepItem(t, good, 0); i.Salt = make([]byte, 65); return i }, krpc.ErrorCodeSaltFieldTooBig},
		{"negative seq", func() *bep44.Item { i := bepItem(t, good, 0); i.Seq = -1; return i }, krpc.ErrorCodeProtocolError},
		{"no value", func() *bep44.Item { i := bepItem(t, good, 0); i.V = nil; return i }, krpc.ErrorCodeProtocolError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newTestStore(10)
			if err := s.Put(tt.item()); krpcCode(err) != tt.code {
				t.Errorf("Put = %v, want krpc error %d", err, tt.code)
			}
			if st := s.Stats(); st.Items != 0 || st.Rejected != 1 {
				t.Errorf("Stats = %+v, want nothing stored, 1 rejected", st)
			}
		})
	}
	s, _ := newTestStore(10)
	if err := s.Put(bepItem(t, good, 0)); err != nil {
		t.Fatalf("Put(good) = %v", err)
	}
	got, err := s.Get(good.Target())
	if err != nil {
		t.Fatalf("Get = %v", err)
	}
	if string(bencode.MustMarshal(got.V)) != string(good.Value) || got.Seq != 5 || got.Sig != good.Sig || got.K != good.Key {
		t.Errorf("Get = %+v, want the item put", got)
	}
}

func TestStoreSeqAndCAS(t *testing.T) {
	s, _ := newTestStore(10)
	put := func(seq int64, ih byte, cas int64) error {
		return s.Put(bepItem(t, signed(t, 1, seq, ih), cas))
	}
	seqOf := func() int64 {
		i, err := s.Get(signed(t, 1, 0, 0).Target())
		if err != nil {
			t.Fatalf("Get = %v", err)
		}
		return i.Seq
	}
	steps := []struct {
		name    string
		seq     int64
		ih      byte
		cas     int64
		code    int // 0: accepted
		wantSeq int64
	}{
		{"first", 2, 2, 0, 0, 2},
		{"same again (refresh)", 2, 2, 0, 0, 2},
		{"same seq, other value", 2, 3, 0, krpc.ErrorCodeSequenceNumberLessThanCurrent, 2},
		{"lower seq", 1, 1, 0, krpc.ErrorCodeSequenceNumberLessThanCurrent, 2},
		{"CAS on a wrong seq", 3, 3, 1, krpc.ErrorCodeCasHashMismatched, 2},
		{"CAS on the stored seq", 3, 3, 2, 0, 3},
		{"higher seq, no CAS", 7, 7, 0, 0, 7},
	}
	for _, st := range steps {
		err := put(st.seq, st.ih, st.cas)
		if krpcCode(err) != st.code || (st.code == 0 && err != nil) {
			t.Errorf("%s: Put = %v, want code %d", st.name, err, st.code)
		}
		if got := seqOf(); got != st.wantSeq {
			t.Errorf("%s: stored seq = %d, want %d", st.name, got, st.wantSeq)
		}
	}
}

func TestStoreBoundAndExpiry(t *testing.T) {
	s, clock := newTestStore(3)
	items := make([]Item, 6)
	for i := range items {
		items[i] = signed(t, byte(10+i), 1, byte(i))
	}
	has := func(i int) bool { _, err := s.Get(items[i].Target()); return err == nil }
	for i := range 3 {
		if err := s.Put(bepItem(t, items[i], 0)); err != nil {
			t.Fatal(err)
		}
		clock.add(time.Minute)
	}
	// Item 0 is put again: it becomes the newest, item 1 the oldest.
	if err := s.Put(bepItem(t, items[0], 0)); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(bepItem(t, items[3], 0)); err != nil {
		t.Fatal(err)
	}
	if has(1) || !has(0) || !has(2) || !has(3) {
		t.Errorf("after one eviction: have 0:%v 1:%v 2:%v 3:%v; want item 1 evicted", has(0), has(1), has(2), has(3))
	}
	if st := s.Stats(); st.Items != 3 || st.Evicted != 1 {
		t.Errorf("Stats = %+v, want 3 items, 1 evicted", st)
	}
	// An hour later everything expired: gets miss, and the next puts
	// take the place of expired items, not of live ones.
	clock.add(time.Hour)
	if has(2) {
		t.Errorf("item 2 still there after its lifetime")
	}
	for _, i := range []int{4, 5} {
		if err := s.Put(bepItem(t, items[i], 0)); err != nil {
			t.Fatal(err)
		}
	}
	st := s.Stats()
	if st.Items != 3 || st.Evicted != 1 || st.Expired < 2 {
		t.Errorf("Stats = %+v, want 3 items, still 1 evicted, ≥ 2 expired", st)
	}
}

func TestStoreImmutableAndOff(t *testing.T) {
	s, _ := newTestStore(2)
	if err := s.Put(&bep44.Item{V: "Hello World!"}); err != nil {
		t.Fatalf("Put(immutable) = %v", err)
	}
	if _, err := s.Get(sha1.Sum([]byte("12:Hello World!"))); err != nil {
		t.Errorf("Get(immutable) = %v", err)
	}
	off := NewStore(0, 0)
	if err := off.Put(bepItem(t, signed(t, 1, 1, 1), 0)); krpcCode(err) != krpc.ErrorCodeServerError {
		t.Errorf("Put into a 0-item store = %v, want a server error", err)
	}
}

// The DHT server wraps the store in anacrolix's bep44.Wrapper, which
// marks put times in an unexported field of the item: the store must
// keep it (a copy that loses it makes every item look expired), and
// its CAS check must not get in the way.
func TestStoreBehindWrapper(t *testing.T) {
	s, _ := newTestStore(10)
	w := bep44.NewWrapper(s, time.Hour)
	for _, step := range []struct {
		seq, cas int64
		ok       bool
	}{{1, 0, true}, {2, 1, true}, {3, 1, false}, {3, 2, true}} {
		err := w.Put(bepItem(t, signed(t, 1, step.seq, byte(step.seq)), step.cas))
		if (err == nil) != step.ok {
			t.Errorf("Wrapper.Put(seq %d, cas %d) = %v, want ok=%v", step.seq, step.cas, err, step.ok)
		}
	}
	got, err := w.Get(signed(t, 1, 0, 0).Target())
	if err != nil || got.Seq != 3 {
		t.Fatalf("Wrapper.Get = %v, %v; want seq 3", got, err)
	}
}

func BenchmarkStorePut(b *testing.B) {
	s := NewStore(200, 0)
	items := make([]*bep44.Item, 1000)
	for i := range items {
		it, err := Sign(testKey(b, byte(i)), []byte(fmt.Sprint(i)), 1, InfohashValue([20]byte{byte(i)}))
		if err != nil {
			b.Fatal(err)
		}
		items[i] = bepItem(b, it, 0)
	}
	i := 0
	for b.Loop() {
		if err := s.Put(items[i%len(items)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
