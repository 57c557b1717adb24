package tokenizer

import (
	"strings"
	"sync"
)

// bpe is a byte-level BPE model: a vocabulary over byte-level strings and a
// ranked list of merges.
type bpe struct {
	vocab        map[string]int
	merges       map[uint64]merge // key: pairKey(left, right)
	ignoreMerges bool             // a word found whole in vocab is one token
	bytes        *byteLevel
	byteIDs      [256]int // id of the one-byte token for each byte, or -1
	cache        *pieceCache
}

// merge is the result of merging a pair: its rank (lower merges first) and
// the id of the merged token.
type merge struct {
	rank int32
	id   int32
}

func pairKey(a, b int) uint64 { return uint64(uint32(a))<<32 | uint64(uint32(b)) }

// appendPiece appends the ids of one pre-token (raw bytes, before the
// byte-level mapping) to dst.
func (m *bpe) appendPiece(dst []int, piece string) []int {
	if ids, ok := m.cache.get(piece); ok {
		return append(dst, ids...)
	}
	start := len(dst)
	dst = m.encodePiece(dst, piece)
	m.cache.put(piece, dst[start:])
	return dst
}

func (m *bpe) encodePiece(dst []int, piece string) []int {
	if len(piece) == 1 {
		if id := m.byteIDs[piece[0]]; id >= 0 {
			return append(dst, id)
		}
	}
	if m.ignoreMerges {
		var buf [64]byte
		word := m.bytes.appendEncoded(buf[:0], piece)
		if id, ok := m.vocab[string(word)]; ok {
			return append(dst, id)
		}
	}

	// One symbol per byte to start with. A byte whose token is missing from
	// the vocabulary is dropped, as in Hugging Face's BPE without unk_token.
	syms := make([]int, 0, len(piece))
	for i := 0; i < len(piece); i++ {
		if id := m.byteIDs[piece[i]]; id >= 0 {
			syms = append(syms, id)
		}
	}
	if len(syms) > 48 {
		return append(dst, m.mergeHeap(syms)...)
	}
	return append(dst, m.mergeScan(syms)...)
}

// mergeScan applies merges to syms in rank order, lowest rank first and
// leftmost first among equal ranks, by scanning all pairs for each merge.
// It is quadratic and the fastest choice for short words.
func (m *bpe) mergeScan(syms []int) []int {
	for len(syms) > 1 {
		best, bestAt := merge{rank: -1}, -1
		for i := 0; i+1 < len(syms); i++ {
			mg, ok := m.merges[pairKey(syms[i], syms[i+1])]
			if ok && (bestAt < 0 || mg.rank < best.rank) {
				best, bestAt = mg, i
			}
		}
		if bestAt < 0 {
			break
		}
		syms[bestAt] = int(best.id)
		syms = append(syms[:bestAt+1], syms[bestAt+2:]...)
	}
	return syms
}

// mergeHeap does what mergeScan does with a priority queue of candidate
// pairs over a linked list of symbols, in O(n log n) for long words: each
// merge removes a symbol and adds at most two candidates, so the queue
// sees at most 3n pushes and pops.
func (m *bpe) mergeHeap(syms []int) []int {
	n := len(syms)
	next := make([]int32, n)
	prev := make([]int32, n)
	for i := range syms {
		next[i], prev[i] = int32(i+1), int32(i-1)
	}
	next[n-1] = -1

	h := make(pairHeap, 0, n)
	candidateAt := func(i int32) (candidate, bool) {
		j := next[i]
		if j < 0 {
			return candidate{}, false
		}
		mg, ok := m.merges[pairKey(syms[i], syms[j])]
		if !ok {
			return candidate{}, false
		}
		c := candidate{
			key:   uint64(uint32(mg.rank))<<32 | uint64(uint32(i)),
			left:  int32(syms[i]),
			right: int32(syms[j]),
			id:    mg.id,
		}
		return c, true
	}
	for i := int32(0); int(i)+1 < n; i++ {
		if c, ok := candidateAt(i); ok {
			h = append(h, c)
		}
	}
	h.init()

	for len(h) > 0 {
		c := h.pop()
		i := int32(uint32(c.key))
		j := next[i]
		// Skip candidates made stale by an earlier merge: a removed right
		// symbol is marked by prev = -2, and merged symbols change ids.
		if prev[i] == -2 || j < 0 || int32(syms[i]) != c.left || int32(syms[j]) != c.right {
			continue
		}
		syms[i] = int(c.id)
		next[i] = next[j]
		if next[j] >= 0 {
			prev[next[j]] = i
		}
		prev[j] = -2
		if p := prev[i]; p >= 0 {
			if c, ok := candidateAt(p); ok {
				h.push(c)
			}
		}
		if c, ok := candidateAt(i); ok {
			h.push(c)
		}
	}

	out := syms[:0]
	for i := int32(0); i >= 0; i = next[i] {
		out = append(out, syms[i])
	}
	return out
}

