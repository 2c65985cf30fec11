package equix

import (
	"context"
	"errors"
	"runtime"
	"sync"
)

// ErrExhausted is SolveContext's error when next runs out of challenges
// before accept takes a solution.
var ErrExhausted = errors.New("equix: no accepted solution among the challenges given")

// SolveContext solves challenges on workers goroutines (GOMAXPROCS if
// workers <= 0), each with its own Solver, until accept takes a solution,
// next runs out (ok false: ErrExhausted) or ctx is done (ctx.Err()). It
// returns the challenge and solution accepted, after every worker has
// stopped.
//
// next gives each challenge to try, typically a nonce appended to a fixed
// prefix; the slice must not change afterwards. accept sees every solution
// of each challenge in the reference's order and returns true for the one
// to keep (Tor, for one, also hashes it against an effort target). Calls of
// next and accept are serialized, so neither needs to be safe for
// concurrent use. Challenges whose HashX program is unusable are skipped.
// Cancellation is noticed between challenges: within one solve's time.
func SolveContext(ctx context.Context, workers int, next func() (challenge []byte, ok bool), accept func(challenge []byte, s Solution) bool) ([]byte, Solution, error) {
	return solveContext(ctx, workers, next, accept, newHash)
}

// search is one SolveContext call's shared state.
type search struct {
	ctx      context.Context
	cancel   context.CancelFunc
	next     func() ([]byte, bool)
	accept   func([]byte, Solution) bool
	makeHash func([]byte) (hasher, error)

	mu        sync.Mutex // serializes next and accept, guards the rest
	done      bool
	exhausted bool
	challenge []byte
	solution  Solution
}

func solveContext(ctx context.Context, workers int, next func() ([]byte, bool), accept func([]byte, Solution) bool, makeHash func([]byte) (hasher, error)) ([]byte, Solution, error) {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	inner, cancel := context.WithCancel(ctx)
	defer cancel()
	sr := &search{ctx: inner, cancel: cancel, next: next, accept: accept, makeHash: makeHash}
	var wg sync.WaitGroup
	for range workers {
		wg.Go(sr.work)
	}
	wg.Wait()
	switch {
	case sr.done:
		return sr.challenge, sr.solution, nil
	case ctx.Err() != nil:
		return nil, Solution{}, ctx.Err()
	default:
		return nil, Solution{}, ErrExhausted
	}
}

// work is one worker: take a challenge, solve it, offer its solutions.
func (sr *search) work() {
	s := solvers.Get().(*Solver)
	defer solvers.Put(s)
	sols := make([]Solution, 0, MaxSolutions)
	for {
		challenge, ok := sr.take()
		if !ok {
			return
		}
		h, err := sr.makeHash(challenge)
		if err != nil {
			continue // an unusable challenge: try the next
		}
		sols = s.solve(s.load(h), sols[:0])
		if sr.offer(challenge, sols) {
			return
		}
	}
}

// take is the next challenge, unless the search is over.
func (sr *search) take() ([]byte, bool) {
	sr.mu.Lock()
	defer sr.mu.Unlock()
	if sr.done || sr.exhausted || sr.ctx.Err() != nil {
		return nil, false
	}
	c, ok := sr.next()
	if !ok {
		sr.exhausted = true
		return nil, false
	}
	return c, true
}

// offer gives accept challenge's solutions; true once the search is over.
func (sr *search) offer(challenge []byte, sols []Solution) bool {
	sr.mu.Lock()
	defer sr.mu.Unlock()
	if sr.done || sr.ctx.Err() != nil {
		return true
	}
	for _, sol := range sols {
		if sr.accept(challenge, sol) {
			sr.done, sr.challenge, sr.solution = true, challenge, sol
			sr.cancel()
			return true
		}
	}
	return false
}
