package hashx

import "math/bits"

// The program generator: a port of the reference's program.c
// (hashx_program_generate), which simulates a superscalar CPU (three integer
// ports of an Ivy Bridge) to pick instructions and registers. Every choice,
// every draw from the random stream and every quirk (the stale fields of a
// retried instruction, the order in which ports are tried) matters for bit
// compatibility, so the structure follows the C closely.

// Opcodes, numbered as the reference's instr_type. The order matters:
// is_mul is "op <= opMul".
const (
	opUMulH  uint8 = iota // unsigned high multiplication by a register
	opSMulH               // signed high multiplication by a register
	opMul                 // multiplication by a register
	opSub                 // subtraction of a register
	opXor                 // xor with a register
	opAddRS               // addition of a shifted register
	opRor                 // rotation by a constant
	opAddC                // addition of a (sign-extended 32-bit) constant
	opXorC                // xor with a (sign-extended 32-bit) constant
	opTarget              // branch target
	opBranch              // conditional branch (taken at most once)
)

const (
	targetCycle        = 192 // instructions are generated until this cycle
	requirementSize    = 512 // program length a seed must give
	requirementMuls    = 192 // multiplications a program must have
	requirementLatency = 195 // critical path, in cycles, a program must have
	programSize        = 512 // HASHX_PROGRAM_MAX_SIZE
	portMapSize        = targetCycle + 4
	maxRetries         = 1
	branchBits         = 4 // LOG2_BRANCH_PROB: bits set in a branch mask
	noDisplacementReg  = 5 // r5 cannot be ADD_RS's destination (x86 lea)
	branchMaskTag      = 0x80000000
)

// Execution ports (bit sets).
const (
	portNone = 0
	portP0   = 1
	portP1   = 2
	portP5   = 4
	portP01  = portP0 | portP1
	portP05  = portP0 | portP5
	portP015 = portP0 | portP1 | portP5
)

// template is the reference's instr_template, less the x86 details.
type template struct {
	op         uint8
	group      uint8 // instruction group, for the no-repeat rules
	latency    int8
	uop1, uop2 uint8
	immMask    uint32
	immCanBe0  bool
	distinct   bool // dst must differ from src
	opParSrc   bool // the operation parameter is the source register
	hasSrc     bool
	hasDst     bool
}

var (
	tplUMulH  = template{op: opUMulH, group: opUMulH, latency: 4, uop1: portP1, uop2: portP5, hasSrc: true, hasDst: true}
	tplSMulH  = template{op: opSMulH, group: opSMulH, latency: 4, uop1: portP1, uop2: portP5, hasSrc: true, hasDst: true}
	tplMul    = template{op: opMul, group: opMul, latency: 3, uop1: portP1, distinct: true, opParSrc: true, hasSrc: true, hasDst: true}
	tplSub    = template{op: opSub, group: opAddRS, latency: 1, uop1: portP015, distinct: true, opParSrc: true, hasSrc: true, hasDst: true}
	tplXor    = template{op: opXor, group: opXor, latency: 1, uop1: portP015, distinct: true, opParSrc: true, hasSrc: true, hasDst: true}
	tplAddRS  = template{op: opAddRS, group: opAddRS, latency: 1, uop1: portP01, immMask: 3, immCanBe0: true, distinct: true, opParSrc: true, hasSrc: true, hasDst: true}
	tplRor    = template{op: opRor, group: opRor, latency: 1, uop1: portP05, immMask: 63, distinct: true, hasDst: true}
	tplAddC   = template{op: opAddC, group: opAddC, latency: 1, uop1: portP015, immMask: 0xffffffff, distinct: true, hasDst: true}
	tplXorC   = template{op: opXorC, group: opXorC, latency: 1, uop1: portP015, immMask: 0xffffffff, distinct: true, hasDst: true}
	tplTarget = template{op: opTarget, group: opTarget, latency: 1, uop1: portP015, uop2: portP015, distinct: true}
	tplBranch = template{op: opBranch, group: opBranch, latency: 1, uop1: portP015, uop2: portP015, immMask: branchMaskTag, distinct: true}
)

// The reference's program_item lookups.
var (
	anyLookup     = [8]*template{&tplRor, &tplXorC, &tplAddC, &tplAddC, &tplSub, &tplXor, &tplXorC, &tplAddRS}
	wideMulLookup = [2]*template{&tplSMulH, &tplUMulH}
)

