package hashcash

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding"
	"encoding/binary"
	"hash"
	"math/bits"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// SolveOptions tunes Solve. The zero value is ready to use.
type SolveOptions struct {
	// Workers is the number of goroutines that search; zero means
	// runtime.GOMAXPROCS(0). At most 4096 are used.
	Workers int
	// Progress, if set, is called with the number of attempts so far about
	// every ProgressInterval, from one goroutine, until Solve returns.
	Progress func(attempts uint64)
	// ProgressInterval defaults to 250ms.
	ProgressInterval time.Duration
}

// Result is the outcome of Solve.
type Result struct {
	Stamp    string        // the full stamp, prefix and counter; empty if not solved
	Attempts uint64        // counters tried, by all workers
	Elapsed  time.Duration // wall time of the search
}

// HashRate returns the attempts per second.
func (r Result) HashRate() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Attempts) / r.Elapsed.Seconds()
}

const (
	// maxWorkers is the number of distinct worker ids: two counter
	// characters of the base64 alphabet.
	maxWorkers = 64 * 64
	// batch is the number of attempts between looks at ctx and at the
	// other workers, about a third of a millisecond.
	batch = 4096
	// blockSize is the block size of both SHA-1 and SHA-256.
	blockSize = 64
)

// base64Chars is the counter alphabet, ordered as in base64.
const base64Chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

// Solve finds a counter for the challenge prefix, which names the proof of
// work (ext field) and the number of leading zero bits (bits field). It
// searches with opts.Workers goroutines until one succeeds or ctx is done,
// when it returns ctx.Err() and a Result without a Stamp. Errors from
// ParsePrefix and Stamp.Alg are returned as they are.
//
// For the hashes, each worker's counter is a filler that brings prefix and
// filler to a whole number of hash blocks, ending in two characters naming
// the worker, then a part that changes with every attempt. The hash state
// after the filler is computed once and restored once per round of 47
// attempts, so an attempt costs a single block compression and no
// allocation.
//
// For Equix, the search is equix.SolveContext: each worker has its own
// equix.Solver (about 2 MiB, so at most maxEquixWorkers workers, with
// HashX compiled where package hashx compiles) and solves the Equi-X
// challenges of the nonces 0, 1, 2, ... in turn; the effort hash of every
// solution is computed as it turns up; ctx is looked at between nonces,
// each a solve of milliseconds. Result.Attempts counts solutions, so
// HashRate is solutions per second.
func Solve(ctx context.Context, prefix string, opts SolveOptions) (Result, error) {
	st, err := ParsePrefix(prefix)
	if err != nil {
		return Result{}, err
	}
	alg, err := st.Alg()
	if err != nil {
		return Result{}, err
	}
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = min(workers, maxWorkers)

	start := time.Now()
	var attempts atomic.Uint64
	stopProgress := func() {}
	if opts.Progress != nil {
		stopProgress = reportProgress(opts, &attempts)
	}
	var stamp string
	if alg == Equix {
		stamp, err = solveEquix(ctx, prefix, st.Bits, min(workers, maxEquixWorkers), &attempts)
	} else {
		stamp, err = solveHashes(ctx, alg, prefix, st.Bits, workers, &attempts)
	}
	stopProgress()
	return Result{Stamp: stamp, Attempts: attempts.Load(), Elapsed: time.Since(start)}, err
}

// solveHashes is Solve for SHA1 and SHA256: workers searchers until one
// finds a stamp or ctx is done.
func solveHashes(ctx context.Context, alg Alg, prefix string, bits, workers int, attempts *atomic.Uint64) (string, error) {
	var (
		done  atomic.Bool
		found = make([]string, workers) // worker w writes found[w] only
		wg    sync.WaitGroup
	)
	for w := range workers {
		wg.Go(func() {
			// Allocated by the worker, and padded, so that workers do
			// not share the cache lines they write to.
			s := newSearcher(alg, prefix, bits, w)
			for !done.Load() {
				select {
				case <-ctx.Done():
					return
				default:
				}
				n, ok := s.search(batch)
				attempts.Add(n)
				if ok {
					found[w] = string(s.stamp())
					done.Store(true)
				}
			}
		})
	}
	wg.Wait()
	for _, stamp := range found {
		if stamp != "" {
			return stamp, nil
		}
	}
	return "", ctx.Err()
}

