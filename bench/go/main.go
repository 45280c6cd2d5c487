// The Go design shardedmap comes from, measured natively on the same
// machine and workload as the harness's r90 number cells: 256 shards of
// sync.RWMutex + map[string]interface{} with FNV-64a shard selection, next
// to Go's sync.Map. Not part of the npm package. `npm start` builds and
// runs it when `go` is on the PATH (bench/native.mjs: GOPATH mode, standard
// library only, nothing downloaded); alone: `cd bench/go && GO111MODULE=off
// go run main.go [-keys 1000,1000000] [-threads 1,2] [-reads 90]
// [-window 3s] [-runs 3]` (golang-go from apt). Prints JSON: one row per
// map, key count and goroutine count, with ops/s of each window and their
// median.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"hash/fnv"
	"os"
	"sort"
	"strconv"
	"strings"
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

// One worker's op stream: key indices and whether each op reads (`reads`
// %), from a seeded xorshift, as the harness precomputes its streams.
func stream(seed uint64, n int, keys int, reads uint64) ([]int, []bool) {
	idx := make([]int, n)
	read := make([]bool, n)
	x := seed*2654435761 + 1
	for i := 0; i < n; i++ {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		idx[i] = int(x % uint64(keys))
		read[i] = (x>>32)%100 < reads
	}
	return idx, read
}

// makeKeys: "key:<i>", the harness's keys.
func makeKeys(n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = "key:" + strconv.Itoa(i)
	}
	return keys
}

// One timed window of `workers` goroutines on m, preloaded with keys.
func run(m kv, keys []string, workers int, reads uint64, window time.Duration) float64 {
	var ops int64
	var stop int32
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		idx, read := stream(uint64(w+1), 1<<20, len(keys), reads)
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

func ints(s string) []int {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			fmt.Fprintf(os.Stderr, "not a positive integer: %q\n", f)
			os.Exit(2)
		}
		out = append(out, n)
	}
	return out
}

type row struct {
	Map       string    `json:"map"`
	Keys      int       `json:"keys"`
	Threads   int       `json:"threads"`
	OpsPerSec float64   `json:"opsPerSec"`
	Runs      []float64 `json:"runsOpsPerSec"`
}

func main() {
	keyCounts := flag.String("keys", "1000", "key counts, comma-separated")
	threads := flag.String("threads", "1,2", "goroutine counts, comma-separated")
	reads := flag.Uint64("reads", 90, "percent of operations that are loads (the rest stores)")
	window := flag.Duration("window", 3*time.Second, "length of one timed window")
	runs := flag.Int("runs", 3, "timed windows per row (the median is reported)")
	flag.Parse()
	var out []row
	for _, n := range ints(*keyCounts) {
		keys := makeKeys(n)
		for _, name := range []string{"ShardedMap", "sync.Map"} {
			// One map per key count, filled once and shared by its rows
			// (the windows overwrite values, never add keys).
			var m kv
			if name == "sync.Map" {
				m = &syncMap{}
			} else {
				m = newShardedMap()
			}
			for i, k := range keys {
				m.Store(k, float64(i)+0.5)
			}
			for _, workers := range ints(*threads) {
				var rs []float64
				for r := 0; r < *runs; r++ {
					rs = append(rs, run(m, keys, workers, *reads, *window))
				}
				sorted := append([]float64(nil), rs...)
				out = append(out, row{name, n, workers, median(sorted), rs})
			}
		}
	}
	json.NewEncoder(os.Stdout).Encode(out)
}