// Item kinds of the 36-sub-cycle layout.
const (
	itemMul uint8 = iota
	itemTarget
	itemBranch
	itemWideMul
	itemAny
)

var programLayout = [36]uint8{
	itemMul, itemTarget, itemAny, itemMul, itemAny, itemAny,
	itemMul, itemAny, itemAny, itemMul, itemAny, itemAny,
	itemWideMul, itemAny, itemAny, itemMul, itemAny, itemAny,
	itemMul, itemBranch, itemAny, itemMul, itemAny, itemAny,
	itemWideMul, itemAny, itemAny, itemMul, itemAny, itemAny,
	itemMul, itemAny, itemAny, itemMul, itemAny, itemAny,
}

// genInstr is the instruction being generated. Like the reference's, it
// survives a retried attempt, so fields an attempt does not set keep the
// previous attempt's values.
type genInstr struct {
	op    uint8
	src   int
	dst   int
	imm   uint32
	opPar uint32
}

// Port occupancy is one bit set per port over the cycles (bit c of word
// c/64). The cycles from portMapSize up are marked busy, so that a search
// for a free port finds none there, as the reference's map ends.
const portWords = 4

type portBits [portWords]uint64

// generator is the reference's generator_ctx. The register_info array is
// split by field, plus bit sets of the registers by the group of their last
// op and by its parameter, so that register selection is a few mask
// operations.
type generator struct {
	cycle    int
	subCycle int
	mulCount int
	chainMul bool
	latency  int
	rng      sipRNG
	regLat   [8]int    // cycle when each register's value will be ready
	lastOp   [8]uint8  // group of the last op written to it (groupNone: none)
	lastPar  [8]uint32 // parameter of that op (0xffffffff: a constant)
	byGroup  [16]uint8 // registers by lastOp
	byPar    [8]uint8  // registers whose lastPar is 0..7
	constPar uint8     // registers whose lastPar is 0xffffffff
	p0       portBits  // busy cycles of P0
	p1       portBits  // of P1
	p5       portBits  // of P5
}

// groupNone is lastOp before any write: no template's group.
const groupNone = 15

//go:norace
func (g *generator) selectTemplate(lastGroup int, attempt int) *template {
	switch programLayout[g.subCycle%36] {
	case itemMul:
		return &tplMul
	case itemTarget:
		return &tplTarget
	case itemBranch:
		return &tplBranch
	case itemWideMul:
		// duplicates allowed: one draw
		return wideMulLookup[g.rng.u8()&1]
	default:
		mask := uint8(7)
		if attempt > 0 {
			mask = 3 // only the templates without a source register
		}
		for {
			t := anyLookup[g.rng.u8()&mask]
			if int(t.group) != lastGroup {
				return t
			}
		}
	}
}

func (g *generator) branchMask() uint32 {
	var mask uint32
	for n := 0; n < branchBits; {
		bit := uint32(1) << (g.rng.u8() % 32)
		if mask&bit == 0 {
			mask |= bit
			n++
		}
	}
	return mask
}

//go:norace
func (g *generator) fromTemplate(t *template, in *genInstr) {
	in.op = t.op
	if t.immMask != 0 {
		if t.immMask == branchMaskTag {
			in.imm = g.branchMask()
		} else {
			for {
				in.imm = g.rng.u32() & t.immMask
				if in.imm != 0 || t.immCanBe0 {
					break
				}
			}
		}
	}
	if !t.opParSrc {
		if t.distinct {
			in.opPar = 0xffffffff
		} else {
			in.opPar = g.rng.u32()
		}
	}
	if !t.hasSrc {
		in.src = -1
	}
	if !t.hasDst {
		in.dst = -1
	}
}

// b2u is 1 for true, 0 for false (compiled to a SETcc, no branch).
func b2u(b bool) uint {
	if b {
		return 1
	}
	return 0
}

// readyRegs is the set of registers whose values are ready at cycle.
//
//go:norace
func (g *generator) readyRegs(cycle int) uint {
	var m uint
	for i := range 8 {
		m |= b2u(g.regLat[i] <= cycle) << i
	}
	return m
}

// nthBit[m<<3|k] is the index of the k-th lowest set bit of m.
var nthBit = func() (t [256 * 8]uint8) {
	for m := range 256 {
		k := 0
		for i := range 8 {
			if m&(1<<i) != 0 {
				t[m<<3|k] = uint8(i)
				k++
			}
		}
	}
	return
}()

