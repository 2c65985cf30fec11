package hashx

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// compiledMachine is a Machine with h loaded; the test fails if this
// system should compile and the Machine does not.
func compiledMachine(t testing.TB, h *HashX) *Machine {
	t.Helper()
	m := new(Machine)
	t.Cleanup(func() { m.Close() })
	m.Load(h)
	if got := m.Engine(); got != Engine() {
		t.Fatalf("Machine.Engine() = %q, package Engine() = %q", got, Engine())
	}
	return m
}

// TestEngine: on linux/amd64 without the purego tag, the compiler runs
// (CI machines grant executable memory); elsewhere the interpreter.
func TestEngine(t *testing.T) {
	t.Logf("engine: %s", Engine())
	if Compiled() != jitBuilt {
		t.Errorf("Compiled() = %v with jitBuilt %v: the system refused executable memory?", Compiled(), jitBuilt)
	}
	m := Machine{Interpret: true}
	m.Load(mustNew(t, []byte("This is a test\x00")))
	if m.Engine() != "interpreted" {
		t.Errorf("Machine{Interpret: true}.Engine() = %q", m.Engine())
	}
}

func TestMachineVectors(t *testing.T) {
	for _, v := range referenceVectors {
		m := compiledMachine(t, mustNew(t, []byte(v.seed)))
		for i, want := range v.hashes {
			input := referenceInputs[i]
			got := m.Hash(input)
			if hex.EncodeToString(got[:]) != want {
				t.Errorf("seed %q: Hash(%d) = %x, want %s", v.seed, input, got, want)
			}
			if got, want := m.Hash64(input), binary.LittleEndian.Uint64(got[:]); got != want {
				t.Errorf("seed %q: Hash64(%d) = %#x, want %#x", v.seed, input, got, want)
			}
		}
	}
	for _, v := range originalVectors {
		m := compiledMachine(t, mustNew(t, []byte(v.seed)))
		for _, vec := range v.vecs {
			got := m.Hash(vec.input)
			if hex.EncodeToString(got[:]) != vec.hash {
				t.Errorf("seed %q: Hash(%d) = %x, want %s", v.seed, vec.input, got, vec.hash)
			}
		}
	}
}

// agreementDigest loads the 4-byte seeds 0..n-1 into one reused Machine
// and checks its Hash64 against the interpreter's for each of inputs (and
// Hash at one input, Hash64s over 2^64-2..1 for every 16th seed); it
// returns the SHA-256 of the Hash64 values (and of "FAIL" for rejected
// seeds).
func agreementDigest(t *testing.T, n int, inputs []uint64) string {
	var m Machine
	defer m.Close()
	d := sha256.New()
	var line [8]byte
	var batch [4]uint64
	for s := range uint32(n) {
		h, err := New(binary.LittleEndian.AppendUint32(nil, s))
		if errors.Is(err, ErrProgram) {
			d.Write([]byte("FAIL"))
			continue
		}
		m.Load(h)
		for _, in := range inputs {
			x := in ^ uint64(s)*0x9e3779b97f4a7c15
			got, want := m.Hash64(x), h.Hash64(x)
			if got != want {
				t.Fatalf("seed %d input %#x: %s Hash64 %#x, interpreted %#x", s, x, m.Engine(), got, want)
			}
			binary.LittleEndian.PutUint64(line[:], got)
			d.Write(line[:])
		}
		// The register-file function (Hash) and a batch wrapping at 2^64.
		if x := uint64(s); m.Hash(x) != h.Hash(x) {
			t.Fatalf("seed %d: %s Hash(%d) %x, interpreted %x", s, m.Engine(), x, m.Hash(x), h.Hash(x))
		}
		if s%16 == 0 {
			m.Hash64s(^uint64(0)-1, batch[:])
			for i, got := range batch {
				if want := h.Hash64(^uint64(0) - 1 + uint64(i)); got != want {
					t.Fatalf("seed %d: %s Hash64s[%d] %#x, interpreted %#x", s, m.Engine(), i, got, want)
				}
			}
		}
	}
	return hex.EncodeToString(d.Sum(nil))
}

// TestCompiledAgrees: compiled and interpreted hashes are equal for
// 100,000 programs (the 4-byte seeds 0..99,999) at four inputs each, and
// their digest is the interpreter's (recorded with -tags purego). About
// 8 s; -short and -race (which makes it 5 times slower) check 10,000.
func TestCompiledAgrees(t *testing.T) {
	n := 100000
	if testing.Short() || raceEnabled {
		n = 10000
	}
	inputs := []uint64{0, 1, 0x5555aaaa5555aaaa, ^uint64(0)}
	got := agreementDigest(t, n, inputs)
	if n == 100000 {
		const want = "f4dbc74615de60691df58848cac056a6ea22e0e196ea2e7bef47da2d335df8a6"
		if got != want {
			t.Errorf("digest = %s, want %s", got, want)
		}
	}
}

