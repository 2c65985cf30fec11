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

// generator is the reference's generator_ctx. The register_info array is
// split by field, plus a bit set of the registers whose last op was a
// multiplication, so that register selection is a few mask operations.
type generator struct {
	cycle     int
	subCycle  int
	mulCount  int
	chainMul  bool
	latency   int
	rng       sipRNG
	regLat    [8]int               // cycle when each register's value will be ready
	lastOp    [8]int               // group of the last op written to it (-1: none)
	lastOpPar [8]uint32            // parameter of that op (0xffffffff: a constant)
	mulRegs   uint                 // registers whose lastOp is opMul
	ports     [portMapSize][3]bool // [cycle][P0, P1, P5] in use
}

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

// selectRegister picks a register from the set m as the reference picks
// from its ascending list of candidates: none if m is empty, the only one
// without a draw, else the (u32 % count)-th.
//
//go:norace
func (g *generator) selectRegister(m uint) (int, bool) {
	n := bits.OnesCount8(uint8(m))
	switch n {
	case 0:
		return 0, false
	case 1:
	default:
		for k := fastMod(g.rng.u32(), n); k > 0; k-- {
			m &= m - 1
		}
	}
	return bits.TrailingZeros8(uint8(m)), true
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

//go:norace
func (g *generator) selectDestination(t *template, in *genInstr, cycle int) bool {
	m := g.readyRegs(cycle)
	if t.distinct && in.src >= 0 {
		m &^= 1 << uint(in.src)
	}
	if !g.chainMul && t.group == opMul {
		m &^= g.mulRegs
	}
	// Not the same operation with the same parameter twice in a row.
	group := int(t.group)
	for i := range 8 {
		m &^= (b2u(g.lastOp[i] == group) & b2u(g.lastOpPar[i] == in.opPar)) << i
	}
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
func (g *generator) selectSource(t *template, in *genInstr, cycle int) bool {
	m := g.readyRegs(cycle)
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

// scheduleUop finds the first cycle from cycle on with a free port for uop,
// trying P5, then P0, then P1, or -1.
//
//go:norace
func (g *generator) scheduleUop(uop uint8, cycle int, commit bool) int {
	for ; cycle < portMapSize; cycle++ {
		p := &g.ports[cycle]
		if uop&portP5 != 0 && !p[2] {
			if commit {
				p[2] = true
			}
			return cycle
		}
		if uop&portP0 != 0 && !p[0] {
			if commit {
				p[0] = true
			}
			return cycle
		}
		if uop&portP1 != 0 && !p[1] {
			if commit {
				p[1] = true
			}
			return cycle
		}
	}
	return -1
}

//go:norace
func (g *generator) scheduleInstr(t *template, commit bool) int {
	if t.uop2 == portNone {
		return g.scheduleUop(t.uop1, g.cycle, commit)
	}
	// Both uops must be able to issue in the same cycle.
	for cycle := g.cycle; cycle < portMapSize; cycle++ {
		c1 := g.scheduleUop(t.uop1, cycle, false)
		c2 := g.scheduleUop(t.uop2, cycle, false)
		if c1 >= 0 && c1 == c2 {
			if commit {
				g.scheduleUop(t.uop1, cycle, true)
				g.scheduleUop(t.uop2, cycle, true)
			}
			return c1
		}
	}
	return -1
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
		g.lastOp[i] = -1
		g.lastOpPar[i] = 0xffffffff
	}
	attempt := 0
	lastGroup := -1
	var in genInstr
	n := 0
	for n < programSize {
		t := g.selectTemplate(lastGroup, attempt)
		lastGroup = int(t.group)
		g.fromTemplate(t, &in)

		sc := g.scheduleInstr(t, false)
		if sc < 0 {
			break
		}
		g.chainMul = attempt > 0

		if t.hasSrc && !g.selectSource(t, &in, sc) {
			if attempt < maxRetries {
				attempt++
				continue
			}
			g.subCycle += 3
			g.cycle = g.subCycle / 3
			attempt = 0
			continue
		}
		if t.hasDst && !g.selectDestination(t, &in, sc) {
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

		sc = g.scheduleInstr(t, true)
		if sc < 0 || sc >= targetCycle {
			break
		}
		if t.hasDst {
			d := in.dst & 7
			retire := sc + int(t.latency)
			g.regLat[d] = retire
			g.lastOp[d] = int(t.group)
			g.lastOpPar[d] = in.opPar
			g.mulRegs &^= 1 << uint(d)
			g.mulRegs |= b2u(t.group == opMul) << uint(d)
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
