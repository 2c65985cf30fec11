package hashcash

import (
	"context"
	"crypto/sha256"
	"runtime"
	"slices"
	"syscall"
	"testing"
	"time"
)

func threadCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(1, &ru) // RUSAGE_THREAD
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func cpuRate(n int, f func(n int)) float64 {
	c0 := threadCPU()
	f(n)
	return float64(n) / (threadCPU() - c0).Seconds()
}

const zzPrefix = "1:64:261125120000:127.0.0.1@powtcp:sha256:SRelFyRDoTMdNWROWOURahBYlydW5X+V6dkpf2aN:"

func solveRate(d time.Duration, workers int) float64 {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	res, _ := Solve(ctx, zzPrefix, SolveOptions{Workers: workers})
	return res.HashRate()
}

func med(x []float64) float64 { slices.Sort(x); return x[len(x)/2] }

func TestZZRatio(t *testing.T) {
	runtime.LockOSThread()
	base := func(n int) {
		var in [32]byte
		for i := range n {
			in[0], in[1], in[2] = byte(i), byte(i>>8), byte(i>>16)
			sum := sha256.Sum256(in[:])
			in[31] ^= sum[0]
		}
	}
	s := newSearcher(SHA256, zzPrefix, 64, 0)
	solver := func(n int) { s.search(n) }
	var r1, r2 []float64
	for range 30 {
		b := cpuRate(1<<20, base)
		r1 = append(r1, cpuRate(1<<20, solver)/b)
	}
	runtime.UnlockOSThread()
	for range 20 {
		s1 := solveRate(150*time.Millisecond, 1)
		s2 := solveRate(150*time.Millisecond, 2)
		r2 = append(r2, s2/s1)
	}
	t.Logf("CPU time: searcher/baseline median %.3f; wall: solve2/solve1 median %.3f", med(r1), med(r2))
}

func TestZZScaleCPU(t *testing.T) {
	one := func(w int, out *float64) {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		s := newSearcher(SHA256, zzPrefix, 64, w)
		*out = cpuRate(1<<21, func(n int) { s.search(n) })
	}
	var r []float64
	for range 10 {
		var single, a, b float64
		one(0, &single)
		done := make(chan bool)
		go func() { one(1, &a); done <- true }()
		go func() { one(2, &b); done <- true }()
		<-done
		<-done
		r = append(r, (a+b)/single)
	}
	t.Logf("CPU-time scaling (2 concurrent workers' summed per-CPU rates / 1 worker's rate): median %.3f", med(r))
}