// counting is the system's memory, counting live mappings.
type counting struct {
	sys  sysMemory
	live *atomic.Int32
}

func (c counting) alloc(n int) ([]byte, error) {
	b, err := c.sys.alloc(n)
	if err == nil {
		c.live.Add(1)
	}
	return b, err
}
func (c counting) writable(b []byte) error   { return c.sys.writable(b) }
func (c counting) executable(b []byte) error { return c.sys.executable(b) }
func (c counting) free(b []byte) error {
	c.live.Add(-1)
	return c.sys.free(b)
}

// refusing is memory whose executable step fails, as under SELinux's
// deny_execmem or MemoryDenyWriteExecute.
type refusing struct{ counting }

func (refusing) executable([]byte) error { return errors.New("mprotect: permission denied") }

// TestFallback: where executable memory is refused, the probe reports it
// (and releases its mapping) and a Machine interprets, with the same
// results.
func TestFallback(t *testing.T) {
	var live atomic.Int32
	mem := refusing{counting{live: &live}}
	if probe(mem) {
		t.Error("probe with refused PROT_EXEC = true")
	}
	h := mustNew(t, []byte("This is a test\x00"))
	m := Machine{mem: mem}
	m.Load(h)
	if m.Engine() != "interpreted" {
		t.Errorf("Engine() = %q with PROT_EXEC refused", m.Engine())
	}
	if got, want := m.Hash(123456), h.Hash(123456); got != want {
		t.Errorf("Hash = %x, want %x", got, want)
	}
	if n := live.Load(); n != 0 {
		t.Errorf("%d mappings left", n)
	}
	if err := m.Close(); err != nil {
		t.Error(err)
	}
}

// TestMachineReuse: a Machine reloaded with other programs, closed and
// loaded again keeps computing the loaded function.
func TestMachineReuse(t *testing.T) {
	var m Machine
	defer m.Close()
	for i, seed := range benchSeeds[:8] {
		h := mustNew(t, seed)
		m.Load(h)
		if i == 4 {
			m.Close()
			if m.Engine() != "interpreted" {
				t.Error("Engine after Close not interpreted")
			}
			if got, want := m.Hash64(7), h.Hash64(7); got != want {
				t.Errorf("after Close: Hash64 = %#x, want %#x", got, want)
			}
			m.Load(h)
		}
		if got, want := m.Hash64(uint64(i)), h.Hash64(uint64(i)); got != want {
			t.Errorf("seed %x: Hash64 = %#x, want %#x", seed, got, want)
		}
	}
}

func TestMachineNoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	m := compiledMachine(t, mustNew(t, []byte("This is a test\x00")))
	var in uint64
	if a := testing.AllocsPerRun(1000, func() { in++; _ = m.Hash64(in) }); a != 0 {
		t.Errorf("Hash64: %v allocations per call", a)
	}
	if a := testing.AllocsPerRun(1000, func() { in++; _ = m.Hash(in) }); a != 0 {
		t.Errorf("Hash: %v allocations per call", a)
	}
	h2 := mustNew(t, benchSeeds[1])
	if a := testing.AllocsPerRun(100, func() { m.Load(h2) }); a != 0 {
		t.Errorf("Load: %v allocations per reload", a)
	}
}