// selectRegister picks a register from the set m as the reference picks
// from its ascending list of candidates: none if m is empty, the only one
// without a draw, else the (u32 % count)-th.
//
//go:norace
func (g *generator) selectRegister(m uint) (int, bool) {
	m &= 0xff
	n := bits.OnesCount8(uint8(m))
	if n == 0 {
		return 0, false
	}
	k := uint32(0)
	if n > 1 {
		k = fastMod(g.rng.u32(), n)
	}
	return int(nthBit[(m<<3|uint(k))&(256*8-1)]), true
}

// modMagic[n] is Lemire's M = 2^64/n rounded up, for fastMod.
var modMagic = [16]uint64{0, 0, ^uint64(0)/2 + 1, ^uint64(0)/3 + 1, ^uint64(0)/4 + 1,
	^uint64(0)/5 + 1, ^uint64(0)/6 + 1, ^uint64(0)/7 + 1, ^uint64(0)/8 + 1}

// fastMod is x % n for 2 <= n <= 8 without a division (Lemire, Kaser and
// Kurz, "Faster remainder by direct computation", exact for 32-bit x).
func fastMod(x uint32, n int) uint32 {
	hi, _ := bits.Mul64(modMagic[n&15]*uint64(x), uint64(n))
	return uint32(hi)
}

// sameOpRegs is the set of registers whose last op is group with parameter
// par.
//
//go:norace
func (g *generator) sameOpRegs(group uint8, par uint32) uint {
	m := uint(g.byGroup[group&15])
	switch {
	case par < 8:
		m &= uint(g.byPar[par])
	case par == 0xffffffff:
		m &= uint(g.constPar)
	default:
		var eq uint
		for i := range 8 {
			eq |= b2u(g.lastPar[i] == par) << i
		}
		m &= eq
	}
	return m
}

//go:norace
func (g *generator) selectDestination(t *template, in *genInstr, ready uint) bool {
	m := ready
	if t.distinct && in.src >= 0 {
		m &^= 1 << uint(in.src&7)
	}
	if !g.chainMul && t.group == opMul {
		m &^= uint(g.byGroup[opMul])
	}
	// Not the same operation with the same parameter twice in a row.
	m &^= g.sameOpRegs(t.group, in.opPar)
	if in.op == opAddRS {
		m &^= 1 << noDisplacementReg
	}
	dst, ok := g.selectRegister(m)
	if ok {
		in.dst = dst
	}
	return ok
}

//go:norace
func (g *generator) selectSource(t *template, in *genInstr, ready uint) bool {
	m := ready
	// With only two registers ready for ADD_RS and one of them r5, r5 must
	// be the source, since it cannot be the destination.
	if in.op == opAddRS && bits.OnesCount8(uint8(m)) == 2 && m&(1<<noDisplacementReg) != 0 {
		in.src = noDisplacementReg
		in.opPar = noDisplacementReg
		return true
	}
	src, ok := g.selectRegister(m)
	if !ok {
		return false
	}
	in.src = src
	if t.opParSrc {
		in.opPar = uint32(src)
	}
	return true
}

// allOnes is all ones if b, else 0.
func allOnes(b bool) uint64 {
	return -uint64(b2u(b))
}

// freeFrom is the first cycle from cycle on at which a uop for ports can
// issue and, if both, one for ports2 too (each judged alone, before either
// is committed), or -1. ports2 0 means no second uop.
//
//go:norace
func (g *generator) freeFrom(ports, ports2 uint8, cycle int) int {
	m0, m1, m5 := allOnes(ports&portP0 != 0), allOnes(ports&portP1 != 0), allOnes(ports&portP5 != 0)
	n0, n1, n5 := allOnes(ports2&portP0 != 0), allOnes(ports2&portP1 != 0), allOnes(ports2&portP5 != 0)
	two := allOnes(ports2 == portNone)
	w := cycle >> 6
	first := ^uint64(0) << (cycle & 63)
	for ; w < portWords; w++ {
		f0, f1, f5 := ^g.p0[w], ^g.p1[w], ^g.p5[w]
		free := (f0 & m0) | (f1 & m1) | (f5 & m5)
		free &= (f0 & n0) | (f1 & n1) | (f5 & n5) | two
		free &= first
		if free != 0 {
			return w<<6 + bits.TrailingZeros64(free)
		}
		first = ^uint64(0)
	}
	return -1
}