// candidate is a pair of adjacent symbols that a merge applies to.
type candidate struct {
	key         uint64 // merge rank << 32 | index of the left symbol
	left, right int32  // the symbols when the candidate was made
	id          int32  // the merged symbol
}

// pairHeap is a binary min-heap of candidates by key: lowest rank first,
// leftmost first among equal ranks. It is written out, rather than built on
// container/heap, to avoid an interface call per comparison and an
// allocation per push, which made long words several times slower.
type pairHeap []candidate

func (h pairHeap) init() {
	for i := len(h)/2 - 1; i >= 0; i-- {
		h.down(i)
	}
}

func (h *pairHeap) push(c candidate) {
	*h = append(*h, c)
	s := *h
	i := len(s) - 1
	for i > 0 {
		p := (i - 1) / 2
		if s[p].key <= s[i].key {
			break
		}
		s[p], s[i] = s[i], s[p]
		i = p
	}
}

func (h *pairHeap) pop() candidate {
	s := *h
	c := s[0]
	last := len(s) - 1
	s[0] = s[last]
	*h = s[:last]
	h.down(0)
	return c
}

func (h pairHeap) down(i int) {
	n := len(h)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		least := l
		if r := l + 1; r < n && h[r].key < h[l].key {
			least = r
		}
		if h[i].key <= h[least].key {
			return
		}
		h[i], h[least] = h[least], h[i]
		i = least
	}
}

// pieceCache is a bounded, concurrency-safe map from pre-tokens to their
// ids. It is split into shards, each cleared when it fills up, so that a
// long stream of distinct words never grows it beyond its bound.
type pieceCache struct {
	shards [16]cacheShard
}

type cacheShard struct {
	mu sync.RWMutex
	m  map[string][]int
}

const (
	cacheShardSize = 4096 // entries per shard
	cacheMaxPiece  = 64   // longer pieces are not cached
)

func newPieceCache() *pieceCache {
	c := &pieceCache{}
	for i := range c.shards {
		c.shards[i].m = make(map[string][]int)
	}
	return c
}

func (c *pieceCache) shard(s string) *cacheShard {
	// FNV-1a over at most the first 16 bytes and the length.
	h := uint32(2166136261) ^ uint32(len(s))
	for i := 0; i < len(s) && i < 16; i++ {
		h = (h ^ uint32(s[i])) * 16777619
	}
	return &c.shards[h%uint32(len(c.shards))]
}

func (c *pieceCache) get(s string) ([]int, bool) {
	if len(s) > cacheMaxPiece {
		return nil, false
	}
	sh := c.shard(s)
	sh.mu.RLock()
	ids, ok := sh.m[s]
	sh.mu.RUnlock()
	return ids, ok
}

func (c *pieceCache) put(s string, ids []int) {
	if len(s) > cacheMaxPiece {
		return
	}
	v := append([]int(nil), ids...)
	sh := c.shard(s)
	sh.mu.Lock()
	if len(sh.m) >= cacheShardSize {
		clear(sh.m)
	}
	// Clone the key: s is a slice of the caller's text, which the cache
	// must not keep alive.
	sh.m[strings.Clone(s)] = v
	sh.mu.Unlock()
}