// TestMachineGCStress hashes on several goroutines sharing Machines while
// others force collections and stack growth, so that the generated code
// runs under signals, preemption requests and stop-the-world pauses; run
// with -race too.
func TestMachineGCStress(t *testing.T) {
	h := mustNew(t, []byte("Lorem ipsum dolor sit amet\x00"))
	m := compiledMachine(t, h)
	const inputs = 3000
	want := make([]uint64, inputs)
	for i := range want {
		want[i] = h.Hash64(uint64(i))
	}
	stop := make(chan struct{})
	var gc sync.WaitGroup
	gc.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
				runtime.GC()
			}
		}
	})
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range inputs {
				j := (i + g*101) % inputs
				if got := deep(m, uint64(j), 8+g*4); got != want[j] {
					t.Errorf("goroutine %d: Hash64(%d) = %#x, want %#x", g, j, got, want[j])
					return
				}
			}
		})
		wg.Go(func() {
			out := make([]uint64, inputs)
			for range 20 {
				m.Hash64s(0, out)
				for j := range out {
					if out[j] != want[j] {
						t.Errorf("Hash64s: [%d] = %#x, want %#x", j, out[j], want[j])
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	gc.Wait()
}

// deep calls m.Hash64 under depth frames, to move the goroutine's stack.
func deep(m *Machine, input uint64, depth int) uint64 {
	var pad [64]byte
	if depth > 0 {
		return deep(m, input, depth-1) + uint64(pad[depth%64])
	}
	return m.Hash64(input)
}

// TestHash64s: batches of many lengths up to two calls into generated
// code match Hash64, with the inputs expanded by AVX2 (where the CPU has
// it) and without.
func TestHash64s(t *testing.T) {
	h := mustNew(t, []byte("This is a test\x00"))
	m := compiledMachine(t, h)
	out := make([]uint64, 2*batchSize+3)
	for _, avx2 := range []bool{m.avx2, false} { // the vector expansion and the scalar one
		m.avx2 = avx2
		for _, n := range []int{0, 1, 2, 3, 4, 5, 7, batchSize - 1, batchSize, batchSize + 1, 2*batchSize + 3} {
			clear(out)
			m.Hash64s(1000, out[:n])
			for i, got := range out {
				want := uint64(0)
				if i < n {
					want = h.Hash64(1000 + uint64(i))
				}
				if got != want {
					t.Fatalf("avx2 %v, n %d: out[%d] = %#x, want %#x", avx2, n, i, got, want)
				}
			}
		}
	}
}

// TestCleanup: Close unmaps at once; a Machine dropped without Close has
// its mapping unmapped after a garbage collection.
func TestCleanup(t *testing.T) {
	if !Compiled() {
		t.Skip("no executable memory here")
	}
	var live atomic.Int32
	h := mustNew(t, []byte("This is a test\x00"))
	m := &Machine{mem: counting{live: &live}}
	m.Load(h)
	m.Load(h) // reuses the mapping
	if n := live.Load(); n != 1 {
		t.Fatalf("%d mappings after two Loads, want 1", n)
	}
	m.Close()
	if n := live.Load(); n != 0 {
		t.Fatalf("%d mappings after Close", n)
	}
	func() {
		dropped := &Machine{mem: counting{live: &live}}
		dropped.Load(h)
		_ = dropped.Hash64(1)
	}()
	for deadline := time.Now().Add(5 * time.Second); live.Load() != 0; {
		if time.Now().After(deadline) {
			t.Fatal("the dropped Machine's mapping was not released")
		}
		runtime.GC()
		time.Sleep(time.Millisecond)
	}
}

// TestCompiledForms: hand-made programs with every instruction form the
// compiler encodes, including ones the generator never makes (ADD_RS into
// r5, whose LEA needs a displacement; a high multiplication of a register
// by itself; branches everywhere), compute what the interpreter does.
func TestCompiledForms(t *testing.T) {
	if !Compiled() {
		t.Skip("no compiler here")
	}
	forms := func(d, s int) []instr {
		return []instr{
			{ctl: ctl(kindMul, d, s, 0)},
			{ctl: ctl(kindUMulH, d, s, 0)},
			{ctl: ctl(kindSMulH, d, d, 0)},
			{ctl: ctl(kindALU, d, 0, 1+uint32(d*7+s)%63)},                           // ROR_C
			{ctl: ctl(kindALU, d, 0, 0), c: uint64(int64(int32(-12345 * (d + 1))))}, // ADD_C
			{ctl: ctl(kindALU, d, 0, 0), c: 0x7fffffff, xor: ^uint64(0)},            // XOR_C
			{ctl: ctl(kindALU, d, 0, 0), c: ^uint64(0x7fffffff), xor: ^uint64(0)},   // XOR_C
			{ctl: ctl(kindALU, d, s, 0), k: ^uint64(0)},                             // SUB_R
			{ctl: ctl(kindALU, d, s, 0), k: 1, xor: ^uint64(0)},                     // XOR_R
			{ctl: ctl(kindALU, d, s, 0), k: 1},                                      // ADD_RS << 0
			{ctl: ctl(kindALU, d, s, 0), k: 2},                                      // ADD_RS << 1
			{ctl: ctl(kindALU, d, s, 0), k: 4},                                      // ADD_RS << 2
			{ctl: ctl(kindALU, d, s, 0), k: 8},                                      // ADD_RS << 3
		}
	}
	var m Machine
	defer m.Close()
	for _, mask := range []uint64{0, 1, 0x80000000, 0x0f0f0000, 0xffffffff} {
		h := &HashX{keys: sipState{1, 2, 3, 4}}
		h.prog.reset()
		for d := range 8 {
			for _, in := range forms(d, (d+3)%8) {
				h.prog.code[h.prog.n] = in
				h.prog.n++
			}
			// A branch back to the start of this register's forms.
			h.prog.code[h.prog.n] = instr{ctl: kindBranch, k: uint64(h.prog.n - 13), c: mask}
			h.prog.n++
		}
		m.Load(h)
		if want := map[bool]string{true: "compiled", false: "interpreted"}[mask != 0]; m.Engine() != want {
			t.Fatalf("mask %#x: %s, want %s (a zero mask is not compiled)", mask, m.Engine(), want)
		}
		var out [8]uint64
		m.Hash64s(5, out[:])
		for i, got := range out {
			if want := h.Hash64(5 + uint64(i)); got != want {
				t.Errorf("mask %#x input %d: compiled %#x, interpreted %#x", mask, 5+i, got, want)
			}
		}
		if got, want := m.Hash(99), h.Hash(99); got != want {
			t.Errorf("mask %#x: Hash(99) compiled %x, interpreted %x", mask, got, want)
		}
	}
}