// commitUop marks the port a uop for ports takes at the first cycle from
// cycle on where one is free, trying P5, then P0, then P1, as the
// reference's schedule_uop.
//
//go:norace
func (g *generator) commitUop(ports uint8, cycle int) {
	c := g.freeFrom(ports, portNone, cycle)
	if c < 0 {
		return
	}
	w, bit := c>>6&(portWords-1), uint64(1)<<(c&63)
	switch {
	case ports&portP5 != 0 && g.p5[w]&bit == 0:
		g.p5[w] |= bit
	case ports&portP0 != 0 && g.p0[w]&bit == 0:
		g.p0[w] |= bit
	default:
		g.p1[w] |= bit
	}
}

// scheduleInstr is the cycle at which t's uops can issue (both in the same
// cycle when there are two), or -1.
//
//go:norace
func (g *generator) scheduleInstr(t *template) int {
	return g.freeFrom(t.uop1, t.uop2, g.cycle)
}

// commitInstr takes the ports for t at cycle, where scheduleInstr found
// them free.
//
//go:norace
func (g *generator) commitInstr(t *template, cycle int) {
	g.commitUop(t.uop1, cycle)
	if t.uop2 != portNone {
		g.commitUop(t.uop2, cycle)
	}
}

// setDst records that the register d is written by an op of group with
// parameter par, ready at cycle retire.
//
//go:norace
func (g *generator) setDst(d int, group uint8, par uint32, retire int) {
	d &= 7
	bit := uint8(1) << d
	g.byGroup[g.lastOp[d]&15] &^= bit
	g.byGroup[group&15] |= bit
	if old := g.lastPar[d]; old < 8 {
		g.byPar[old] &^= bit
	} else if old == 0xffffffff {
		g.constPar &^= bit
	}
	if par < 8 {
		g.byPar[par] |= bit
	} else if par == 0xffffffff {
		g.constPar |= bit
	}
	g.regLat[d] = retire
	g.lastOp[d] = group
	g.lastPar[d] = par
}

// generate fills p from the key's random stream and reports whether the
// program meets the reference's requirements (code size 512, 192
// multiplications, latency 195 cycles).
//
//go:norace
func generate(key *sipState, p *program) bool {
	var g generator
	g.rng.init(key)
	p.reset()
	for i := range 8 {
		g.lastOp[i] = groupNone
		g.lastPar[i] = 0xffffffff
	}
	g.byGroup[groupNone] = 0xff
	g.constPar = 0xff
	// The cycles past the map are never free.
	for c := portMapSize; c < portWords*64; c++ {
		g.p0[c>>6] |= 1 << (c & 63)
	}
	g.p1, g.p5 = g.p0, g.p0
	attempt := 0
	lastGroup := -1
	var in genInstr
	n := 0
	for n < programSize {
		t := g.selectTemplate(lastGroup, attempt)
		lastGroup = int(t.group)
		g.fromTemplate(t, &in)

		sc := g.scheduleInstr(t)
		if sc < 0 {
			break
		}
		g.chainMul = attempt > 0

		ready := g.readyRegs(sc)
		if t.hasSrc && !g.selectSource(t, &in, ready) {
			if attempt < maxRetries {
				attempt++
				continue
			}
			g.subCycle += 3
			g.cycle = g.subCycle / 3
			attempt = 0
			continue
		}
		if t.hasDst && !g.selectDestination(t, &in, ready) {
			if attempt < maxRetries {
				attempt++
				continue
			}
			g.subCycle += 3
			g.cycle = g.subCycle / 3
			attempt = 0
			continue
		}
		attempt = 0

		if sc >= targetCycle {
			break
		}
		g.commitInstr(t, sc)
		if t.hasDst {
			retire := sc + int(t.latency)
			g.setDst(in.dst, t.group, in.opPar, retire)
			g.latency = max(g.latency, retire)
		}

		p.add(&in)
		n++
		if in.op <= opMul {
			g.mulCount++
		}
		g.subCycle++
		if t.uop2 != portNone {
			g.subCycle++
		}
		g.cycle = g.subCycle / 3
	}
	return n == requirementSize && g.mulCount == requirementMuls && g.latency == requirementLatency-1
}
