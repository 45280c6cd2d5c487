// The Go design shardedmap comes from, measured natively on the same
// machine and workload as the harness's 1K-r90 cells: 256 shards of
// sync.RWMutex + map[string]interface{} with FNV-64a shard selection, next
// to Go's sync.Map. Not part of the npm package and not run by the tests;
// run it with `cd bench/go && go run .` (golang-go from apt, no modules to
// download). Prints JSON: ops/s per contestant and goroutine count.
package main

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

const shards = 256

type shard struct {
	sync.RWMutex
	m map[string]interface{}
}

// ShardedMap is the design: a fixed array of RWMutex-guarded maps.
type ShardedMap struct{ s [shards]*shard }

func newShardedMap() *ShardedMap {
	var sm ShardedMap
	for i := range sm.s {
		sm.s[i] = &shard{m: map[string]interface{}{}}
	}
	return &sm
}

func (sm *ShardedMap) pick(k string) *shard {
	h := fnv.New64a()
	h.Write([]byte(k))
	return sm.s[h.Sum64()%shards]
}

func (sm *ShardedMap) Load(k string) (interface{}, bool) {
	s := sm.pick(k)
	s.RLock()
	v, ok := s.m[k]
	s.RUnlock()
	return v, ok
}

func (sm *ShardedMap) Store(k string, v interface{}) {
	s := sm.pick(k)
	s.Lock()
	s.m[k] = v
	s.Unlock()
}

type kv interface {
	Load(string) (interface{}, bool)
	Store(string, interface{})
}

type syncMap struct{ sync.Map }

func (m *syncMap) Load(k string) (interface{}, bool) { return m.Map.Load(k) }
func (m *syncMap) Store(k string, v interface{})      { m.Map.Store(k, v) }

// One worker's op stream: key indices and whether each op reads (90 %),
// from a seeded xorshift, as the harness precomputes its streams.
func stream(seed uint64, n int, keys int) ([]int, []bool) {
	idx := make([]int, n)
	read := make([]bool, n)
	x := seed*2654435761 + 1
	for i := 0; i < n; i++ {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		idx[i] = int(x % uint64(keys))
		read[i] = (x>>32)%100 < 90
	}
	return idx, read
}

func run(m kv, workers int, window time.Duration) float64 {
	keys := make([]string, 1000)
	for i := range keys {
		keys[i] = fmt.Sprintf("key:%d", i)
		m.Store(keys[i], float64(i)+0.5)
	}
	var ops int64
	var stop int32
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		idx, read := stream(uint64(w+1), 1<<20, len(keys))
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := int64(0)
			sink := 0.0
			for i := 0; atomic.LoadInt32(&stop) == 0; i = (i + 1) & (1<<20 - 1) {
				k := keys[idx[i]]
				if read[i] {
					if v, ok := m.Load(k); ok {
						sink += v.(float64)
					}
				} else {
					m.Store(k, float64(i)+0.25)
				}
				n++
			}
			atomic.AddInt64(&ops, n)
			_ = sink
		}()
	}
	time.Sleep(window)
	atomic.StoreInt32(&stop, 1)
	wg.Wait()
	return float64(ops) / window.Seconds()
}

func median(xs []float64) float64 {
	sort.Float64s(xs)
	return xs[len(xs)/2]
}

func main() {
	window := 3 * time.Second
	out := map[string]float64{}
	for _, workers := range []int{1, 2} {
		for _, name := range []string{"ShardedMap (256 x RWMutex + map, FNV-64a)", "sync.Map"} {
			var runs []float64
			for r := 0; r < 3; r++ {
				var m kv
				if name == "sync.Map" {
					m = &syncMap{}
				} else {
					m = newShardedMap()
				}
				runs = append(runs, run(m, workers, window))
			}
			out[fmt.Sprintf("%s, %d goroutine(s)", name, workers)] = median(runs)
		}
	}
	json.NewEncoder(os.Stdout).Encode(out)
}