// reportProgress calls opts.Progress every opts.ProgressInterval from a new
// goroutine until the returned function is called, which waits for it.
func reportProgress(opts SolveOptions, attempts *atomic.Uint64) (stop func()) {
	interval := opts.ProgressInterval
	if interval <= 0 {
		interval = 250 * time.Millisecond
	}
	quit := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				opts.Progress(attempts.Load())
			case <-quit:
				return
			}
		}
	})
	return func() {
		close(quit)
		wg.Wait()
	}
}

// A searcher is one worker's search state. Its candidate stamps are
//
//	prefix || filler || odometer || tail[:k]    for k = 1..len(tail)
//
// where len(prefix || filler) is a multiple of the hash block size and
// filler ends in two characters naming the worker. The hash state after the
// filler is saved once. A round restores it and hashes the odometer; then
// each attempt hashes one more byte of the tail and finishes a copy of the
// state with Sum: one block compression, as the odometer, the tail and the
// padding fit in one block. Restoring the state once per round instead of
// once per attempt makes an attempt as cheap as sha256.Sum256 of 32 bytes.
type searcher struct {
	bits    int
	h       hash.Hash
	restore encoding.BinaryUnmarshaler // h
	state   []byte                     // h's marshaled state after prefix || filler
	msg     []byte                     // prefix || filler || odometer || tail
	odo     []byte                     // the odometer in msg, changed every round
	digits  [odoLen]uint8              // odo as indices into base64Chars
	k       int                        // length of the tail in the last candidate
	sum     []byte                     // the hash of the last candidate, in sumBuf
	sumBuf  [sha256.Size]byte
	_       [64]byte // keeps other workers' data off this one's cache lines
}

const (
	// odoLen is the length of the odometer: 48 bits of rounds, more than
	// any search can use (it would wrap around after 10^16 attempts).
	odoLen = 8
	// tailLen is the longest tail that fits the last block with the
	// odometer and at least 9 bytes of padding.
	tailLen = blockSize - 9 - odoLen
)

func newSearcher(alg Alg, prefix string, zeroBits, worker int) *searcher {
	var h hash.Hash
	if alg == SHA1 {
		h = sha1.New()
	} else {
		h = sha256.New()
	}
	fill := blockSize - len(prefix)%blockSize
	if fill < 2 {
		fill += blockSize
	}
	msg := make([]byte, 0, len(prefix)+fill+odoLen+tailLen)
	msg = append(msg, prefix...)
	for range fill - 2 {
		msg = append(msg, '0')
	}
	msg = append(msg, base64Chars[worker/64], base64Chars[worker%64])
	h.Write(msg)
	state, err := h.(encoding.BinaryMarshaler).MarshalBinary()
	if err != nil {
		panic("hashcash: cannot save hash state: " + err.Error()) // never: sha1 and sha256 marshal
	}
	for range odoLen + tailLen {
		msg = append(msg, base64Chars[0])
	}
	s := &searcher{
		bits:    zeroBits,
		h:       h,
		restore: h.(encoding.BinaryUnmarshaler),
		state:   state,
		msg:     msg,
		odo:     msg[len(msg)-tailLen-odoLen : len(msg)-tailLen],
	}
	s.sum = s.sumBuf[:0]
	h.Write(s.odo) // start the first round
	return s
}

// search tries up to n counters. It returns how many it tried and whether
// the last one, s.stamp(), has enough leading zero bits.
func (s *searcher) search(n int) (tried uint64, found bool) {
	h, tail, sum := s.h, s.msg[len(s.msg)-tailLen:], s.sum[:0]
	for i := 1; i <= n; i++ {
		if s.k == tailLen {
			s.next()
			_ = s.restore.UnmarshalBinary(s.state) // cannot fail: the state came from the same hash
			h.Write(s.odo)
			s.k = 0
		}
		h.Write(tail[s.k : s.k+1])
		s.k++
		sum = h.Sum(sum[:0])
		if bits.LeadingZeros64(binary.BigEndian.Uint64(sum)) >= s.bits {
			s.sum = sum
			return uint64(i), true
		}
	}
	s.sum = sum
	return uint64(n), false
}

// stamp returns the last candidate.
func (s *searcher) stamp() []byte {
	return s.msg[:len(s.msg)-tailLen+s.k]
}

// next advances the odometer, wrapping around after 64^odoLen rounds.
func (s *searcher) next() {
	for i := len(s.digits) - 1; i >= 0; i-- {
		d := s.digits[i] + 1
		if d < 64 {
			s.digits[i] = d
			s.odo[i] = base64Chars[d]
			return
		}
		s.digits[i] = 0
		s.odo[i] = base64Chars[0]
	}
}
